// Package atomicfile writes files that are never seen half-written: data
// goes to a temporary file that is renamed over the target (with
// github.com/google/renameio), and errors name the target, never the
// temporary file.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"

	"github.com/google/renameio/v2"
)

// ErrIsDir reports a target path that is a directory.
var ErrIsDir = errors.New("is a directory")

// WriteFile writes data to path atomically, with permissions 0644 for a
// new file. The error, if any, is the bare cause ("no such file or
// directory", ErrIsDir, ...), for the caller to prefix with path.
func WriteFile(path string, data []byte) error {
	if err := CheckTarget(path); err != nil {
		return err
	}
	return Cause(renameio.WriteFile(path, data, 0o644))
}

// CheckTarget returns ErrIsDir if path is a directory.
func CheckTarget(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return ErrIsDir
	}
	return nil
}

// Cause strips the path of a temporary file from err: it returns the
// error inside an *fs.PathError or *os.LinkError, or err as it is.
func Cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
