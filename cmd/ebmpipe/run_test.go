package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/pipeline"
	"github.com/ebmpipe/ebmpipe/train"
)

// tinyRunFile is a run file of a short run, for the command tests.
const tinyRunFile = `train:
  data: toy:8gaussians
  energy: mlp:2-16-16-1
  generator: mlp:2-16-16-2
  steps: 20
  log-every: 10
  out: out
bounds:
  samples: 100
score:
  engine: go
run:
  test-rows: 500
`

// TestRunCommand runs a short run from a file and checks the report, the
// files written next to the run file, and that a flag of ebmpipe run wins
// over the file's run section.
func TestRunCommand(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(path, []byte(tinyRunFile), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("run", "--test-rows", "300", "--set", "train.steps=30", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	t.Logf("%s\n%s", stderr, stdout)
	out := filepath.Join(dir, "out")
	for _, want := range []string{
		"trained 30 iterations on toy:8gaussians",
		"bounds on the 300 held-out rows",
		"bracket (jacobian, diffusion): L_low ", // the default pair
		"test log-likelihood: ",
		"(300 held-out rows, go engine)",
		"single Gaussian fitted to the training data: ",
		"mode coverage (8gaussians): ",
		"true 8gaussians density on the held-out rows: ",
		"files written:\n  " + filepath.Join(out, pipeline.TestFile) + "\n  " + filepath.Join(out, train.EnergyFile) + "\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if !strings.Contains(stderr, "== training 30 iterations") || !strings.Contains(stderr, "iteration 30/30") {
		t.Errorf("stderr shows no progress:\n%s", stderr)
	}
	for _, f := range []string{train.EnergyFile, train.GeneratorFile, pipeline.TestFile, pipeline.TestScoresFile, pipeline.ResultsFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestDemoCommand runs the demo for a few iterations with its --out and
// --steps overrides.
func TestDemoCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo")
	code, stdout, stderr := runCLI("demo", "--out", out, "--steps", "3",
		"--set", "bounds.samples=100", "--set", "run.test-rows=200", "--set", "score.engine=go", "--set", "train.log-every=1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "trained 3 iterations on toy:25gaussians") || !strings.Contains(stdout, "\n  "+filepath.Join(out, train.EnergyFile)+"\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

// TestRunCommandErrors checks that bad calls and run files exit with one
// line naming the problem: status 2 for the call or the run file's
// contents, 1 for files that cannot be read or written.
func TestRunCommandErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", tinyRunFile)
	badYAML := write("bad.yaml", "train:\n  steps: 3\n  data: [toy:moons\n")
	unknown := write("unknown.yaml", "train:\n  steps: 3\n  stpes: 4\n")
	badValue := write("value.yaml", "score:\n  workers: two\n")
	byRun := write("byrun.yaml", "logz:\n  model: e.onnx\n")
	unwritable := write("unwritable.yaml", strings.Replace(tinyRunFile, "out: out", "out: good.yaml/out", 1))
	badOption := write("option.yaml", "train:\n  steps: 0\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no-file", []string{"run"}, 2, "ebmpipe run: want one run file: ebmpipe run [flags] RUN.yaml"},
		{"two-files", []string{"run", good, good}, 2, "ebmpipe run: want one run file"},
		{"missing-file", []string{"run", filepath.Join(dir, "nope.yaml")}, 1, "ebmpipe run: open " + filepath.Join(dir, "nope.yaml") + ": no such file or directory"},
		{"directory", []string{"run", dir}, 1, "ebmpipe run: read " + dir + ": is a directory"},
		{"bad-yaml", []string{"run", badYAML}, 2, "ebmpipe run: " + badYAML + ":3: did not find expected ',' or ']'"},
		{"unknown-option", []string{"run", unknown}, 2, "ebmpipe run: " + unknown + `:3: unknown option "stpes" for train (see ebmpipe train --help)`},
		{"bad-value", []string{"run", badValue}, 2, "ebmpipe run: " + badValue + `:2: score: invalid argument "two" for "--workers" flag`},
		{"set-by-run", []string{"run", byRun}, 2, "ebmpipe run: " + byRun + `:2: logz: "model" is set by the run`},
		{"bad-option", []string{"run", badOption}, 2, "ebmpipe run: train: --steps 0: must be at least 1"},
		{"bad-set", []string{"run", "--set", "train.step=3", good}, 2, `ebmpipe run: --set unknown option "step" for train (see ebmpipe train --help)`},
		{"bad-flag", []string{"run", "--test-rows", "x", good}, 2, `ebmpipe run: invalid argument "x" for "--test-rows" flag`},
		{"unwritable-out", []string{"run", unwritable}, 1, "ebmpipe run: --out: mkdir " + good + ": not a directory"},
		{"demo-argument", []string{"demo", "extra"}, 2, `ebmpipe demo: unexpected argument "extra"`},
		{"demo-steps", []string{"demo", "--steps", "-1"}, 2, "ebmpipe demo: train: --steps -1: must be at least 1"},
		{"demo-set", []string{"demo", "--set", "steps=3"}, 2, `ebmpipe demo: --set "steps=3": want SECTION.OPTION=VALUE`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, c.want) {
				t.Errorf("stderr %q, want one line starting %q", stderr, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a failed call wrote output")
	}
}
