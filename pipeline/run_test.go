package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/pipeline/logz"

	"github.com/ebmpipe/ebmpipe/pipeline/score"

	"github.com/ebmpipe/ebmpipe/internal/testutil"

	"github.com/ebmpipe/ebmpipe/internal/ortlib"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// tinyRun returns a run of small networks on toy:8gaussians for a few
// hundred iterations into dir, changed by the functions set. With seeds 1
// to 3 it beat the single Gaussian by 1.6 to 2.5 nats per example.
func tinyRun(dir string, set ...func(o *RunOptions)) RunOptions {
	o := DefaultRunOptions()
	o.Train.Data = "toy:8gaussians"
	o.Train.Energy = "mlp:2-64-64-1:prelu"
	o.Train.Generator = "mlp:2-64-64-2:prelu"
	o.Train.Precision = "float64"
	o.Train.Steps = 300
	// The default recipe, hurried: the full rate from the start.
	o.Train.LREnergy = 3e-3
	o.Train.LRGenerator = 3e-3
	o.Train.LRWarmup = 0
	o.Train.LogEvery = 50
	o.Train.Out = filepath.Join(dir, "out")
	o.Bounds.Samples = 500
	o.Run.TestRows = 2000
	for _, f := range set {
		f(&o)
	}
	return o
}

// energiesOf runs the energy model at path on rows of two values with the
// Go engine.
func energiesOf(t *testing.T, path string, x []float64) []float64 {
	t.Helper()
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 4096
	eng, err := engine.NewGoEngine(m, batch)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	var out []float64
	for i := 0; i < len(x); i += 2 * batch {
		k := min(batch, (len(x)-i)/2)
		res, err := eng.Run(x[i:i+2*k], k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res[0]...)
	}
	return out
}

