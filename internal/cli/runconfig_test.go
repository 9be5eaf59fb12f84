package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/pipeline"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"
	"github.com/ebmpipe/ebmpipe/pipeline/logz"
	"github.com/ebmpipe/ebmpipe/train"
)

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
	rf, err := pipeline.ReadRunFile(path)
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
		{"oversized-batch", "train:\n  data: toy:moons\n  batch-size: 10000000000\n", `r.yaml:3: train: --batch-size 10000000000: at most 65536`},
		{"oversized-samples", "bounds:\n  samples: 100000000\n", `r.yaml:2: bounds: --samples 100000000: at most 16777216`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rf, err := pipeline.ParseRunFile("r.yaml", []byte(c.text))
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
	if err := c.FlagSet(pipeline.SectionRun).Parse([]string{"--test-rows", "77"}); err != nil {
		t.Fatal(err)
	}
	rf, err := pipeline.ParseRunFile("r.yaml", []byte("run:\n  test-rows: 5\n  test-fraction: 0.25\ntrain:\n  steps: 10\n"))
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
		{"two-sections", []string{"run.test-rows=-1", "bounds.samples=1", "bounds.batch-size=1"}, "run: --test-rows -1: must be at least 0\nbounds: --samples 1: need at least 2; --batch-size 1: need at least 2"},
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
			if err == nil || Message(err, rc.FlagSets()...) != c.want {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestDemoRunFile checks that the embedded demo run file parses and
// applies cleanly.
func TestDemoRunFile(t *testing.T) {
	rf, err := pipeline.ParseRunFile("demo.yaml", pipeline.DemoRunFile())
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
	if o := c.Options.Train; o.Data != "toy:25gaussians" || o.Lower != "jacobian" || o.Upper != "diffusion" || o.EMA != 0.999 || o.Out != "out/demo" {
		t.Errorf("demo trains %s with %s/%s into %s", o.Data, o.Lower, o.Upper, o.Out)
	}
	// The demo trains the default recipe: its rates and schedule are the
	// defaults'.
	o, d := c.Options.Train, train.DefaultOptions()
	if o.LREnergy != d.LREnergy || o.LRGenerator != d.LRGenerator || o.LRWarmup != d.LRWarmup ||
		o.LRSchedule != d.LRSchedule || o.LRDecaySteps != d.LRDecaySteps || o.LRFinal != d.LRFinal || o.Beta2 != d.Beta2 {
		t.Errorf("demo's rates %v/%v, warm-up %d, schedule %s over %d to %v, β2 %v; want the default recipe's %v/%v, %d, %s over %d to %v, %v",
			o.LREnergy, o.LRGenerator, o.LRWarmup, o.LRSchedule, o.LRDecaySteps, o.LRFinal, o.Beta2,
			d.LREnergy, d.LRGenerator, d.LRWarmup, d.LRSchedule, d.LRDecaySteps, d.LRFinal, d.Beta2)
	}
}

// TestExampleRunFiles checks that the example run files in testdata parse
// and apply, with paths relative to testdata.
func TestExampleRunFiles(t *testing.T) {
	paths, err := filepath.Glob("../../pipeline/testdata/run*")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no example run files (%v)", err)
	}
	for _, p := range paths {
		rf, err := pipeline.ReadRunFile(p)
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
		if out := c.Options.Train.Out; !strings.HasPrefix(out, filepath.Join("..", "..", "pipeline", "testdata")+string(filepath.Separator)) {
			t.Errorf("%s: out %q is not taken from the file's directory", p, out)
		}
	}
}

// FuzzApplyRunFile checks that no run file the parser accepts makes
// applying it panic, and that errors are one line naming the file and
// line.
func FuzzApplyRunFile(f *testing.F) {
	for _, s := range []string{
		string(pipeline.DemoRunFile()),
		"train:\n  data: toy:moons\n  steps: 300\nlogz:\n  bounds: [-3, 3]\n",
		`{"train": {"steps": 3, "data": "toy:8gaussians"}, "score": {"raw": true}}`,
		"train:\n  stpes: 3\n",
		"logz:\n  model: e.onnx\n",
		"bounds:\n  samples: [1, x]\n",
		"frobnicate: {}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rf, err := pipeline.ParseRunFile("f.yaml", data)
		if err != nil {
			return
		}
		if err := NewRunConfig().Apply(rf); err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "f.yaml:") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with the file's name and line", msg)
			}
		}
	})
}

func ExampleRunConfig_Apply() {
	text := `train:
  data: toy:moons
  steps: 300
logz:
  bounds: [-3, 3]
score:
  stpes: 3
`
	rf, err := pipeline.ParseRunFile("run.yaml", []byte(text))
	if err != nil {
		panic(err)
	}
	c := NewRunConfig()
	err = c.Apply(rf)
	fmt.Println(c.Options.Train.Steps, c.Options.LogZ.Estimate.Bounds)
	fmt.Println(err)
	// Output:
	// 300 [-3 3]
	// run.yaml:7: unknown option "stpes" for score (see ebmpipe score --help)
}
