// Package atomicfile writes files that are never seen half-written: data
// goes to a temporary file next to the target that is renamed over it, and
// errors name the target, never the temporary file.
package atomicfile
