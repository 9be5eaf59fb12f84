// Package atomicfile writes files that are never seen half-written: data
// goes to a temporary file next to the target that is renamed over it, and
// errors name the target, never the temporary file. Lock files, held by
// one process at a time, keep two processes from writing one output.
package atomicfile
