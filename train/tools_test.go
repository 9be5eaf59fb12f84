package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ebmpipe/ebmpipe/bounds"
)

func TestLRFactor(t *testing.T) {
	cases := []struct {
		name string
		edit func(o *Options)
		t    int
		want float64
	}{
		{"constant", func(o *Options) {}, 500, 1},
		{"constant warm-up start", func(o *Options) { o.LRWarmup = 100 }, 0, 0.01},
		{"constant warm-up middle", func(o *Options) { o.LRWarmup = 100 }, 49, 0.5},
		{"constant after warm-up", func(o *Options) { o.LRWarmup = 100 }, 100, 1},
		{"cosine start", func(o *Options) { o.LRSchedule = ScheduleCosine }, 0, 1},
		{"cosine middle", func(o *Options) { o.LRSchedule = ScheduleCosine }, 500, 0.5},
		{"cosine middle to 0.2", func(o *Options) { o.LRSchedule, o.LRFinal = ScheduleCosine, 0.2 }, 500, 0.6},
		{"cosine quarter", func(o *Options) { o.LRSchedule = ScheduleCosine }, 250, 0.5 * (1 + math.Sqrt2/2)},
		{"cosine end", func(o *Options) { o.LRSchedule, o.LRFinal = ScheduleCosine, 0.1 }, 1000, 0.1},
		{"cosine over 400 then flat", func(o *Options) { o.LRSchedule, o.LRFinal, o.LRDecaySteps = ScheduleCosine, 0.1, 400 }, 900, 0.1},
		{"cosine with warm-up", func(o *Options) { o.LRSchedule, o.LRWarmup = ScheduleCosine, 1000 }, 499, 0.5 * 0.5 * (1 + math.Cos(math.Pi*0.499))},
		{"step before the first drop", func(o *Options) { o.LRSchedule, o.LRStepEvery = ScheduleStep, 300 }, 299, 1},
		{"step after two drops", func(o *Options) { o.LRSchedule, o.LRStepEvery = ScheduleStep, 300 }, 600, 0.25},
		{"step gamma 0.1", func(o *Options) { o.LRSchedule, o.LRStepEvery, o.LRGamma = ScheduleStep, 300, 0.1 }, 999, 1e-3},
	}
	for _, c := range cases {
		o := DefaultOptions()
		o.mustApply(t, RecipePaper) // a constant rate, no warm-up
		o.Steps = 1000
		c.edit(&o)
		if err := o.Check(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := o.lrFactor(c.t); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: lrFactor(%d) = %v, want %v", c.name, c.t, got, c.want)
		}
	}
}

// TestDefaultScheduleHorizon checks that the default schedule decays
// over a fixed horizon: a run of 50 000 iterations follows that of
// 20 000, then stays at the final factor.
func TestDefaultScheduleHorizon(t *testing.T) {
	short, long := DefaultOptions(), DefaultOptions()
	short.Steps, long.Steps = 20000, 50000
	for _, it := range []int{0, 250, 499, 500, 10000, 19999} {
		if a, b := short.lrFactor(it), long.lrFactor(it); a != b {
			t.Errorf("lrFactor(%d): %v with %d steps, %v with %d", it, a, short.Steps, b, long.Steps)
		}
	}
	for _, it := range []int{20000, 35000, 49999} {
		if f := long.lrFactor(it); f != long.LRFinal {
			t.Errorf("lrFactor(%d) = %v after the horizon, want LRFinal %v", it, f, long.LRFinal)
		}
	}
	if f, want := short.lrFactor(0), 1/float64(short.LRWarmup); math.Abs(f-want) > 1e-15 {
		t.Errorf("lrFactor(0) = %v, want 1/LRWarmup = %v", f, want)
	}
}

func TestClipGradNorm(t *testing.T) {
	cases := []struct {
		grads     [][]float64
		max, norm float64
		want      [][]float64
	}{
		{[][]float64{{3}, {4, 0}}, 1, 5, [][]float64{{0.6}, {0.8, 0}}},
		{[][]float64{{3}, {4, 0}}, 10, 5, [][]float64{{3}, {4, 0}}},
		{[][]float64{{3}, {4, 0}}, 0, 5, [][]float64{{3}, {4, 0}}},
		{[][]float64{{0, 0}}, 1, 0, [][]float64{{0, 0}}},
	}
	for _, c := range cases {
		g := cloneTensors(c.grads)
		norm := clipGradNorm(g, c.max)
		if math.Abs(norm-c.norm) > 1e-12 {
			t.Errorf("clipGradNorm(%v, %v) = %v, want %v", c.grads, c.max, norm, c.norm)
		}
		for i := range g {
			for j := range g[i] {
				if math.Abs(g[i][j]-c.want[i][j]) > 1e-12 {
					t.Errorf("clipGradNorm(%v, %v): gradients %v, want %v", c.grads, c.max, g, c.want)
				}
			}
		}
	}
}

