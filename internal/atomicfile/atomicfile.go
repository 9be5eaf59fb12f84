package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrIsDir reports a target path that is a directory.
var ErrIsDir = errors.New("is a directory")

// A File is a temporary file that Commit moves over its target path. It is
// named .NAME.RANDOM.tmp, NAME being the target's base name, in the
// target's directory.
type File struct {
	*os.File
	path string
	done bool
}

// Create creates the temporary file of a File whose target is path. The
// error, if any, is the bare cause ("no such file or directory", ErrIsDir,
// ...), for the caller to prefix with path.
func Create(path string) (*File, error) {
	if err := CheckTarget(path); err != nil {
		return nil, err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, Cause(err)
	}
	return &File{File: f, path: path}, nil
}

// Path returns the target path of f.
func (f *File) Path() string { return f.path }

// Commit syncs f to disk, closes it and renames it over its target. A new
// file gets permissions 0644 (os.CreateTemp makes it private, 0600); a file
// that replaces another keeps that one's permissions. If Commit fails, the
// temporary file is removed and the target is left as it was. The error
// is the bare cause, as for Create.
func (f *File) Commit() error {
	if f.done {
		return errors.New("already committed or aborted")
	}
	if err := f.commit(); err != nil {
		f.Abort()
		return Cause(err)
	}
	f.done = true
	// Make the rename durable. This is best effort: some file systems
	// cannot sync a directory, and the file is in place already.
	if d, err := os.Open(filepath.Dir(f.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (f *File) commit() error {
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(f.path); err == nil {
		perm = fi.Mode().Perm()
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.File.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), f.path)
}

// Abort closes f and removes its temporary file. It does nothing after
// Commit or Abort, so it can be deferred.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	f.File.Close()
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Cause(err)
	}
	return nil
}

// WriteFile writes data to path atomically, with permissions 0644 for a
// new file. The error, if any, is the bare cause ("no such file or
// directory", ErrIsDir, ...), for the caller to prefix with path.
func WriteFile(path string, data []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return Cause(err)
	}
	return f.Commit()
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
