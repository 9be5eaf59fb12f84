package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/pipeline/logz"

	"github.com/ebmpipe/ebmpipe/pipeline/engine"
)

func TestParseRunFile(t *testing.T) {
	opts := []string{"train.data=toy:moons", "train.steps=300", "train.lr-energy=1e-3", "logz.bounds=-3,3,-2.5,2.5"}
	cases := []struct {
		name, text string
		sections   []string // section names
		options    []string // SECTION.KEY=VALUE
	}{
		{"yaml", "# a run\ntrain:\n  data: toy:moons\n  steps: 300\n  lr-energy: 1e-3\nlogz:\n  bounds: [-3, 3, -2.5, 2.5]\nscore:\n",
			[]string{"train", "logz", "score"}, opts},
		{"yaml-quoted-block-list", "train:\n  data: 'toy:moons'\n  steps: \"300\"\n  lr-energy: 1e-3\nlogz:\n  bounds:\n  - -3\n  - 3\n  - -2.5\n  - 2.5\nscore: ~\n",
			[]string{"train", "logz", "score"}, opts},
		{"json", "{\n\"train\": {\n\t\"data\": \"toy:moons\",\n\t\"steps\": 300,\n\t\"lr-energy\": 1e-3},\n\"logz\": {\n\t\"bounds\": [-3, 3, -2.5, 2.5]},\n\"score\": {}\n}\n",
			[]string{"train", "logz", "score"}, opts},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rf, err := ParseRunFile("r.yaml", []byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			var sections, options []string
			for _, s := range rf.Sections {
				sections = append(sections, s.Name)
				for _, o := range s.Options {
					options = append(options, s.Name+"."+o.Key+"="+o.Value)
				}
			}
			if !reflect.DeepEqual(sections, c.sections) || !reflect.DeepEqual(options, c.options) {
				t.Errorf("sections %q, options %q; want %q, %q", sections, options, c.sections, c.options)
			}
		})
	}

	// Lines, for messages.
	rf, err := ParseRunFile("r.yaml", []byte(cases[0].text))
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, s := range rf.Sections {
		lines = append(lines, s.Line)
		for _, o := range s.Options {
			lines = append(lines, o.Line)
		}
	}
	if want := []int{2, 3, 4, 5, 6, 7, 8}; !reflect.DeepEqual(lines, want) {
		t.Errorf("lines %v, want %v", lines, want)
	}
}

func TestParseRunFileErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"empty", "", `r.yaml:1: no sections; want sections such as "train:"`},
		{"comments-only", "# nothing\n\n", `r.yaml:1: no sections`},
		{"null-document", "~\n", `r.yaml:1: no sections`},
		{"bad-indent", "train:\n  steps: 3\n bad: [\n", "r.yaml:3: did not find expected key"},
		{"open-flow-list", "train:\n  steps: 3\n  data: [toy:moons\n  seed: 2\n", "r.yaml:3: did not find expected ',' or ']'"},
		{"line-one", "a: b: c\n", "r.yaml:1: mapping values are not allowed in this context"},
		{"tab", "train:\n\tsteps: 3\n", "r.yaml:2: found character that cannot start any token (a tab: YAML indents with spaces)"},
		{"unclosed-flow", "train: {steps: 3\n", "r.yaml:2: did not find expected ',' or '}'"},
		{"unterminated-string", "train:\n  data: \"toy\n", "r.yaml:2: found unexpected end of stream"},
		{"top-level-list", "- train\n- logz\n", `r.yaml:1: a list; want sections such as "train:", each holding options`},
		{"top-level-scalar", "train\n", `r.yaml:1: the value "train"; want sections`},
		{"section-scalar", "train: 3\n", `r.yaml:1: section train: the value "3"; want options such as "steps: 100"`},
		{"section-list", "train:\n  - steps\n", "r.yaml:2: section train: a list; want options"},
		{"option-mapping", "train:\n  steps: {a: 1}\n", "r.yaml:2: train: steps is a mapping; want a value or a list of values"},
		{"option-null", "train:\n  steps:\nlogz: {}\n", "r.yaml:2: train: steps has no value; give one or leave the option out"},
		{"option-empty-list", "logz:\n  bounds: []\n", "r.yaml:2: logz: bounds is an empty list"},
		{"option-nested-list", "logz:\n  bounds: [1, [2]]\n", "r.yaml:2: logz: bounds: item 2 is a list; want a value"},
		{"option-null-item", "logz:\n  bounds: [1, ~]\n", "r.yaml:2: logz: bounds: item 2 is null; want a value"},
		{"duplicate-option", "train:\n  steps: 3\n  seed: 1\n  steps: 4\n", `r.yaml:4: "steps" is given twice (first on line 2)`},
		{"duplicate-section", "train: {}\nlogz: {}\ntrain: {}\n", `r.yaml:3: "train" is given twice (first on line 1)`},
		{"list-key", "? [a]\n: b\n", "r.yaml:1: a list as a key; want a name"},
		{"alias", "train:\n  steps: &n 3\n  seed: *n\n", "r.yaml:3: train: seed is an alias (*n); want a value or a list of values"},
		{"two-documents", "train: {}\n---\nlogz: {}\n", "r.yaml:2: a second YAML document; a run file holds one"},
		{"control-character", "train:\x00\n", "r.yaml: control characters are not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rf, err := ParseRunFile("r.yaml", []byte(c.text))
			if err == nil {
				t.Fatalf("no error; sections %+v", rf.Sections)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line starting %q", msg, c.want)
			}
		})
	}
}

