package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebmpipe/ebmpipe/internal/testutil"

	"github.com/ebmpipe/ebmpipe/internal/ortlib"
)

// TestHelperProcess is not a test: it runs ebmpipe with the arguments
// after "--" when started by runChild.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("EBMPIPE_HELPER_PROCESS") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// child returns a command running ebmpipe with args in a process of its
// own, as a user would: ONNX Runtime is loaded once per process, and
// signals go to the whole process.
func child(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)
	cmd.Env = append(append(os.Environ(), "EBMPIPE_HELPER_PROCESS=1"), env...)
	return cmd
}

// TestScoreFixturesORT checks that `ebmpipe score --engine ort --raw`
// reproduces PyTorch's outputs on every fixture exported from PyTorch.
func TestScoreFixturesORT(t *testing.T) {
	testutil.NeedORT(t)
	checkScoreFixtures(t, "ort")
}

// TestScoreORTLibrary runs ebmpipe score without an ONNX Runtime library:
// --engine ort fails with one line telling how to install it, and
// --engine auto falls back to the go engine, saying so.
func TestScoreORTLibrary(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("x0,x1\n0.5,1\n-1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")
	model := filepath.Join(fixtures, "energy_silu.onnx")
	missing := filepath.Join(dir, "nowhere", "libonnxruntime.so.1")
	cases := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr string
	}{
		{"ort-flag", nil, []string{"--engine", "ort", "--ort-lib", missing}, 1,
			"ebmpipe score: --engine ort: ONNX Runtime unavailable: library $TMP/nowhere/libonnxruntime.so.1 (from --ort-lib) not found; " +
				"install it with `make setup` or scripts/install-ort.sh, or name it with --ort-lib or $EBMPIPE_ORT_LIB\n"},
		{"ort-env", []string{"EBMPIPE_ORT_LIB=" + missing}, []string{"--engine", "ort"}, 1,
			"ebmpipe score: --engine ort: ONNX Runtime unavailable: library $TMP/nowhere/libonnxruntime.so.1 (from $EBMPIPE_ORT_LIB) not found; " +
				"install it with `make setup` or scripts/install-ort.sh, or name it with --ort-lib or $EBMPIPE_ORT_LIB\n"},
		{"ort-default", []string{"XDG_CACHE_HOME=" + dir, "EBMPIPE_ORT_LIB="}, []string{"--engine", "ort"}, 1,
			"ebmpipe score: --engine ort: ONNX Runtime unavailable: library $TMP/ebmpipe/onnxruntime-" + ortlib.Version + "/libonnxruntime.so.1 (from the default location) not found; " +
				"install it with `make setup` or scripts/install-ort.sh, or name it with --ort-lib or $EBMPIPE_ORT_LIB\n"},
		{"auto-fallback", []string{"EBMPIPE_ORT_LIB=" + missing}, nil, 0,
			"ebmpipe score: --engine auto: ONNX Runtime unavailable: library $TMP/nowhere/libonnxruntime.so.1 (from $EBMPIPE_ORT_LIB) not found; " +
				"install it with `make setup` or scripts/install-ort.sh, or name it with --ort-lib or $EBMPIPE_ORT_LIB; using the go engine instead\n" +
				"scored 2 rows into $TMP/out.csv\n"},
		{"auto-cuda", []string{"EBMPIPE_ORT_LIB=" + missing}, []string{"--device", "cuda"}, 1,
			"ebmpipe score: --engine auto: ONNX Runtime unavailable: library $TMP/nowhere/libonnxruntime.so.1 (from $EBMPIPE_ORT_LIB) not found; " +
				"install it with `make setup` or scripts/install-ort.sh, or name it with --ort-lib or $EBMPIPE_ORT_LIB\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(out)
			cmd := child(t, c.env, append([]string{"score", "--model", model, "--input", in, "--output", out}, c.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(stderr.String(), dir, "$TMP")
			if code != c.code || got != c.stderr {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, stderr:\n%s", code, got, c.code, c.stderr)
			}
			_, err = os.Stat(out)
			if wrote := err == nil; wrote != (c.code == 0) {
				t.Errorf("output written: %v, want %v", wrote, c.code == 0)
			}
		})
	}
}

// TestScoreSignal starts ebmpipe score on a large input, stops it with
// SIGINT or SIGTERM once it is writing, and checks that it leaves neither
// the output nor its temporary file.
func TestScoreSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 32 MB input")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.npy")
	writeNPY(t, in, 2_000_000, 2)
	model := filepath.Join(fixtures, "energy_silu.onnx")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := filepath.Join(dir, "out.csv")
			// The go engine takes seconds on 2,000,000 rows, time enough to
			// be stopped midway.
			cmd := child(t, nil, "score", "--model", model, "--input", in, "--output", out, "--engine", "go", "--batch-size", "256")
			stderr := interruptMidRun(t, cmd, filepath.Join(dir, ".out.csv.*.tmp"), sig)
			msg := strings.ReplaceAll(stderr.String(), dir, "$TMP")
			if !strings.HasPrefix(msg, "ebmpipe score: $TMP/in.npy: stopped after ") ||
				!strings.HasSuffix(msg, " rows, nothing written: "+sig.String()+" signal received\n") {
				t.Errorf("stderr:\n%s", msg)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Name() != "in.npy" {
					t.Errorf("left %s behind", e.Name())
				}
			}
		})
	}
}

// interruptMidRun starts cmd, waits until a file matching tmpGlob (its
// temporary output) appears, sends it sig, and checks that it exits with
// status 1. It returns the command's stderr.
func interruptMidRun(t *testing.T, cmd *exec.Cmd, tmpGlob string, sig os.Signal) *bytes.Buffer {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { m, _ := filepath.Glob(tmpGlob); return len(m) > 0 }) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no temporary output appeared; stderr:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}
	return &stderr
}

// waitFor polls cond for up to a minute.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// writeNPY writes a float32 array of rows rows of width values, of a
// fixed pattern, to path.
func writeNPY(t *testing.T, path string, rows, width int) {
	t.Helper()
	x := make([]float32, rows*width)
	for i := range x {
		x[i] = float32(i%1000)/250 - 2
	}
	testutil.WriteNPY32(t, path, x, width)
}
