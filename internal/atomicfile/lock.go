package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// A Lock is a lock file held by this process: a file created only if
// absent (O_EXCL), holding the process id of its holder.
type Lock struct {
	path string
}

// HeldError reports a lock file held by a live process.
type HeldError struct {
	Path string // the lock file
	PID  int    // the process holding it
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is held by process %d", e.Path, e.PID)
}

// TryLock takes the lock file at path, writing this process's id into it.
// If the file exists and names a live process, TryLock returns a
// *HeldError. A lock whose process is dead (killed before it could
// remove the file) or whose file holds no process id is stale: TryLock
// removes it and takes the lock. Release removes the file.
func TryLock(path string) (*Lock, error) {
	for range 3 {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(path)
				return nil, werr
			}
			return &Lock{path: path}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		content, pid, err := readLock(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // released meanwhile
		case err != nil:
			return nil, err
		case pid > 0 && ProcessAlive(pid):
			return nil, &HeldError{Path: path, PID: pid}
		}
		// Stale. Remove it only if it is still the stale one: another
		// process may have taken it over meanwhile.
		if now, _, err := readLock(path); err == nil && now == content {
			os.Remove(path)
		}
	}
	return nil, fmt.Errorf("%s: could not take the lock: it changes hands too fast", path)
}

// Holder returns the id of the live process holding the lock file at
// path, or 0 if there is none (no file, or a stale one).
func Holder(path string) int {
	_, pid, err := readLock(path)
	if err != nil || pid <= 0 || !ProcessAlive(pid) {
		return 0
	}
	return pid
}

// readLock returns the content of the lock file at path and the process
// id it holds, or 0 if it holds none.
func readLock(path string) (string, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		pid = 0
	}
	return string(b), pid, nil
}

// Release removes the lock file. It does nothing after the first call, so
// it can be deferred.
func (l *Lock) Release() error {
	if l == nil || l.path == "" {
		return nil
	}
	path := l.path
	l.path = ""
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// ProcessAlive reports whether a process of id pid exists. A process that
// exists but belongs to another user counts as alive; so does any
// answer other than "no such process", to be safe.
func ProcessAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH)
}
