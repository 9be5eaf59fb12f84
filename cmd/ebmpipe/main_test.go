package main

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testutil"
)

// update reports whether go test -update asks to rewrite the golden
// files. Beam's Dataflow runner, linked into ebmpipe, defines a flag
// "update" of its own in the same flag set; -update then sets that one.
func update() bool {
	return flag.Lookup("update").Value.String() == "true"
}

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files")
	}
}

const fixtures = "../../testdata/torch"

// runCLI runs the command line in-process and returns its exit status,
// stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errw bytes.Buffer
	code := run(args, &out, &errw)
	return code, out.String(), errw.String()
}

// TestScoreFixtures checks that `ebmpipe score --engine go --raw` reproduces
// PyTorch's outputs on every fixture exported from PyTorch.
func TestScoreFixtures(t *testing.T) { checkScoreFixtures(t, "go") }

// checkScoreFixtures scores every PyTorch fixture with engine and compares
// with PyTorch's outputs.
func checkScoreFixtures(t *testing.T, engine string) {
	for _, f := range testutil.Fixtures(t, fixtures) {
		t.Run(f.Name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.npy")
			// Batch size 7 holds the whole fixture batch, which matters for
			// a generator normalising with batch statistics.
			code, _, stderr := runCLI("score", "--model", filepath.Join(fixtures, f.Model),
				"--input", filepath.Join(fixtures, f.Input), "--output", out, "--engine", engine, "--raw", "--batch-size", "7")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, _ := testutil.ReadRowsWidth(t, out)
			want, _ := testutil.ReadRowsWidth(t, filepath.Join(fixtures, f.Output))
			if len(got) != len(want) {
				t.Fatalf("got %d values, want %d", len(got), len(want))
			}
			for i := range got {
				if d := math.Abs(got[i] - want[i]); d > 1e-4*(1+math.Abs(want[i])) {
					t.Fatalf("value %d: got %.7g, PyTorch %.7g", i, got[i], want[i])
				}
			}
		})
	}
}

// checkOneLine checks a failed in-process run of command cmd: exit code
// want, nothing on stdout, one line on stderr "ebmpipe CMD: ...msg...".
func checkOneLine(t *testing.T, cmd string, code, wantCode int, stdout, stderr, msg string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, wantCode, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("want one line on stderr, got:\n%s", stderr)
	}
	if prefix := "ebmpipe " + cmd + ": "; !strings.HasPrefix(stderr, prefix) || !strings.Contains(stderr, msg) {
		t.Errorf("stderr %q, want \"%s...%s...\"", stderr, prefix, msg)
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if update() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
