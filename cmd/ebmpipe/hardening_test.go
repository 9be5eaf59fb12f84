package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests in this file run the ebmpipe binary on command lines that
// must succeed, or fail in a way the error cases of cli_test.go cannot
// express (the output folder changes, or a notice comes before the error):
// help and version, notices about the input, and files left by an earlier
// run. Each case's exit status and stderr are pinned in
// testdata/hardening.golden (go test -update rewrites it), and its check
// function tests what it wrote.

// An okCase is a command line with its fixtures, as for cliCase, and a
// check of what the run did.
type okCase struct {
	name string
	args []string
	// files are created in $OUT before the run (see caseDir).
	files map[string]string
	stdin string // the run's standard input
	code  int
	// check, if not nil, tests the run r, made in the directory out.
	check func(t *testing.T, out string, r cliRun)
}

var okCases = []okCase{
	{name: "help-help", args: []string{"help", "help"}, check: wantUsage},
	{name: "help-h", args: []string{"help", "-h"}, check: wantUsage},
	{name: "help-help-help", args: []string{"help", "help", "help"}, check: wantUsage},
	{name: "help-command", args: []string{"help", "score"}, check: wantStdout("Usage: ebmpipe score [flags]")},
	{name: "command-help", args: []string{"sample", "--help"}, check: wantStdout("Usage: ebmpipe sample [flags]")},
	{name: "command-h", args: []string{"train", "-h"}, check: wantStdout("Usage: ebmpipe train [flags]")},
	{name: "version-flag", args: []string{"--version"}, check: wantVersion},
	{name: "version-command", args: []string{"version"}, check: wantVersion},

	{name: "score/stale-rejects", args: score("--skip-bad-rows"),
		files: map[string]string{"scores.csv.rejects": "3\tabc,2\tan earlier run's bad row\n"}, check: wantGone("scores.csv.rejects")},
	{name: "score/numbers-as-header", args: score("--input", "$OUT/rows.csv"), files: map[string]string{"rows.csv": "0x10,0\n1,2\n"}},
	{name: "score/wide-line", args: score("--input", "$OUT/wide.csv"), files: map[string]string{"wide.csv": strings.Repeat("1,", 15_000_000) + "1\n"},
		code: 1, check: wantMaxRSS(100<<20, score("--output", "$OUT/small.csv"))},
	{name: "score/stdin-to-stdout", args: score("--input", "-", "--output", "-"), stdin: "x0,x1\n0.5,1\n-1,2\n",
		check: wantStdoutLines("energy", 3)},
	{name: "score/stdin-jsonl-to-stdout", args: score("--input", "-", "--output", "-", "--format", "jsonl"), stdin: "[0.5, 1]\n",
		check: wantStdoutLines(`{"energy": `, 1)},
	{name: "score/stdin-npy", args: score("--input", "-", "--format", "npy"), stdin: npyText(1, 2)},
	{name: "score/output-symlink", args: score("--output", "$OUT/link.csv"),
		files: map[string]string{"real/scores.csv": "old\n", "link.csv": "-> real/scores.csv"}, check: wantLinkTo("link.csv", "real/scores.csv")},
	{name: "sample/output-symlink", args: sampleArgs("--output", "$OUT/link.csv"),
		files: map[string]string{"real/samples.csv": "old\n", "link.csv": "-> real/samples.csv"}, check: wantLinkTo("link.csv", "real/samples.csv")},
	{name: "logz/in-place-symlink", args: []string{"logz", "--engine", "go", "--model", "$OUT/energy.onnx", "--data", "$DIR/good.csv", "--grid-size", "16"},
		files: map[string]string{"real/energy.onnx": "< $DIR/energy.onnx", "energy.onnx": "-> real/energy.onnx"}, check: wantLinkTo("energy.onnx", "real/energy.onnx")},
	{name: "score/stale-temp-files", args: score(), files: map[string]string{
		".scores.csv.2147483647-1.tmp": "left by a killed score", // no such process
		".scores.csv.1-1.tmp":          "being written by init",  // a live process
	}, check: func(t *testing.T, out string, r cliRun) {
		wantGone(".scores.csv.2147483647-1.tmp")(t, out, r)
		if !fileExists(filepath.Join(out, ".scores.csv.1-1.tmp")) {
			t.Error("removed the temporary file of a live process")
		}
	}},
}