// TestRunConfigApply checks that a run file's options reach the options
// of each section through the commands' own flags, with relative paths
// taken from the file's directory.
func TestRunConfigApply(t *testing.T) {
	dir := t.TempDir()
	text := `train:
  data: rows.csv
  energy: mlp:2-8-1
  generator: nets/g.onnx
  steps: 250
  lr-energy: 1e-3
  lambda-gp: 0.5
  out: /abs/out
logz:
  method: grid
  bounds: [-3, 3]
  ort-lib: lib/libonnxruntime.so
bounds:
  samples: 500
score:
  input: in.npy
  output: out/s.jsonl
  raw: true
run:
  test: toy:moons
  test-rows: 40
`
	path := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	rf, err := ReadRunFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := NewRunConfig()
	if err := c.Apply(rf); err != nil {
		t.Fatal(err)
	}
	o := c.Options
	got := map[string]any{
		"train.data": o.Train.Data, "train.energy": o.Train.Energy, "train.generator": o.Train.Generator,
		"train.steps": o.Train.Steps, "train.lr-energy": o.Train.LREnergy, "train.lambda-gp": *o.Train.LambdaGP,
		"train.out": o.Train.Out, "train.lower": o.Train.Lower,
		"logz.method": o.LogZ.Estimate.Method, "logz.bounds": o.LogZ.Estimate.Bounds, "logz.ort-lib": o.LogZ.ORTLib,
		"logz.engine": o.LogZ.Engine, "logz.samples": o.LogZ.Estimate.Samples,
		"bounds.samples": o.Bounds.Samples, "bounds.batch-size": o.Bounds.BatchSize,
		"score.input": o.Score.Input, "score.output": o.Score.Output, "score.raw": o.Score.Raw, "score.batch-size": o.Score.BatchSize,
		"run.test": o.Run.Test, "run.test-rows": o.Run.TestRows, "run.test-fraction": o.Run.TestFraction,
	}
	want := map[string]any{
		"train.data": filepath.Join(dir, "rows.csv"), "train.energy": "mlp:2-8-1", "train.generator": filepath.Join(dir, "nets/g.onnx"),
		"train.steps": 250, "train.lr-energy": 1e-3, "train.lambda-gp": 0.5,
		"train.out": "/abs/out", "train.lower": "jacobian", // the default
		"logz.method": "grid", "logz.bounds": []float64{-3, 3}, "logz.ort-lib": filepath.Join(dir, "lib/libonnxruntime.so"),
		"logz.engine": engine.Auto, "logz.samples": logz.DefaultOptions().Samples,
		"bounds.samples": 500, "bounds.batch-size": 500,
		"score.input": filepath.Join(dir, "in.npy"), "score.output": filepath.Join(dir, "out/s.jsonl"), "score.raw": true, "score.batch-size": 1024,
		"run.test": "toy:moons", "run.test-rows": 40, "run.test-fraction": 0.1,
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
}

func TestRunConfigApplyErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"unknown-section", "train: {}\ntest: {}\n", `r.yaml:2: unknown section "test" (want run, train, logz, bounds or score)`},
		{"unknown-option", "train:\n  steps: 3\n  stpes: 4\n", `r.yaml:3: unknown option "stpes" for train (see ebmpipe train --help)`},
		{"option-of-another-command", "logz:\n  lower: gp\n", `r.yaml:2: unknown option "lower" for logz (see ebmpipe logz --help)`},
		{"set-by-run", "logz:\n  model: e.onnx\n", `r.yaml:2: logz: "model" is set by the run: the run estimates log Z of the energy it trains`},
		{"set-by-run-bounds", "bounds:\n  data: toy:moons\n", `r.yaml:2: bounds: "data" is set by the run`},
		{"bad-int", "train:\n  data: toy:moons\n  steps: many\n", `r.yaml:3: train: invalid argument "many" for "--steps" flag`},
		{"bad-float", "train:\n  lr-energy: [1, 2]\n", `r.yaml:2: train: invalid argument "1,2" for "--lr-energy" flag`},
		{"bad-bool", "score:\n  raw: yes\n", `r.yaml:2: score: invalid argument "yes" for "--raw" flag`},
		{"bad-bounds-list", "logz:\n  bounds: [1, x]\n", `r.yaml:2: logz: invalid argument "1,x" for "--bounds" flag: "x" is not a number`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rf, err := ParseRunFile("r.yaml", []byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			err = NewRunConfig().Apply(rf)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line starting %q", msg, c.want)
			}
		})
	}
}

