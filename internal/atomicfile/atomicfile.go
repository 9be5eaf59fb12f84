package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrIsDir reports a target path that is a directory.
var ErrIsDir = errors.New("is a directory")

// A File is a temporary file that Commit moves over its target path. It is
// named .NAME.PID-RANDOM.tmp, NAME being the target's base name and PID
// the writing process's id, in the target's directory. If the target is a
// symbolic link, the file it points to is the target: Commit replaces that
// file, and the link stays.
type File struct {
	*os.File
	path   string // the target as given
	target string // the file written: path with its symbolic links followed
	done   bool
}

// Create creates the temporary file of a File whose target is path. It
// first removes the temporary files of path left by processes that have
// ended (killed before they could commit or remove them; see
// RemoveStale). The error, if any, is the bare cause ("no such file or
// directory", ErrIsDir, ...), for the caller to prefix with path.
func Create(path string) (*File, error) {
	if err := CheckTarget(path); err != nil {
		return nil, err
	}
	target, err := resolve(path)
	if err != nil {
		return nil, Cause(err)
	}
	RemoveStale(target)
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, tempPrefix(base, os.Getpid())+"*.tmp")
	if err != nil {
		return nil, Cause(err)
	}
	return &File{File: f, path: path, target: target}, nil
}

// tempPrefix is the start of the name of a temporary file of the target
// named base written by process pid.
func tempPrefix(base string, pid int) string {
	return "." + base + "." + strconv.Itoa(pid) + "-"
}

// maxLinks bounds the symbolic links resolve follows, as the kernel does.
const maxLinks = 40

// resolve returns path with its symbolic links followed to the file they
// lead to, which need not exist (a dangling link gives its target).
func resolve(path string) (string, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil // a new file, or not a link
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(path), link)
		}
		path = link
	}
	return "", &fs.PathError{Op: "open", Path: path, Err: syscall.ELOOP}
}

// RemoveStale removes the temporary files of the target path (named as
// Create names them) whose writing process has ended: a process killed
// (kill -9, a crash) while writing leaves its temporary file behind.
// Files of live processes, of other targets, and files whose names carry
// no process id are left alone. It is best effort and reports nothing.
func RemoveStale(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	matches, _ := filepath.Glob(filepath.Join(dir, escapeGlob("."+base+".")+"*-*.tmp"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), "."+base+".")
		pid, err := strconv.Atoi(rest[:strings.IndexByte(rest, '-')])
		if err != nil || pid <= 0 || ProcessAlive(pid) {
			continue
		}
		if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() {
			os.Remove(m)
		}
	}
}

// escapeGlob escapes the pattern characters of s for filepath.Glob.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
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
	if d, err := os.Open(filepath.Dir(f.target)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (f *File) commit() error {
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(f.target); err == nil {
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
	return os.Rename(f.Name(), f.target)
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