// wantStdoutLines returns a check that stdout is n lines, the first
// starting with prefix.
func wantStdoutLines(prefix string, n int) func(*testing.T, string, cliRun) {
	return func(t *testing.T, _ string, r cliRun) {
		t.Helper()
		if !strings.HasPrefix(r.stdout, prefix) || strings.Count(r.stdout, "\n") != n {
			t.Errorf("stdout %q, want %d lines starting %q", r.stdout, n, prefix)
		}
	}
}

// npyText returns an NPY file of rows rows of width zeros.
func npyText(rows, width int) string {
	h := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }", rows, width)
	h += strings.Repeat(" ", 117-len(h)) + "\n"
	return "\x93NUMPY\x01\x00\x76\x00" + h + strings.Repeat("\x00", 8*rows*width)
}

// wantLinkTo returns a check that link is still a symbolic link to
// target, and that the run wrote target.
func wantLinkTo(link, target string) func(*testing.T, string, cliRun) {
	return func(t *testing.T, out string, _ cliRun) {
		t.Helper()
		if to, err := os.Readlink(filepath.Join(out, link)); err != nil || to != target {
			t.Errorf("%s: link to %q (%v), want %q", link, to, err, target)
		}
		if b, err := os.ReadFile(filepath.Join(out, target)); err != nil || string(b) == "old\n" {
			t.Errorf("%s was not written (%v)", target, err)
		}
		checkNoTemp(t, out)
	}
}

// wantMaxRSS returns a check that the run peaked under limit bytes of
// resident memory more than a run of args (which hold $DIR and $OUT) on
// a small input. A child's peak counts the test process's memory when it
// was started (exec keeps the high-water mark of the memory it replaces),
// so only the difference tells.
func wantMaxRSS(limit int64, args []string) func(*testing.T, string, cliRun) {
	return func(t *testing.T, out string, r cliRun) {
		t.Helper()
		dir := filepath.Dir(filepath.Dir(out))
		base := runBinary(t, out, expandAll(args, dir, out)...)
		if base.code != 0 {
			t.Fatalf("baseline run: exit %d: %s", base.code, base.stderr)
		}
		if r.maxRSS-base.maxRSS > limit {
			t.Errorf("peak RSS %d MB, %d MB more than on a small input; want under %d MB more", r.maxRSS>>20, (r.maxRSS-base.maxRSS)>>20, limit>>20)
		}
	}
}

// wantGone returns a check that the run removed the file name.
func wantGone(name string) func(*testing.T, string, cliRun) {
	return func(t *testing.T, out string, _ cliRun) {
		t.Helper()
		if fileExists(filepath.Join(out, name)) {
			t.Errorf("%s is still there", name)
		}
	}
}

// wantUsage checks that r printed the top-level usage on stdout.
func wantUsage(t *testing.T, _ string, r cliRun) {
	wantStdout("Usage: ebmpipe COMMAND [flags]")(t, "", r)
}

// wantStdout returns a check that stdout holds s.
func wantStdout(s string) func(*testing.T, string, cliRun) {
	return func(t *testing.T, _ string, r cliRun) {
		t.Helper()
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
		}
	}
}

// wantVersion checks that r printed the module version and the ONNX
// Runtime version (or why the library did not load).
func wantVersion(t *testing.T, _ string, r cliRun) {
	re := regexp.MustCompile(`^ebmpipe \S.* \(go[0-9.]+\S*\)\nONNX Runtime( [0-9]+\.[0-9]+\.[0-9]+ \(built against [0-9.]+\)|: not loaded: .+)\n$`)
	if !re.MatchString(r.stdout) {
		t.Errorf("stdout %q, want the versions of ebmpipe and ONNX Runtime", r.stdout)
	}
}