// TestRunConfigCommandLineWins checks that flags already set, as on the
// command line, keep their values, and that SetOption overrides.
func TestRunConfigCommandLineWins(t *testing.T) {
	c := NewRunConfig()
	if err := c.FlagSet(SectionRun).Parse([]string{"--test-rows", "77"}); err != nil {
		t.Fatal(err)
	}
	rf, err := ParseRunFile("r.yaml", []byte("run:\n  test-rows: 5\n  test-fraction: 0.25\ntrain:\n  steps: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(rf); err != nil {
		t.Fatal(err)
	}
	if err := c.SetOption("train.steps=20"); err != nil {
		t.Fatal(err)
	}
	if o := c.Options; o.Run.TestRows != 77 || o.Run.TestFraction != 0.25 || o.Train.Steps != 20 {
		t.Errorf("test-rows %d, test-fraction %g, steps %d; want 77, 0.25, 20", o.Run.TestRows, o.Run.TestFraction, o.Train.Steps)
	}
	for spec, want := range map[string]string{
		"train.steps":          "want SECTION.OPTION=VALUE",
		"steps=3":              "want SECTION.OPTION=VALUE",
		"trian.steps=3":        `unknown section "trian"`,
		"train.stepz=3":        `unknown option "stepz" for train`,
		"score.model=e.onnx":   `"model" is set by the run`,
		"train.steps=3.5":      `invalid argument "3.5" for "--steps" flag`,
		"bounds.samples=10000": "",
	} {
		err := c.SetOption(spec)
		if (err == nil) != (want == "") || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("SetOption(%q) = %v, want %q", spec, err, want)
		}
	}
}

