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
	name  string
	args  []string
	files map[string]string
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
	var golden strings.Builder
	for _, c := range okCases {
		text, ok := sections[c.name]
		if !ok {
			t.Logf("not comparing with testdata/hardening.golden: case %s did not run", c.name)
			return
		}
		golden.WriteString("## " + c.name + "\n" + text)
	}
	checkGolden(t, "testdata/hardening.golden", golden.String())
}

// runOKCase runs c in a directory of its own under dir/out and returns
// its golden section: the command line, the exit status and stderr.
func runOKCase(t *testing.T, dir string, c okCase) string {
	out := filepath.Join(dir, "out", strings.ReplaceAll(c.name, "/", "-"))
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	expand := strings.NewReplacer("$OUT", out, "$DIR", dir)
	for name, text := range c.files {
		p := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "/") {
			continue
		}
		if err := os.WriteFile(p, []byte(expand.Replace(text)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := runBinary(t, out, expandAll(c.args, dir, out)...)
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