// gaussian2LogLik fits a Gaussian to the rows of two values train, by the
// textbook formulas, and returns its mean log density over the rows test.
func gaussian2LogLik(train, test []float64) float64 {
	n := float64(len(train) / 2)
	var mx, my float64
	for i := 0; i < len(train); i += 2 {
		mx += train[i]
		my += train[i+1]
	}
	mx, my = mx/n, my/n
	var sxx, sxy, syy float64
	for i := 0; i < len(train); i += 2 {
		dx, dy := train[i]-mx, train[i+1]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	sxx, sxy, syy = sxx/(n-1), sxy/(n-1), syy/(n-1)
	det := sxx*syy - sxy*sxy
	sum := 0.0
	for i := 0; i < len(test); i += 2 {
		dx, dy := test[i]-mx, test[i+1]-my
		q := (syy*dx*dx - 2*sxy*dx*dy + sxx*dy*dy) / det
		sum += -math.Log(2*math.Pi) - 0.5*math.Log(det) - 0.5*q
	}
	return sum / float64(len(test)/2)
}

// TestRunEndToEnd trains a tiny model, exports it, estimates log Z,
// scores held-out rows on both engines and checks that they agree, that
// log Z is right, and that the test log-likelihood beats a single Gaussian
// fitted to the training data.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	dir := t.TempDir()
	input := filepath.Join(dir, "rows.csv")
	testutil.WriteRows(t, input, []float64{0, 0, 1.414, 0, 0, -1.414, 3, 3}, 2)
	output := filepath.Join(dir, "scores.jsonl")
	o := tinyRun(dir, func(o *RunOptions) { o.Score.Input, o.Score.Output = input, output })
	var stages []string
	res, err := Run(context.Background(), o, RunHooks{Stage: func(msg string) { stages = append(stages, msg) }})
	if err != nil {
		t.Fatal(err)
	}
	out := o.Train.Out
	t.Logf("stages: %q", stages)
	t.Logf("log Z %v; test LL %.4f ± %.4f; Gaussian %.4f; bracket %.4f ≤ %.4f ≤ %.4f; %d it/s",
		res.LogZ, res.Test.Mean, res.Test.StdErr, res.Gaussian.Mean, res.Lower.Value, -res.Test.Mean, res.Upper.Value, int(res.Train.StepsPerSecond))

	// Files.
	for _, f := range []string{train.EnergyFile, train.GeneratorFile, train.MetricsFile, TestFile, TestScoresFile, ResultsFile} {
		p := filepath.Join(out, f)
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
		if !slices.Contains(res.Files, p) {
			t.Errorf("%s is not in the files written %q", p, res.Files)
		}
	}
	checkResults(t, res, filepath.Join(out, ResultsFile))
	if !slices.Contains(res.Files, output) || res.Scored == nil || res.Scored.Rows != 4 {
		t.Errorf("the score section's file: files %q, stats %+v", res.Files, res.Scored)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(out, ".*.tmp")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	// log Z is in the model, and right: a midpoint sum of exp(−E) over a
	// box holding the data, computed here independently, agrees.
	energy := filepath.Join(out, train.EnergyFile)
	m, err := onnx.Load(energy)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := export.ReadMeta(m)
	if err != nil || meta.LogZ == nil || meta.LogZ.Value != res.LogZ.Value {
		t.Fatalf("metadata %+v (%v): want log Z %g", meta, err, res.LogZ.Value)
	}
	const k, lo, hi = 300, -3.5, 3.5
	h := (hi - lo) / k
	grid := make([]float64, 0, 2*k*k)
	for i := range k {
		for j := range k {
			grid = append(grid, lo+(float64(i)+0.5)*h, lo+(float64(j)+0.5)*h)
		}
	}
	var acc logz.LogSumExp
	for _, e := range energiesOf(t, energy, grid) {
		acc.Add(-e)
	}
	logZ := acc.Value() + 2*math.Log(h)
	if d := math.Abs(logZ - res.LogZ.Value); d > 0.02 {
		t.Errorf("log Z %.5f, but a %d×%d midpoint sum gives %.5f", res.LogZ.Value, k, k, logZ)
	}

	// The held-out rows, scored by the run and again by each engine.
	testRows, cols := testutil.ReadRows(t, filepath.Join(out, TestFile))
	if len(testRows) != 2*2000 || !slices.Equal(cols, []string{"x0", "x1"}) {
		t.Fatalf("%s: %d values, columns %q; want 2000 rows x0, x1", TestFile, len(testRows), cols)
	}
	trainSet, err := data.LoadData(o.Train.Data, o.Train.DataRows, o.Train.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(testRows[:20], trainSet.Data[:20]) {
		t.Error("the held-out rows are the training rows")
	}
	want := energiesOf(t, energy, testRows)
	engines := []string{engine.Go, engine.ORT}
	if err := ortlib.Init(""); err != nil {
		t.Logf("no ONNX Runtime, Go engine only: %v", err)
		engines = engines[:1]
	}
	for _, eng := range engines {
		p := filepath.Join(dir, eng+".csv")
		if _, err := score.Score(context.Background(), score.Options{Model: energy, Input: filepath.Join(out, TestFile), Output: p, Engine: eng, BatchSize: 512, Workers: 2}); err != nil {
			t.Fatal(err)
		}
		got, cols := testutil.ReadRows(t, p)
		if !slices.Equal(cols, []string{"energy", "log_density"}) {
			t.Fatalf("%s engine: columns %q", eng, cols)
		}
		sum := 0.0
		for i, e := range want {
			ge, gl := got[2*i], got[2*i+1]
			if !testutil.CloseTo(ge, e, 1e-4) || !testutil.CloseTo(gl, -e-res.LogZ.Value, 1e-4) {
				t.Fatalf("%s engine, row %d: energy %g, log density %g; want %g, %g", eng, i, ge, gl, e, -e-res.LogZ.Value)
			}
			sum += gl
		}
		if mean := sum / float64(len(want)); !testutil.CloseTo(mean, res.Test.Mean, 1e-4) {
			t.Errorf("%s engine: mean log density %.6f, the run's test log-likelihood %.6f", eng, mean, res.Test.Mean)
		}
	}

	// The baseline, computed here from the formulas, and the model
	// beating it.
	g := gaussian2LogLik(trainSet.Data, testRows)
	if !testutil.CloseTo(res.Gaussian.Mean, g, 1e-5) {
		t.Errorf("Gaussian log-likelihood %.6f, want %.6f", res.Gaussian.Mean, g)
	}
	if margin := res.Test.Mean - g; !(margin > 0.2 && margin > 5*res.Test.StdErr) {
		t.Errorf("test log-likelihood %.4f ± %.4f does not beat the Gaussian's %.4f by 0.2 nats", res.Test.Mean, res.Test.StdErr, g)
	}

	// The lower end holds the held-out NLL, or where the generator folds
	// (as the table's fold check may find far out), it is no bound and a
	// note says so. The upper bound (diffusion, by default) is no bound on
	// the PReLU generator (a note says why); the certified bracket's
	// certified ends hold the NLL.
	nll := -res.Test.Mean
	if math.IsNaN(res.Lower.Value) {
		if !slices.ContainsFunc(res.Notes, func(n string) bool {
			return strings.Contains(n, o.Train.Lower+" is no bound") && strings.Contains(n, "folds")
		}) {
			t.Errorf("lower end n/a, notes %q: want a note that the generator folds", res.Notes)
		}
	} else if !(res.Lower.Value-3*res.Lower.StdErr <= nll) {
		t.Errorf("lower end %.4f ± %.4f above NLL %.4f", res.Lower.Value, res.Lower.StdErr, nll)
	}
	if !math.IsNaN(res.Upper.Value) || !slices.ContainsFunc(res.Notes, func(n string) bool {
		return strings.Contains(n, o.Train.Upper+" is no bound") && strings.Contains(n, "PRelu")
	}) {
		t.Errorf("upper end %.4f on a PReLU generator, notes %q: want no value and a note naming PRelu", res.Upper.Value, res.Notes)
	}
	c := res.Bounds.Certified
	if c == nil {
		t.Fatal("no certified bracket")
	}
	t.Logf("certified bracket: lower %+v, upper %+v", c.Lower, c.Upper)
	if c.Lower.Certified && c.Lower.Limit > nll || c.Upper.Certified && c.Upper.Limit < nll {
		t.Errorf("certified bracket %+v does not hold NLL %.4f", c, nll)
	}

	var report strings.Builder
	if err := res.WriteReport(&report); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"bracket (jacobian, " + o.Train.Upper + "): L_low ", "test log-likelihood: ", "single Gaussian", "files written:\n  " + filepath.Join(out, TestFile)} {
		if !strings.Contains(report.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, report.String())
		}
	}
}