// TestEMA checks that the average follows its formula over a run, that
// the exported models hold the average and not the last values, and that
// a run with an average resumes bit for bit.
func TestEMA(t *testing.T) {
	o := tinyOptions(t)
	o.EMA = 0.9
	var want map[string]Tensor
	tr, err := NewTrainer(context.Background(), o, fakeHooks())
	if err != nil {
		t.Fatal(err)
	}
	init := tr.Params()
	b1 := min(0.9, 2.0/11)
	first := true
	tr.hooks.Progress = func(p Progress) {
		cur := tr.Params()
		if first {
			want, first = map[string]Tensor{}, false
			for k, v := range init {
				w := Tensor{Shape: v.Shape, Data: make([]float64, len(v.Data))}
				for j := range v.Data {
					w.Data[j] = b1*v.Data[j] + (1-b1)*cur[k].Data[j]
				}
				want[k] = w
			}
			return
		}
		b := min(0.9, (1+float64(p.Step))/(10+float64(p.Step)))
		for k, v := range cur {
			for j := range v.Data {
				want[k].Data[j] = b*want[k].Data[j] + (1-b)*v.Data[j]
			}
		}
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	last := tr.Params()
	for i, n := range tr.ema.nets {
		for k, p := range n.params {
			w, got := want[n.name+"/"+p.Name].Data, tr.ema.avg[i][k]
			for j := range w {
				if math.Abs(w[j]-got[j]) > 1e-12*(1+math.Abs(w[j])) {
					t.Fatalf("%s/%s[%d]: average %v, want %v", n.name, p.Name, j, got[j], w[j])
				}
			}
			// (A parameter the losses do not move, such as the
			// energy's output bias, keeps its value.)
			key := n.name + "/" + p.Name
			if slices.Equal(got, last[key].Data) && !slices.Equal(init[key].Data, last[key].Data) {
				t.Errorf("%s/%s: the average equals the last values", n.name, p.Name)
			}
		}
	}
	// The export holds the average: a run without it exports other bytes,
	// and exporting again after swapping in the average by hand gives the
	// same bytes.
	got, err := os.ReadFile(filepath.Join(o.Out, EnergyFile))
	if err != nil {
		t.Fatal(err)
	}
	tr.ema.swap()
	dir := t.TempDir()
	saved := tr.ema
	tr.ema = nil
	if _, _, err := tr.Export(dir); err != nil {
		t.Fatal(err)
	}
	tr.ema = saved
	tr.ema.swap()
	byHand, err := os.ReadFile(filepath.Join(dir, EnergyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, byHand) {
		t.Error("the exported energy is not the averaged one")
	}
	if _, _, err := tr.Export(dir); err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, EnergyFile)); !bytes.Equal(got, raw) {
		t.Error("Export changed the parameters: a second export differs")
	}

	// Resuming keeps the average.
	o2 := tinyOptions(t)
	o2.EMA = 0.9
	stopAt(t, o2, 13)
	o2.Resume = true
	tr3, _ := mustRun(t, o2, fakeHooks())
	for i := range tr.ema.avg {
		for k := range tr.ema.avg[i] {
			if !slices.Equal(tr.ema.avg[i][k], tr3.ema.avg[i][k]) {
				t.Fatalf("network %d parameter %d: the resumed run's average differs", i, k)
			}
		}
	}
}