// TestCLIHardening runs okCases and compares their exit status and stderr
// with testdata/hardening.golden.
func TestCLIHardening(t *testing.T) {
	ebmpipeBinary(t)
	dir := t.TempDir()
	writeCLIFixtures(t, dir)
	var mu sync.Mutex
	sections := make(map[string]string)
	t.Run("cases", func(t *testing.T) {
		for _, c := range okCases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				text := runOKCase(t, dir, c)
				mu.Lock()
				defer mu.Unlock()
				sections[c.name] = text
			})
		}
	})
	names := make([]string, len(okCases))
	for i, c := range okCases {
		names[i] = c.name
	}
	checkSections(t, "testdata/hardening.golden", names, sections)
}

// runOKCase runs c in a directory of its own under dir/out and returns
// its golden section: the command line, the exit status and stderr.
func runOKCase(t *testing.T, dir string, c okCase) string {
	out := caseDir(t, dir, c.name, c.files)
	r := runBinaryInput(t, out, c.stdin, expandAll(c.args, dir, out)...)
	checkNoPanic(t, r)
	if r.code != c.code {
		t.Errorf("exit %d, want %d; stderr:\n%s", r.code, c.code, r.stderr)
	}
	if c.check != nil {
		c.check(t, out, r)
	}
	return commandLine(c.args) + "exit " + strconv.Itoa(r.code) + "\n" + normalise(r.stderr, dir, out)
}

// TestTrainOutInUse starts a long training run, and while it runs a
// second one on the same --out, which must fail at once naming the first
// one's process; the first, stopped by SIGINT, must leave no lock file.
func TestTrainOutInUse(t *testing.T) {
	dir := t.TempDir()
	args := expandAll(trainArgs("--steps", "1000000", "--log-every", "2", "--checkpoint-every", "0"), dir, dir)
	first := exec.Command(ebmpipeBinary(t), args...)
	first.Dir = dir
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	defer func() {
		first.Process.Signal(syscall.SIGINT)
		<-done
		if fileExists(filepath.Join(dir, "run", ".ebmpipe-train.lock")) {
			t.Error("the interrupted run left its lock file")
		}
	}()
	for deadline := time.Now().Add(2 * time.Minute); !fileExists(filepath.Join(dir, "run", "metrics.csv")); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first run wrote no metrics in 2 minutes")
		}
	}
	r := runBinary(t, dir, args...)
	want := fmt.Sprintf("ebmpipe train: --out %s is in use by another training run (process %d, lock file %s); wait for it to end or choose another --out\n",
		filepath.Join(dir, "run"), first.Process.Pid, filepath.Join(dir, "run", ".ebmpipe-train.lock"))
	if r.code != 1 || r.stderr != want {
		t.Errorf("second run: exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
}

// TestKilledScoreTempCleaned kills score with SIGKILL while it writes,
// which leaves its temporary file, and checks that the next score of the
// same output removes it.
func TestKilledScoreTempCleaned(t *testing.T) {
	dir := t.TempDir()
	writeCLIFixtures(t, dir)
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	writeNPY(t, filepath.Join(out, "big.npy"), 2_000_000, 2)
	args := expandAll(score("--input", "$OUT/big.npy", "--batch-size", "256"), dir, out)
	cmd := exec.Command(ebmpipeBinary(t), args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pattern := filepath.Join(out, ".scores.csv.*.tmp")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("score wrote no temporary file in 2 minutes")
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	left, _ := filepath.Glob(pattern)
	if len(left) != 1 {
		t.Fatalf("after kill -9: temporary files %q, want one", left)
	}
	r := runBinary(t, out, expandAll(score(), dir, out)...)
	if r.code != 0 {
		t.Fatalf("the next score: exit %d: %s", r.code, r.stderr)
	}
	if m, _ := filepath.Glob(pattern); len(m) > 0 {
		t.Errorf("the next score left %q", m)
	}
}
