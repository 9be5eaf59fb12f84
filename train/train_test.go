package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/train/data"
	"github.com/ebmpipe/ebmpipe/train/metrics"
)

// tinyOptions is a small, fast run on 25gaussians with the fake bounds.
func tinyOptions(t testing.TB) Options {
	o := DefaultOptions()
	o.Energy = "mlp:2-16-16-1:prelu"
	o.Generator = "mlp:2-16-16-2:prelu"
	o.DataRows = 2000
	o.BatchSize = 32
	o.Steps = 40
	o.LogEvery = 5
	o.CheckpointEvery = 10
	o.KeepCheckpoints = 0
	o.LREnergy, o.LRGenerator = 1e-3, 1e-3
	o.Out = filepath.Join(t.TempDir(), "run")
	return o
}

func fakeHooks() Hooks {
	return Hooks{Lower: &fakeLower{LambdaH: 1}, Upper: &fakeUpper{LambdaGP: 1e-3, Tau: 0}}
}

// metricsWithoutWall returns metrics.csv without its last column.
func metricsWithoutWall(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		out = append(out, line[:strings.LastIndexByte(line, ',')])
	}
	return strings.Join(out, "\n")
}

func mustRun(t *testing.T, o Options, h Hooks) (*Trainer, *Result) {
	t.Helper()
	tr, err := NewTrainer(context.Background(), o, h)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tr, res
}