// stopAt runs o with the fake bounds and cancels it after iteration step,
// leaving a checkpoint of that iteration.
func stopAt(t *testing.T, o Options, step int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := fakeHooks()
	h.Progress = func(p Progress) {
		if p.Step == step {
			cancel()
		}
	}
	tr, err := NewTrainer(context.Background(), o, h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
}

// firstEnergyStep runs the energy step of the first iteration of a
// trainer with o and the bounds o names, without updating.
func firstEnergyStep(t *testing.T, o Options) (*Trainer, *program) {
	t.Helper()
	return firstStep(t, o, (*Trainer).energyProgram)
}

// firstStep runs the step that program picks for the first iteration of
// a trainer with o and the bounds o names, without updating.
func firstStep(t *testing.T, o Options, program func(*Trainer, int) *program) (*Trainer, *program) {
	t.Helper()
	tr, err := NewTrainer(context.Background(), o, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	p := program(tr, 0)
	if err := p.run(0, tr.sampler, tr.zRNG, tr.noise); err != nil {
		t.Fatal(err)
	}
	return tr, p
}

// TestEnergyAnchor checks that the anchor adds α·(mean E(data)² + mean
// E(G(z))²) to the energy's loss, alone and on top of an upper bound.
func TestEnergyAnchor(t *testing.T) {
	for _, upper := range []string{"gp", "none"} {
		o := tinyOptions(t)
		o.Upper, o.EnergyAnchor = upper, 0.5
		_, p := firstEnergyStep(t, o)
		ed, es, a := p.values["energy_data"], p.values["energy_samples"], p.values["anchor"]
		if !(a >= ed*ed+es*es) || a == 0 {
			t.Errorf("%s: anchor %v, want at least mean² + mean² = %v", upper, a, ed*ed+es*es)
		}
		if upper == "gp" {
			// τ = 1 and λ_GP·GP is far below it at initialisation:
			// the hinge is closed.
			if gp := p.values["gp"]; 1e-3*gp >= 1 {
				t.Fatalf("gp %v: the hinge is open", gp)
			}
		}
		if got, want := p.lossVal, ed-es+0.5*a; math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
			t.Errorf("%s: energy loss %v, want %v", upper, got, want)
		}
	}
	o := tinyOptions(t)
	tr, err := NewTrainer(context.Background(), o, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.energyProgram(0).scalars["anchor"]; ok {
		t.Error("an anchor without --energy-anchor")
	}
}

// TestExportCheckpoint checks that the models exported from a mid-run
// checkpoint are those a run stopped at that iteration exports, with and
// without the parameter average.
func TestExportCheckpoint(t *testing.T) {
	for _, decay := range []float64{0, 0.9} {
		short, long := tinyOptions(t), tinyOptions(t)
		short.Steps, short.EMA, long.EMA = 20, decay, decay
		mustRun(t, short, fakeHooks())
		mustRun(t, long, fakeHooks())
		dir := t.TempDir()
		ef, gf, step, err := ExportCheckpoint(context.Background(), filepath.Join(long.Out, CheckpointDir, checkpointName(20)), dir, true, fakeHooks())
		if err != nil {
			t.Fatal(err)
		}
		if step != 20 {
			t.Errorf("step %d, want 20", step)
		}
		for _, f := range []struct{ got, want string }{{ef, filepath.Join(short.Out, EnergyFile)}, {gf, filepath.Join(short.Out, GeneratorFile)}} {
			a, err1 := os.ReadFile(f.got)
			b, err2 := os.ReadFile(f.want)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("ema %v: %s differs from %s", decay, f.got, f.want)
			}
		}
		if decay > 0 {
			// Without the average: the last values, other models.
			raw := t.TempDir()
			if _, _, _, err := ExportCheckpoint(context.Background(), filepath.Join(long.Out, CheckpointDir, checkpointName(20)), raw, false, fakeHooks()); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(filepath.Join(raw, EnergyFile))
			b, _ := os.ReadFile(ef)
			if bytes.Equal(a, b) {
				t.Error("the last values export the same energy as the average")
			}
		}
		if _, _, _, err := ExportCheckpoint(context.Background(), filepath.Join(long.Out, "missing.ckpt"), dir, true, fakeHooks()); err == nil {
			t.Error("exporting a missing checkpoint: no error")
		}
	}
}

// TestDiffusionSigmas checks that the noise levels reach the bound, and
// its noise input holds one batch of draws per level.
func TestDiffusionSigmas(t *testing.T) {
	for _, sigmas := range [][]float64{nil, {0.01, 0.02}} {
		o := tinyOptions(t)
		o.Upper, o.DiffusionSigmas = "diffusion", sigmas
		tr, err := NewTrainer(context.Background(), o, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		want := sigmas
		if want == nil {
			want = bounds.DefaultSigmas
		}
		if got := tr.upper.(*bounds.Diffusion).Sigmas; !slices.Equal(got, want) {
			t.Errorf("sigmas %v, want %v", got, want)
		}
		if rows := tr.energyProgram(0).noise[0].Shape()[0]; rows != len(want)*o.BatchSize {
			t.Errorf("sigmas %v: noise of %d rows, want %d", want, rows, len(want)*o.BatchSize)
		}
	}
}