// TestRunSplitFile checks that a training file is split into training and
// held-out rows written to the output directory, and that the run trains
// on the training part.
func TestRunSplitFile(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	dir := t.TempDir()
	rows, err := data.Toy("moons", 400, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows { // not standardised: the models must undo it
		rows[i] = 10 + 3*rows[i]
	}
	data := filepath.Join(dir, "moons.csv")
	testutil.WriteRows(t, data, rows, 2)
	o := tinyRun(dir, func(o *RunOptions) {
		o.Train.Data, o.Train.DataRows, o.Train.Steps, o.Train.LogEvery = data, 0, 20, 10
		o.Run.TestFraction, o.Bounds.Samples = 0.25, 100
	})
	res, err := Run(context.Background(), o, RunHooks{})
	if err != nil {
		t.Fatal(err)
	}
	trainPart, _ := testutil.ReadRows(t, filepath.Join(o.Train.Out, TrainSplitFile))
	testPart, _ := testutil.ReadRows(t, filepath.Join(o.Train.Out, TestFile))
	if len(trainPart) != 2*300 || len(testPart) != 2*100 {
		t.Fatalf("split %d + %d rows, want 300 + 100", len(trainPart)/2, len(testPart)/2)
	}
	seen := map[[2]float64]bool{}
	for i := 0; i < len(trainPart); i += 2 {
		seen[[2]float64{trainPart[i], trainPart[i+1]}] = true
	}
	for i := 0; i < len(testPart); i += 2 {
		if seen[[2]float64{testPart[i], testPart[i+1]}] {
			t.Fatalf("held-out row %v is also a training row", testPart[i:i+2])
		}
	}
	if res.Options.Train.Data != filepath.Join(o.Train.Out, TrainSplitFile) {
		t.Errorf("trained on %s", res.Options.Train.Data)
	}
	if want := gaussian2LogLik(trainPart, testPart); !testutil.CloseTo(res.Gaussian.Mean, want, 1e-5) {
		t.Errorf("Gaussian log-likelihood %.6f, want %.6f", res.Gaussian.Mean, want)
	}
	if res.Test.Rows != 100 || math.IsNaN(res.Test.Mean) {
		t.Errorf("test log-likelihood %+v", res.Test)
	}
}

// TestRunErrors checks that runs that cannot go on fail with one line
// naming the problem before training, and leave no output behind.
func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("not a directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(dir, "wide.csv")
	testutil.WriteRows(t, wide, []float64{1, 2, 3, 4, 5, 6}, 3)
	wideMany := filepath.Join(dir, "wide-many.csv")
	testutil.WriteRows(t, wideMany, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}, 3)
	small := filepath.Join(dir, "small.csv")
	testutil.WriteRows(t, small, []float64{1, 2, 3, 4, 5, 6, 7, 8}, 2)
	cases := []struct {
		name  string
		set   func(o *RunOptions)
		files []string // files in the output directory before the run
		want  string
	}{
		{"unwritable-out", func(o *RunOptions) { o.Train.Out = filepath.Join(file, "out") }, nil, "Out: mkdir " + file + ": not a directory"},
		{"missing-data", func(o *RunOptions) { o.Train.Data = filepath.Join(dir, "nope.csv") }, nil, "Data: open " + filepath.Join(dir, "nope.csv") + ": no such file or directory"},
		{"unknown-toy", func(o *RunOptions) { o.Train.Data = "toy:blobs" }, nil, `Data: unknown toy data set "blobs"`},
		{"test-width", func(o *RunOptions) { o.Run.Test = wide }, nil, "the held-out rows " + wide + " have 3 values, the training data toy:8gaussians 2"},
		{"split-too-small", func(o *RunOptions) { o.Train.Data, o.Train.DataRows = small, 0 }, nil, "TestFraction 0.1 of the 4 rows of " + small + " leaves 4 to train on and 0 held out; need at least 2 of each"},
		{"split-bad-network", func(o *RunOptions) { o.Train.Data, o.Train.DataRows, o.Run.TestFraction = wideMany, 0, 0.5 }, nil, "Energy mlp:2-64-64-1:prelu takes rows of 2 values"},
		{"out-holds-a-run", nil, []string{TestFile}, "already holds a run (" + filepath.Join(dir, "out-holds-a-run", "out", TestFile) + "); choose another Out"},
		{"out-holds-a-training-run", nil, []string{"checkpoint/latest"}, "already holds a run (" + filepath.Join(dir, "out-holds-a-training-run", "out", "checkpoint") + ")"},
		{"bad-option", func(o *RunOptions) { o.Train.Steps = 0 }, nil, "train: Steps 0: must be at least 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := tinyRun(filepath.Join(dir, c.name))
			if c.set != nil {
				c.set(&o)
			}
			for _, f := range c.files {
				p := filepath.Join(o.Train.Out, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("before\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Run(context.Background(), o, RunHooks{})
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line with %q", err, c.want)
			}
			var left []string
			filepath.WalkDir(filepath.Join(dir, c.name), func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					left = append(left, strings.TrimPrefix(p, o.Train.Out+string(filepath.Separator)))
				}
				return nil
			})
			if !slices.Equal(left, c.files) {
				t.Errorf("files after the run %q, want %q", left, c.files)
			}
			if len(c.files) == 0 && exists(o.Train.Out) {
				t.Errorf("the run left %s behind", o.Train.Out)
			}
		})
	}
}

