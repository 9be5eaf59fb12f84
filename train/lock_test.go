package train

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// deadPID returns the id of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.Process.Pid
}

// TestOutLock checks the lock file of Out: a live holder stops a second
// run at once, in NewTrainer and in Run; a dead holder's lock is taken
// over; a run removes its lock when it ends.
func TestOutLock(t *testing.T) {
	o := tinyOptions(t)
	o.Steps = 2
	lock := filepath.Join(o.Out, LockFile)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		t.Fatal(err)
	}

	// Held by a live process (1, init, always runs).
	if err := os.WriteFile(lock, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := NewTrainer(context.Background(), o, fakeHooks())
	want := "Out " + o.Out + " is in use by another training run (process 1, lock file " + lock + ")"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("NewTrainer: error %v, want %q", err, want)
	}

	// Taken between NewTrainer and Run.
	os.Remove(lock)
	tr, err := NewTrainer(context.Background(), o, fakeHooks())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run: error %v, want %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(o.Out, MetricsFile)); err == nil {
		t.Error("a run that found the folder locked wrote metrics")
	}

	// Left by a killed run: taken over, and removed at the end.
	if err := os.WriteFile(lock, []byte(strconv.Itoa(deadPID(t))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, o, fakeHooks())
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("the lock file is left after the run (%v)", err)
	}
}

// TestOutHoldsModels checks that a folder holding a run's models or
// metrics but no checkpoint is refused, not overwritten.
func TestOutHoldsModels(t *testing.T) {
	for _, files := range [][]string{{EnergyFile}, {MetricsFile}, {EnergyFile, GeneratorFile, MetricsFile}} {
		o := tinyOptions(t)
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(o.Out, f), []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := NewTrainer(context.Background(), o, fakeHooks())
		want := "Out " + o.Out + " holds " + strings.Join(files, ", ") + " of another run but no checkpoint to resume"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want %q", files, err, want)
		}
	}
}