func TestSameSeedSameRun(t *testing.T) {
	o1, o2, o3 := tinyOptions(t), tinyOptions(t), tinyOptions(t)
	o3.Seed = 2
	_, res := mustRun(t, o1, fakeHooks())
	mustRun(t, o2, fakeHooks())
	mustRun(t, o3, fakeHooks())
	m1, m2, m3 := metricsWithoutWall(t, o1.Out), metricsWithoutWall(t, o2.Out), metricsWithoutWall(t, o3.Out)
	if m1 != m2 {
		t.Errorf("same seed, different metrics:\n%s\n---\n%s", m1, m2)
	}
	if m1 == m3 {
		t.Error("different seeds, same metrics")
	}
	if rows := strings.Count(m1, "\n"); rows != o1.Steps/o1.LogEvery {
		t.Errorf("%d metrics rows, want %d", rows, o1.Steps/o1.LogEvery)
	}
	header := m1[:strings.IndexByte(m1, '\n')]
	for _, c := range []string{metrics.ColStep, metrics.ColLossEnergy, metrics.ColLossGenerator, metrics.ColLower, metrics.ColUpper, metrics.ColEntropy, metrics.ColKL, metrics.ColSMin, metrics.ColEnergyData, metrics.ColEnergySamples, "grad_norm"} {
		if !slices.Contains(strings.Split(header, ","), c) {
			t.Errorf("metrics header %q lacks %q", header, c)
		}
	}
	if res.Steps != o1.Steps || res.Metrics == nil || res.Metrics.Step != o1.Steps {
		t.Errorf("result %+v", res)
	}
	for _, c := range res.Metrics.Names {
		if v := res.Metrics.Get(c); math.IsNaN(v) && c != colImportanceESS && c != colGeneratorMatch { // from ImportanceFrom, GeneratorMatchFrom on
			t.Errorf("last metrics: %s is NaN", c)
		}
	}
	if lo, up := res.Metrics.Get(metrics.ColLower), res.Metrics.Get(metrics.ColUpper); !(up >= lo) {
		t.Errorf("upper bound %v below lower bound %v", up, lo)
	}
	for _, f := range []string{EnergyFile, GeneratorFile} {
		if _, err := os.Stat(filepath.Join(o1.Out, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestResume checks that a run stopped mid-way (by cancellation, between
// log rows and checkpoints) and resumed ends with the parameters and
// metrics of an uninterrupted run.
func TestResume(t *testing.T) {
	full := tinyOptions(t)
	whole, _ := mustRun(t, full, fakeHooks())

	o := tinyOptions(t)
	stopAt(t, o, 17)
	c, err := LoadCheckpoint(filepath.Join(o.Out, CheckpointDir))
	if err != nil || c.Step != 17 {
		t.Fatalf("checkpoint after cancelling: step %v, %v", c, err)
	}
	if _, err := NewTrainer(context.Background(), o, fakeHooks()); err == nil || !strings.Contains(err.Error(), "Resume") {
		t.Errorf("a second run into the same Out: %v, want an error suggesting Resume", err)
	}
	o.Resume = true
	resumed, _ := mustRun(t, o, fakeHooks())
	if resumed.Step() != full.Steps {
		t.Fatalf("resumed run ended at %d", resumed.Step())
	}
	sameRun(t, whole, resumed, full.Out, o.Out)

	// Resuming with other options is refused, naming them.
	o.LREnergy = 5e-4
	if _, err := NewTrainer(context.Background(), o, fakeHooks()); err == nil || !strings.Contains(err.Error(), "LREnergy") {
		t.Errorf("resume with another learning rate: %v", err)
	}
}

// sameRun checks that a resumed run, in the folder out2, ended with the
// parameters and metrics of the uninterrupted run whole, in out1.
func sameRun(t *testing.T, whole, resumed *Trainer, out1, out2 string) {
	t.Helper()
	want, got := whole.Params(), resumed.Params()
	for name, w := range want {
		if !slices.Equal(w.Data, got[name].Data) {
			t.Errorf("%s differs after resuming", name)
		}
	}
	if m1, m2 := metricsWithoutWall(t, out1), metricsWithoutWall(t, out2); m1 != m2 {
		t.Errorf("metrics differ after resuming:\n%s\n---\n%s", m1, m2)
	}
}

// TestNonFiniteStop poisons the generator's loss and checks that training
// stops with a clear error and keeps the last good checkpoint.
func TestNonFiniteStop(t *testing.T) {
	o := tinyOptions(t)
	o.GeneratorMatch = 0 // one generator program: the fake poisons the last one built
	lower := &fakeLower{LambdaH: 1}
	h := Hooks{Lower: lower, Upper: &fakeUpper{LambdaGP: 1e-3}}
	var poisonErr error
	h.Progress = func(p Progress) {
		if p.Step == 25 {
			poisonErr = lower.setPoison(math.NaN())
		}
	}
	tr, err := NewTrainer(context.Background(), o, h)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Run(context.Background())
	if poisonErr != nil {
		t.Fatal(poisonErr)
	}
	var nf *NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("run with a NaN loss: %v, want a *NonFiniteError", err)
	}
	if nf.Step != 26 || nf.What != "generator step" || nf.Item != "loss" || nf.CheckpointStep != 20 {
		t.Errorf("error %+v", nf)
	}
	for _, s := range []string{"iteration 26", "not finite", "iteration 20", filepath.Join(o.Out, CheckpointDir)} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	c, err := LoadCheckpoint(filepath.Join(o.Out, CheckpointDir))
	if err != nil || c.Step != 20 {
		t.Fatalf("latest checkpoint: %v, %v; want step 20", c, err)
	}
	for name, p := range c.Params {
		for _, v := range p.Data {
			if bad(v) {
				t.Fatalf("checkpoint parameter %s holds %v", name, v)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(o.Out, EnergyFile)); err == nil {
		t.Error("a stopped run exported its energy")
	}
}

func TestOptionsCheck(t *testing.T) {
	neg := -1.0
	cases := []struct {
		edit func(o *Options)
		want string // "" for valid
	}{
		{func(o *Options) {}, ""},
		{func(o *Options) { o.Data = "" }, "Data is required"},
		{func(o *Options) { o.Lower = "svd" }, `Lower "svd"`},
		{func(o *Options) { o.Upper = "kl" }, `Upper "kl"`},
		{func(o *Options) { o.Lower = "mi" }, "Lower mi needs Encoder"},
		{func(o *Options) { o.Encoder = "mlp:2-4-4" }, "only used by Lower mi"},
		{func(o *Options) { o.Steps = 0 }, "Steps 0"},
		{func(o *Options) { o.BatchSize = 1 }, "BatchSize 1"},
		{func(o *Options) { o.LREnergy = math.NaN() }, "LREnergy NaN"},
		{func(o *Options) { o.LRGenerator = 0 }, "LRGenerator 0"},
		{func(o *Options) { o.Beta2 = 1 }, "Beta2 1"},
		{func(o *Options) { o.LambdaGP = &neg }, "LambdaGP -1"},
		{func(o *Options) { o.CheckpointEvery = -1 }, "CheckpointEvery -1"},
		{func(o *Options) { o.DataRows = 0 }, "DataRows 0"},
		{func(o *Options) { o.Precision = "float64" }, ""},
		{func(o *Options) { o.Precision = "float16" }, `Precision: "float16": want float32 or float64`},
		{func(o *Options) { o.LambdaGPDecay = true }, ""},
		{func(o *Options) { o.LambdaGPDecay, o.LambdaGP = true, new(float64) }, "LambdaGPDecay and LambdaGP 0: choose one"},
		{func(o *Options) {
			o.LRSchedule, o.LRWarmup, o.ClipGradNorm, o.EMA, o.EnergyAnchor = ScheduleCosine, 10, 1, 0.999, 0.1
		}, ""},
		{func(o *Options) { o.LRSchedule = "linear" }, `LRSchedule "linear"`},
		{func(o *Options) { o.LRSchedule = ScheduleStep }, "needs LRStepEvery"},
		{func(o *Options) { o.LRSchedule, o.LRStepEvery, o.LRGamma = ScheduleStep, 10, 0 }, "LRGamma 0"},
		{func(o *Options) { o.LRSchedule, o.LRFinal = ScheduleCosine, 1.5 }, "LRFinal 1.5"},
		{func(o *Options) { o.LRWarmup = -1 }, "LRWarmup -1"},
		{func(o *Options) { o.ClipGradNorm = math.Inf(1) }, "ClipGradNorm +Inf"},
		{func(o *Options) { o.EMA = 1 }, "EMA 1"},
		{func(o *Options) { o.EnergyAnchor = -0.5 }, "EnergyAnchor -0.5"},
		{func(o *Options) { o.DiffusionSigmas = []float64{0.02, 0.01} }, "DiffusionSigmas [0.02 0.01]: want increasing"},
		{func(o *Options) { o.AnnealFrom, o.AnnealSteps = 0.01, 2000 }, ""},
		{func(o *Options) { o.AnnealFrom = 0.01 }, "AnnealFrom 0.01 needs AnnealSteps"},
		{func(o *Options) { o.AnnealFrom, o.AnnealSteps = 1, 10 }, "AnnealFrom 1"},
		{func(o *Options) { o.AnnealFrom, o.AnnealSteps = math.NaN(), 10 }, "AnnealFrom NaN"},
		{func(o *Options) { o.AnnealSteps = -1 }, "AnnealSteps -1"},
	}
	for _, c := range cases {
		o := DefaultOptions()
		c.edit(&o)
		err := o.Check()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Check() = %v, want nil", err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Check() = %v, want an error containing %q", err, c.want)
		}
	}
}

// TestBadNetworks checks the errors for networks that do not fit the data.
func TestBadNetworks(t *testing.T) {
	cases := []struct {
		edit func(o *Options)
		want string
	}{
		{func(o *Options) { o.Energy = "mlp:3-8-1" }, "Energy mlp:3-8-1 takes rows of 3 values"},
		{func(o *Options) { o.Energy = "mlp:2-8-2" }, "gives 2 values per row"},
		{func(o *Options) { o.Generator = "mlp:2-8-3" }, "Generator mlp:2-8-3 makes rows of 3 values"},
		{func(o *Options) { o.Generator = "missing.onnx" }, "Generator: "},
		{func(o *Options) { o.Energy = "mlp:2-8-1:gelu" }, `Energy: MLP spec "mlp:2-8-1:gelu": unknown activation`},
		{func(o *Options) { o.Data = "toy:spiral" }, `Data: unknown toy data set "spiral"`},
		{func(o *Options) { o.Tau = new(float64); o.Upper = "diffusion" }, `Tau: the upper bound "diffusion" has no hinge`},
		{func(o *Options) { o.LambdaGP = new(float64); o.Upper = "none" }, `LambdaGP: the upper bound "none"`},
		{func(o *Options) { o.LambdaGPDecay = true; o.Upper = "gp0" }, `LambdaGPDecay: the upper bound "gp0" has no decaying λ_GP`},
		{func(o *Options) { o.LambdaGPDecay = true; o.Upper = "diffusion" }, `LambdaGPDecay: the upper bound "diffusion"`},
		{func(o *Options) { o.Energy = "flow:2-2-8" }, "Energy: flow:2-2-8: a flow is an invertible map"},
		{func(o *Options) { o.Lower, o.Encoder = "mi", "flow:2-2-8" }, "Encoder: flow:2-2-8: a flow is an invertible map"},
		{func(o *Options) { o.Generator, o.GeneratorBatchNorm = "flow:2-2-8", true }, "GeneratorBatchNorm: the flow generator flow:2-2-8 takes no BatchNormalization"},
		{func(o *Options) { o.Generator = "flow:3-2-8" }, "Generator flow:3-2-8 makes rows of 3 values"},
		{func(o *Options) { o.Generator = "flow:2-2-8:relu" }, `Generator: flow spec "flow:2-2-8:relu": unknown activation`},
		{func(o *Options) { o.DiffusionSigmas, o.Upper = []float64{0.01}, "gp" }, `DiffusionSigmas: the upper bound "gp" has no noise levels`},
	}
	for _, c := range cases {
		o := tinyOptions(t)
		c.edit(&o)
		_, err := NewTrainer(context.Background(), o, Hooks{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewTrainer: %v, want an error containing %q", err, c.want)
		}
	}
}

// TestBoundCombinations trains briefly with every lower × upper bound of
// package bounds on 25gaussians and checks that every logged value is
// finite and the bracket is ordered. The networks are smooth (softplus),
// so gp and diffusion are bounds (given C); gp0 bounds nothing, and with
// a piecewise-linear generator (or energy, for diffusion) neither do gp
// and diffusion: their
// upper_bound is then empty, not a number.
func TestBoundCombinations(t *testing.T) {
	for _, lower := range []string{"jacobian", "jacobian-exact", "mi"} {
		for _, upper := range []string{"gp", "gp0", "diffusion", "none"} {
			t.Run(lower+"/"+upper, func(t *testing.T) {
				o := tinyOptions(t)
				o.Energy, o.Generator = "mlp:2-16-16-1:softplus", "mlp:2-16-16-2:softplus"
				o.Lower, o.Upper = lower, upper
				o.Steps, o.LogEvery, o.CheckpointEvery = 30, 10, 0
				if lower == "mi" {
					o.Encoder = "mlp:2-16-4:prelu"
				}
				_, res := mustRun(t, o, Hooks{})
				for i, c := range res.Metrics.Names {
					v := res.Metrics.Values[i]
					if math.IsNaN(v) && !(c == metrics.ColUpper || c == metrics.ColKL || c == metrics.ColSMin || c == colImportanceESS || c == colGeneratorMatch) || math.IsInf(v, 0) {
						t.Errorf("%s = %v", c, v)
					}
				}
				lo, up := res.Metrics.Get(metrics.ColLower), res.Metrics.Get(metrics.ColUpper)
				switch upper {
				case "gp", "diffusion":
					if !(up >= lo) {
						t.Errorf("upper bound %v below lower bound %v", up, lo)
					}
				case "gp0":
					if !math.IsNaN(up) {
						t.Errorf("gp0 logs upper bound %v; it bounds nothing", up)
					}
				}
			})
		}
	}
}

// TestKinkedGeneratorNoUpperBound checks that with a PReLU generator,
// whose log|det J| is piecewise constant, training logs no upper bound:
// the gp value would read as one but bounds nothing there.
func TestKinkedGeneratorNoUpperBound(t *testing.T) {
	o := tinyOptions(t) // PReLU networks
	o.Steps, o.LogEvery, o.CheckpointEvery = 10, 10, 0
	_, res := mustRun(t, o, Hooks{})
	if up := res.Metrics.Get(metrics.ColUpper); !math.IsNaN(up) {
		t.Errorf("upper bound %v with a PReLU generator; want none", up)
	}
}

// TestLambdaGPDecay checks that --lambda-gp-decay weighs the penalty by
// bounds.DecayedLambda(t) at iteration t: the first iteration matches a
// run with the constant λ_GP = DecayedLambda(0), later ones do not (the
// hinge is open, τ = 0).
func TestLambdaGPDecay(t *testing.T) {
	run := func(edit func(o *Options)) []string {
		o := tinyOptions(t)
		o.Upper, o.Tau = "gp", new(float64)
		o.Steps, o.LogEvery, o.CheckpointEvery = 3, 1, 0
		edit(&o)
		mustRun(t, o, Hooks{})
		return strings.Split(metricsWithoutWall(t, o.Out), "\n")
	}
	decay := run(func(o *Options) { o.LambdaGPDecay = true })
	l0 := bounds.DecayedLambda(0)
	constant := run(func(o *Options) { o.LambdaGP = &l0 })
	if decay[1] != constant[1] {
		t.Errorf("iteration 1: decaying λ_GP gives\n%s\nconstant λ_GP(0) gives\n%s", decay[1], constant[1])
	}
	if decay[3] == constant[3] {
		t.Errorf("iteration 3: decaying and constant λ_GP give the same metrics\n%s", decay[3])
	}
}

// TestBatchNormGenerator trains a generator with BatchNorm (batch
// statistics) and checks that the exported model carries estimated
// running statistics rather than the initial 0 and 1.
func TestBatchNormGenerator(t *testing.T) {
	o := tinyOptions(t)
	o.GeneratorBatchNorm, o.Steps = true, 10
	tr, _ := mustRun(t, o, fakeHooks())
	stats, err := batchNormStats(tr.gen, 64, 4, data.NewRNG(1, "test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bn0.running_mean", "bn0.running_var", "bn1.running_mean", "bn1.running_var"} {
		v, ok := stats[name]
		if !ok || len(v) != 16 {
			t.Fatalf("%s: %v", name, v)
		}
		init := 0.0
		if strings.HasSuffix(name, "var") {
			init = 1
		}
		if slices.ContainsFunc(v, bad) || !slices.ContainsFunc(v, func(x float64) bool { return math.Abs(x-init) > 1e-3 }) {
			t.Errorf("%s = %v", name, v)
		}
	}
}

// TestPrecision trains the same run on float32 and float64 graphs: the
// parameters stay float64 and agree closely after a few iterations, for
// every bound pair.
func TestPrecision(t *testing.T) {
	for _, pair := range [][2]string{{"jacobian", "gp"}, {"jacobian-exact", "diffusion"}, {"mi", "gp0"}} {
		params := map[string]map[string]Tensor{}
		for _, prec := range []string{"float32", "float64"} {
			o := DefaultOptions()
			o.Energy, o.Generator = "mlp:2-16-16-1", "mlp:2-16-16-2"
			o.Lower, o.Upper, o.Precision = pair[0], pair[1], prec
			if o.Lower == "mi" {
				o.Encoder = "mlp:2-16-4"
			}
			o.DataRows, o.BatchSize, o.Out = 500, 64, t.TempDir()
			o.LREnergy, o.LRGenerator = 1e-3, 1e-3
			tr, err := NewTrainer(context.Background(), o, Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				if err := tr.iterate(); err != nil {
					t.Fatalf("%v %s: %v", pair, prec, err)
				}
			}
			params[prec] = tr.Params()
		}
		differ := false
		for name, p32 := range params["float32"] {
			p64 := params["float64"][name]
			for i, v := range p64.Data {
				differ = differ || p32.Data[i] != v
				if d := math.Abs(p32.Data[i] - v); d > 1e-4*(1+math.Abs(v)) {
					t.Errorf("%v: %s[%d]: float32 %v, float64 %v", pair, name, i, p32.Data[i], v)
					break
				}
			}
		}
		if !differ {
			t.Errorf("%v: float32 and float64 runs are bit-identical: is Precision used?", pair)
		}
	}
}

// TestNewTrainerCancelled checks that NewTrainer stops with the context's
// error, writing nothing, when the context is cancelled: on toy data
// (between its stages) and on a data file (while reading it), and that
// the same options prepare a run under a live context.
func TestNewTrainerCancelled(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rows.csv")
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := range 300 {
		fmt.Fprintf(&b, "%d,%d\n", i%7, i%5)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, data string }{{"toy", "toy:moons"}, {"file", file}} {
		t.Run(c.name, func(t *testing.T) {
			o := tinyOptions(t)
			o.Data = c.data
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := NewTrainer(ctx, o, fakeHooks()); !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled: error %v, want one wrapping context.Canceled", err)
			}
			if _, err := os.Stat(o.Out); !os.IsNotExist(err) {
				t.Errorf("cancelled: Out %s exists (%v)", o.Out, err)
			}
			if _, err := NewTrainer(context.Background(), o, fakeHooks()); err != nil {
				t.Errorf("live context: %v", err)
			}
		})
	}
}