func TestRunOptionsCheck(t *testing.T) {
	cases := []struct {
		name string
		set  []string
		want string
	}{
		{"defaults", nil, ""},
		{"train", []string{"train.steps=0", "train.lower=foo"}, "train: --lower \"foo\": want jacobian, jacobian-exact or mi; --steps 0: must be at least 1"},
		{"logz", []string{"logz.method=mcmc"}, `logz: --method "mcmc": want auto, grid or importance`},
		{"bounds", []string{"bounds.samples=1"}, "bounds: --samples 1: need at least 2"},
		{"score-output-only", []string{"score.output=s.csv"}, "score: --output needs --input"},
		{"score-input-only", []string{"score.input=r.csv"}, "score: --output is required"},
		{"score-engine", []string{"score.engine=gpu"}, `score: --engine "gpu": want auto, ort or go`},
		{"test-fraction", []string{"run.test-fraction=1"}, "run: --test-fraction 1: want a number between 0 and 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := NewRunConfig()
			for _, s := range c.set {
				if err := rc.SetOption(s); err != nil {
					t.Fatal(err)
				}
			}
			err := rc.Options.Check()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestDemoRunFile checks that the embedded demo run file parses and
// applies cleanly.
func TestDemoRunFile(t *testing.T) {
	rf, err := ParseRunFile("demo.yaml", DemoRunFile())
	if err != nil {
		t.Fatal(err)
	}
	c := NewRunConfig()
	if err := c.Apply(rf); err != nil {
		t.Fatal(err)
	}
	if err := c.Options.Check(); err != nil {
		t.Fatal(err)
	}
	if o := c.Options.Train; o.Data != "toy:25gaussians" || o.Lower != "jacobian" || o.Upper != "gp" || o.Out != "out/demo" {
		t.Errorf("demo trains %s with %s/%s into %s", o.Data, o.Lower, o.Upper, o.Out)
	}
}

// TestExampleRunFiles checks that the example run files in testdata parse
// and apply, with paths relative to testdata.
func TestExampleRunFiles(t *testing.T) {
	paths, err := filepath.Glob("testdata/run*")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no example run files (%v)", err)
	}
	for _, p := range paths {
		rf, err := ReadRunFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c := NewRunConfig()
		if err := c.Apply(rf); err != nil {
			t.Fatal(err)
		}
		if err := c.Options.Check(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if out := c.Options.Train.Out; !strings.HasPrefix(out, "testdata"+string(filepath.Separator)) {
			t.Errorf("%s: out %q is not taken from the file's directory", p, out)
		}
	}
}

// FuzzParseRunFile checks that no input makes the parser, or applying its
// result, panic, and that errors are one line naming the file.
func FuzzParseRunFile(f *testing.F) {
	for _, s := range []string{
		string(DemoRunFile()),
		"train:\n  data: toy:moons\n  steps: 300\nlogz:\n  bounds: [-3, 3]\n",
		`{"train": {"steps": 3, "data": "toy:8gaussians"}, "score": {"raw": true}}`,
		"train: {steps: 3\n",
		"train:\n\tsteps: 3\n",
		"- a\n- b\n",
		"train:\n  steps: &n 3\n  seed: *n\n",
		"train: {}\n---\nlogz: {}\n",
		"a: b: c\n",
		"? [a]\n: b\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rf, err := ParseRunFile("f.yaml", data)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "f.yaml") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with the file's name", msg)
			}
			return
		}
		if err := NewRunConfig().Apply(rf); err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "f.yaml:") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with the file's name and line", msg)
			}
		}
	})
}

func ExampleParseRunFile() {
	text := `train:
  data: toy:moons
  steps: 300
logz:
  bounds: [-3, 3]
score:
  stpes: 3
`
	rf, err := ParseRunFile("run.yaml", []byte(text))
	if err != nil {
		panic(err)
	}
	for _, s := range rf.Sections {
		for _, o := range s.Options {
			fmt.Printf("line %d: %s.%s = %s\n", o.Line, s.Name, o.Key, o.Value)
		}
	}
	c := NewRunConfig()
	err = c.Apply(rf)
	fmt.Println(c.Options.Train.Steps, c.Options.LogZ.Estimate.Bounds)
	fmt.Println(err)
	// Output:
	// line 2: train.data = toy:moons
	// line 3: train.steps = 300
	// line 5: logz.bounds = -3,3
	// line 7: score.stpes = 3
	// 300 [-3 3]
	// run.yaml:7: unknown option "stpes" for score (see ebmpipe score --help)
}
