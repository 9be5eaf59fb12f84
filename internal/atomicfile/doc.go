// Package atomicfile writes files that are never seen half-written.
//
// Data go to a temporary file next to the target, renamed over it once
// complete; errors name the target, never the temporary file. Lock files,
// held by one process at a time, keep two processes from writing one
// output.
package atomicfile