func ExampleRun() {
	dir, err := os.MkdirTemp("", "ebmpipe-run")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	o := DefaultRunOptions()
	o.Train.Data = "toy:8gaussians"
	o.Train.Energy = "mlp:2-32-32-1"
	o.Train.Generator = "mlp:2-32-32-2"
	o.Train.Steps = 20
	o.Train.LogEvery = 10
	o.Train.Out = filepath.Join(dir, "out")
	o.Bounds.Samples = 100
	o.Score.Engine = engine.Go
	o.Run.TestRows = 500
	res, err := Run(context.Background(), o, RunHooks{})
	if err != nil {
		panic(err)
	}
	fmt.Println("iterations:", res.Train.Steps)
	fmt.Println("held-out rows:", res.Test.Rows)
	fmt.Println("log Z method:", res.LogZ.Method)
	for _, f := range res.Files[1:6] {
		fmt.Println(filepath.Base(f))
	}
	// Output:
	// iterations: 20
	// held-out rows: 500
	// log Z method: grid
	// test.csv
	// energy.onnx
	// generator.onnx
	// metrics.csv
	// checkpoint
}

// checkResults checks the run's results.json against res, and that its
// sample-quality numbers are sane for a tiny run on toy:8gaussians.
func checkResults(t *testing.T, res *RunResult, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Test    *Estimate `json:"test_loglik"`
		Steps   int       `json:"steps"`
		Bracket map[string]*Estimate
		Quality *struct {
			Samples  int
			Coverage *struct{ Modes, Total int }
			Truth    *Estimate
			Distance *struct {
				Value  float64
				PValue float64 `json:"p_value"`
			} `json:"energy_distance"`
		} `json:"sample_quality"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	t.Logf("%s:\n%s", path, b)
	q := got.Quality
	switch {
	case got.Test == nil || got.Test.Value != res.Test.Mean || got.Steps != res.Train.Steps:
		t.Errorf("%s: test log-likelihood %+v, steps %d; the run's %v, %d", path, got.Test, got.Steps, res.Test, res.Train.Steps)
	case q == nil || q.Coverage == nil || q.Truth == nil || q.Distance == nil:
		t.Fatalf("%s: sample quality %+v: want coverage, truth and energy distance", path, q)
	case q.Samples != QualitySamples || q.Coverage.Total != 8 || q.Coverage.Modes < 0 || q.Coverage.Modes > 8:
		t.Errorf("%s: %d samples, coverage %+v", path, q.Samples, q.Coverage)
	case !(q.Distance.PValue > 0 && q.Distance.PValue <= 1) || math.IsNaN(q.Distance.Value):
		t.Errorf("%s: energy distance %+v", path, q.Distance)
	case q.Truth.Value < res.Test.Mean-3*math.Hypot(q.Truth.StdErr, res.Test.StdErr):
		// The rows' own law scores best, up to sampling error.
		t.Errorf("%s: the true law scores %.4f, below the model's %.4f", path, q.Truth.Value, res.Test.Mean)
	}
	var rep strings.Builder
	if err := res.WriteReport(&rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"energy distance", "mode coverage (8gaussians)", "true 8gaussians density"} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, rep.String())
		}
	}
}
