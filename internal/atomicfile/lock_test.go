package atomicfile

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	l, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != strconv.Itoa(os.Getpid())+"\n" {
		t.Errorf("lock file holds %q, want this process's id", b)
	}
	if pid := Holder(path); pid != os.Getpid() {
		t.Errorf("Holder = %d, want %d", pid, os.Getpid())
	}
	var held *HeldError
	if _, err := TryLock(path); !errors.As(err, &held) || held.PID != os.Getpid() {
		t.Errorf("second TryLock: error %v, want a HeldError naming this process", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("Release left the file (%v)", err)
	}
	if pid := Holder(path); pid != 0 {
		t.Errorf("Holder of no file = %d", pid)
	}

	// Stale locks: a dead process, or no process id at all.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	for _, content := range []string{strconv.Itoa(cmd.Process.Pid) + "\n", "", "garbage"} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if pid := Holder(path); pid != 0 {
			t.Errorf("%q: Holder = %d, want 0", content, pid)
		}
		l, err := TryLock(path)
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		l.Release()
	}
}

func TestProcessAlive(t *testing.T) {
	if !ProcessAlive(os.Getpid()) || !ProcessAlive(1) {
		t.Error("this process or init is not alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	if ProcessAlive(cmd.Process.Pid) {
		t.Errorf("process %d, ended, is alive", cmd.Process.Pid)
	}
}
