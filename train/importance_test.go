package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/testmodel"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// TestImportanceCheck lists invalid settings of the importance-weighted
// negatives.
func TestImportanceCheck(t *testing.T) {
	cases := []struct {
		alpha       float64
		from, steps int
		langevin    int
		field, what string // what: "" when valid
	}{
		{0, 0, 0, 0, "", ""},
		{0.5, 100, 0, 0, "", ""},
		{1, 0, 0, 0, "", ""},
		{1, 100, 500, 0, "", ""},
		{-0.1, 0, 0, 0, "ImportanceNegatives", "[0, 1]"},
		{1.5, 0, 0, 0, "ImportanceNegatives", "[0, 1]"},
		{math.NaN(), 0, 0, 0, "ImportanceNegatives", "[0, 1]"},
		{1, -1, 0, 0, "ImportanceFrom", "negative"},
		{1, 0, -1, 0, "ImportanceSteps", "negative"},
		{0.5, 0, 100, 0, "", ""},
		{1, 0, 0, 5, "", ""}, // turned off with a notice: TestImportanceInapplicable
	}
	for _, c := range cases {
		o := tinyOptions(t)
		o.ImportanceNegatives, o.ImportanceFrom, o.ImportanceSteps, o.NegativeLangevinSteps = c.alpha, c.from, c.steps, c.langevin
		err := o.Check()
		switch {
		case c.what == "" && err != nil:
			t.Errorf("%+v: %v", c, err)
		case c.what != "" && (err == nil || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), c.what)):
			t.Errorf("%+v: %v, want an error naming %s and %q", c, err, c.field, c.what)
		}
	}
}

// TestImportanceInapplicable checks that importance-weighted negatives,
// and late noise levels with them, are turned off with a notice naming
// the reason where the generator's density is not at hand.
func TestImportanceInapplicable(t *testing.T) {
	cases := []struct {
		name   string
		set    func(o *Options)
		reason string
	}{
		{"BatchNorm", func(o *Options) { o.GeneratorBatchNorm = true }, "BatchNormalization"},
		{"latent width", func(o *Options) { o.Generator = "mlp:3-16-16-2:prelu" }, "dimensions differ (3 and 2)"},
		{"Langevin negatives", func(o *Options) { o.NegativeLangevinSteps = 2 }, "--negative-langevin-steps 2 gives the negatives"},
	}
	for _, c := range cases {
		o := tinyOptions(t)
		o.Upper, o.ImportanceNegatives, o.ImportanceFrom = "diffusion", 1, 5
		o.ImportanceData, o.ImportanceBroad = 0, 0 // the generator's draws
		o.LateSigmas, o.LateFrom = []float64{0.01}, 5
		c.set(&o)
		var notes []string
		tr, err := NewTrainer(t.Context(), o, Hooks{Notice: func(m string) { notes = append(notes, m) }})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		all := strings.Join(notes, "\n")
		if len(tr.eStages) != 1 || !strings.Contains(all, c.reason) || !strings.Contains(all, "late noise levels") {
			t.Errorf("%s: %d stages, notices %q; want one stage and notices naming %q and the late levels", c.name, len(tr.eStages), all, c.reason)
		}
		if _, ok := tr.energyProgram(10).scalars[colImportanceESS]; ok {
			t.Errorf("%s: importance weights computed", c.name)
		}
		// The data draws need no log q: only the Langevin negatives
		// turn them off.
		o.ImportanceData, o.Out = 1, filepath.Join(t.TempDir(), "run")
		notes = nil
		if tr, err = NewTrainer(t.Context(), o, Hooks{Notice: func(m string) { notes = append(notes, m) }}); err != nil {
			t.Fatalf("%s, data draws: %v", c.name, err)
		}
		_, ok := tr.energyProgram(10).scalars[colImportanceESS]
		if off := c.name == "Langevin negatives"; ok == off || (len(notes) > 0) != off {
			t.Errorf("%s, data draws: weights computed %v, notices %q", c.name, ok, notes)
		}
	}
}

// TestImportanceNegatives runs one energy step on the quadratic energy
// E(x) = ½ Σ ((x_j − μ_j)/σ_j)² with the linear generator G(z) = m + s ⊙ z,
// whose law q is a Gaussian off p_θ. The weighted negative phase must
// estimate E_{p_θ}[E] = D/2 = 1 (within five standard errors of the
// self-normalised estimate), where q's own mean energy is far from it; a
// mix α = ½ must sit halfway, and before ImportanceFrom the negative
// phase is q's plain mean.
func TestImportanceNegatives(t *testing.T) {
	mu, sigma := []float64{0.5, -0.25}, []float64{0.5, 0.25}
	m, s := []float64{0.8, -0.1}, []float64{0.8, 0.4}
	ep, gp := quadraticPair(t, mu, sigma, m, s)
	// E under q: ½ Σ ((m_j − μ_j)² + s_j²)/σ_j², 4.78 here.
	var eq float64
	for j := range mu {
		eq += ((m[j]-mu[j])*(m[j]-mu[j]) + s[j]*s[j]) / (2 * sigma[j] * sigma[j])
	}
	var neg [4]float64
	for i, alpha := range []float64{1, 0.5, 1, 1} {
		o := tinyOptions(t)
		o.Energy, o.Generator, o.Upper = ep, gp, "none"
		o.BatchSize, o.ImportanceNegatives, o.ImportanceFrom = 20000, alpha, 0
		o.ImportanceData, o.ImportanceBroad = 0, 0
		if i == 2 {
			o.ImportanceFrom = 1
		}
		if i == 3 { // with as many broad draws, pooled
			o.ImportanceBroad = 1
		}
		_, p := firstEnergyStep(t, o)
		ed, es := p.values["energy_data"], p.values["energy_samples"]
		neg[i] = ed - p.lossVal
		if i == 2 {
			if math.Abs(neg[i]-es) > 1e-9*es {
				t.Errorf("before ImportanceFrom: negative phase %v, want mean E(G(z)) = %v", neg[i], es)
			}
			continue
		}
		if math.Abs(es-eq) > 0.2 {
			t.Fatalf("α = %v: mean E(G(z)) %v, want about %v", alpha, es, eq)
		}
		if alpha == 1 {
			// Var_p[E] = D/2 for a quadratic energy, over the draws'
			// effective size.
			n := o.BatchSize
			if i == 3 {
				n *= 2
				if len(p.noise) != 1 || p.noise[0].Shape()[0] != o.BatchSize {
					t.Fatalf("broad draws: noise inputs %d, want one of %d rows", len(p.noise), o.BatchSize)
				}
			}
			ess, ok := p.values[colImportanceESS]
			if !ok || !(ess > 0) {
				t.Fatalf("case %d: effective sample size %v (computed: %v)", i, ess, ok)
			}
			ess *= float64(n)
			if se := math.Sqrt(0.5 * 2 / ess); math.Abs(neg[i]-1) > 5*se {
				t.Errorf("weighted negative phase %v, want E_p[E] = 1 ± %v (ESS %.0f)", neg[i], 5*se, ess)
			}
			continue
		}
		if want := (es + neg[0]) / 2; math.Abs(neg[i]-want) > 0.1 {
			t.Errorf("α = ½: negative phase %v, want about (mean E(G(z)) + weighted)/2 = %v", neg[i], want)
		}
	}
}

// TestImportanceSteps checks the mix's ramp on the pair of
// TestImportanceNegatives: with ImportanceSteps 4 from iteration 0 and
// ImportanceStart 0 the negative phase is q's plain mean at iteration 0, a
// quarter of the way to the weighted mean E_p[E] = 1 at iteration 1,
// halfway at 2, and the weighted mean from 4 on; from ImportanceStart ½
// it starts halfway.
func TestImportanceSteps(t *testing.T) {
	ep, gp := quadraticPair(t, []float64{0.5, -0.25}, []float64{0.5, 0.25}, []float64{0.8, -0.1}, []float64{0.8, 0.4})
	for _, start := range []float64{0, 0.5} {
		o := tinyOptions(t)
		o.Energy, o.Generator, o.Upper = ep, gp, "none"
		o.BatchSize, o.ImportanceNegatives, o.ImportanceFrom, o.ImportanceSteps, o.ImportanceStart = 20000, 1, 0, 4, start
		o.ImportanceData, o.ImportanceBroad = 0, 0
		tr, err := NewTrainer(context.Background(), o, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []int{0, 1, 2, 4, 9} {
			alpha := start + (1-start)*min(1, float64(step)/4)
			p := tr.energyProgram(step)
			if err := p.run(step, tr.sampler, tr.zRNG, tr.noise); err != nil {
				t.Fatal(err)
			}
			ed, es := p.values["energy_data"], p.values["energy_samples"]
			neg := ed - p.lossVal
			if alpha == 0 {
				if math.Abs(neg-es) > 1e-9*es {
					t.Errorf("iteration %d: negative phase %v, want mean E(G(z)) = %v", step, neg, es)
				}
				continue
			}
			if want := (1-alpha)*es + alpha; math.Abs(neg-want) > 0.1 {
				t.Errorf("start %v, iteration %d: negative phase %v, want about (1 − %v)·mean E(G(z)) + %v·E_p[E] = %v", start, step, neg, alpha, alpha, want)
			}
		}
	}
	for _, start := range []float64{-0.1, 0.6, math.NaN()} {
		o := tinyOptions(t)
		o.ImportanceNegatives, o.ImportanceSteps, o.ImportanceStart = 0.5, 10, start
		if err := o.Check(); err == nil || !strings.Contains(err.Error(), "ImportanceStart") {
			t.Errorf("start %v with α ½: %v, want an error naming ImportanceStart", start, err)
		}
	}
}

// quadraticPair writes the energy ½ Σ ((x_j − μ_j)/σ_j)² and the generator
// m + s ⊙ z as ONNX files and returns their paths.
func quadraticPair(t *testing.T, mu, sigma, m, s []float64) (ep, gp string) {
	t.Helper()
	dir := t.TempDir()
	em := testmodel.Energy{Mu: mu, Sigma: sigma}.Model()
	for i, init := range em.Graph.Initializer {
		if init.GetName() == "half" { // a scalar, which a training tape cannot set
			em.Graph.Initializer[i] = onnx.NewTensorFloat32("half", []int{1}, []float32{0.5})
		}
	}
	ep, gp = filepath.Join(dir, "energy.onnx"), filepath.Join(dir, "generator.onnx")
	if err := onnx.Save(ep, em); err != nil {
		t.Fatal(err)
	}
	if err := onnx.Save(gp, testmodel.Generator(m, s)); err != nil {
		t.Fatal(err)
	}
	return ep, gp
}

// TestImportanceBroad checks the broad draws on a generator that misses
// p_θ: q = N((3, 3), 0.2²) against p_θ = N((0.5, −0.25), (0.5, 0.25)²).
// From q's samples alone the weighted negative phase is far from
// E_{p_θ}[E] = 1; pooled with as many draws from the broad Gaussian
// (twice the data's width) it is within five standard errors of it.
func TestImportanceBroad(t *testing.T) {
	ep, gp := quadraticPair(t, []float64{0.5, -0.25}, []float64{0.5, 0.25}, []float64{3, 3}, []float64{0.2, 0.2})
	for _, broad := range []float64{0, 1} {
		o := tinyOptions(t)
		o.Energy, o.Generator, o.Upper = ep, gp, "none"
		o.BatchSize, o.ImportanceNegatives, o.ImportanceFrom, o.ImportanceBroad = 20000, 1, 0, broad
		o.ImportanceData, o.ImportanceBroadWidth = 0, 0
		_, p := firstEnergyStep(t, o)
		neg := p.values["energy_data"] - p.lossVal
		ess := p.values[colImportanceESS] * float64(o.BatchSize) * (1 + broad)
		se := math.Sqrt(0.5 * 2 / ess)
		switch {
		case broad == 0 && math.Abs(neg-1) < 1:
			t.Errorf("q's samples alone: negative phase %v, want far from E_p[E] = 1", neg)
		case broad > 0 && math.Abs(neg-1) > 5*se:
			t.Errorf("with broad draws: negative phase %v, want E_p[E] = 1 ± %v (ESS %.0f)", neg, 5*se, ess)
		}
	}
}

// TestImportanceData checks the data draws on the generator of
// TestImportanceBroad, which misses p_θ: with draws around the data rows
// (kernels as wide as the data), alone or pooled with broad draws, the
// weighted negative phase is within five standard errors of E_{p_θ}[E] = 1.
func TestImportanceData(t *testing.T) {
	ep, gp := quadraticPair(t, []float64{0.5, -0.25}, []float64{0.5, 0.25}, []float64{3, 3}, []float64{0.2, 0.2})
	for _, broad := range []float64{0, 1} {
		o := tinyOptions(t)
		o.Energy, o.Generator, o.Upper = ep, gp, "none"
		o.BatchSize, o.ImportanceNegatives, o.ImportanceFrom = 2000, 1, 0
		o.ImportanceData, o.ImportanceWidth, o.ImportanceBroad, o.ImportanceBroadWidth = 1, 1, broad, 0
		_, p := firstEnergyStep(t, o)
		neg := p.values["energy_data"] - p.lossVal
		ess := p.values[colImportanceESS] * float64(o.BatchSize) * (1 + broad)
		se := math.Sqrt(0.5 * 2 / ess)
		if math.Abs(neg-1) > 5*se || ess < 100 {
			t.Errorf("broad %v: negative phase %v, want E_p[E] = 1 ± %v (ESS %.0f)", broad, neg, 5*se, ess)
		}
	}
}

// TestKernelLogDensity checks the data draws' law, and its mixture with
// the broad Gaussian, against the densities summed term by term.
func TestKernelLogDensity(t *testing.T) {
	const m, n, D = 5, 7, 3
	r := rand.New(rand.NewPCG(1, 2))
	c, y := make([]float64, m*D), make([]float64, n*D)
	for i := range c {
		c[i] = r.NormFloat64()
	}
	for i := range y {
		y[i] = 2 * r.NormFloat64()
	}
	h, mean, std := []float64{0.3, 0.5, 1.5}, []float64{0.1, -0.2, 0.3}, []float64{2, 1, 3}
	tp := autodiff.NewTape(autodiff.Float64)
	k, g := kernelLaw{centres: tp.Const(c, m, D), h: h}, gaussLaw{mean: mean, std: std}
	lk, lg := k.logDensity(tp, tp.Const(y, n, D)), g.logDensity(tp, tp.Const(y, n, D))
	if err := autodiff.NewMachine(tp).Run(); err != nil {
		t.Fatal(err)
	}
	normal := func(x, mu, s float64) float64 {
		return math.Exp(-0.5*(x-mu)*(x-mu)/(s*s)) / (s * math.Sqrt(2*math.Pi))
	}
	for i := range n {
		wantK, wantG := 0.0, 1.0
		for j := range m {
			v := 1.0
			for d := range D {
				v *= normal(y[i*D+d], c[j*D+d], h[d])
			}
			wantK += v / m
		}
		for d := range D {
			wantG *= normal(y[i*D+d], mean[d], std[d])
		}
		if got := lk.Float64s()[i]; math.Abs(got-math.Log(wantK)) > 1e-9 {
			t.Errorf("row %d: kernel log-density %v, want %v", i, got, math.Log(wantK))
		}
		if got := lg.Float64s()[i]; math.Abs(got-math.Log(wantG)) > 1e-9 {
			t.Errorf("row %d: Gaussian log-density %v, want %v", i, got, math.Log(wantG))
		}
	}
}

// TestImportanceDataDimension checks that data draws are dropped, with a
// notice, for data of more than maxDataDrawFeatures features, the
// weights falling back to the generator's samples without broad draws,
// and the generator's match term, whose target they are, with them.
func TestImportanceDataDimension(t *testing.T) {
	var b strings.Builder
	b.WriteString("a,b,c\n")
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		fmt.Fprintf(&b, "%g,%g,%g\n", r.NormFloat64(), r.NormFloat64(), r.NormFloat64())
	}
	path := filepath.Join(t.TempDir(), "three.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	o := tinyOptions(t)
	o.Data, o.DataRows = path, 0
	o.Energy, o.Generator = "mlp:3-8-1:prelu", "mlp:3-8-3:prelu"
	o.Upper, o.ImportanceNegatives, o.ImportanceFrom = "diffusion", 1, 5
	o.ImportanceData, o.ImportanceBroad, o.ImportanceBroadWidth = 1, 0.25, 8
	o.GeneratorMatch, o.GeneratorMatchKind = 30, MatchNearest
	var notes []string
	tr, err := NewTrainer(t.Context(), o, Hooks{Notice: func(m string) { notes = append(notes, m) }})
	if err != nil {
		t.Fatal(err)
	}
	got := tr.o
	if len(notes) != 2 || !strings.Contains(notes[0], "3 features") || !strings.Contains(notes[1], "--generator-match 30) off") ||
		got.ImportanceData != 0 || got.ImportanceBroad != 0 || got.GeneratorMatch != 0 || got.ImportanceNegatives != 1 {
		t.Errorf("notices %q, options %+v: want data and broad draws and the match term off, the weights on", notes, got)
	}
	// Towards the data rows the match term needs no weights: it stays,
	// and its generator step runs on three features.
	o.GeneratorMatchTarget, o.GeneratorMatchFrom, o.Out = MatchData, 0, filepath.Join(t.TempDir(), "run")
	notes = nil
	if tr, err = NewTrainer(t.Context(), o, Hooks{Notice: func(m string) { notes = append(notes, m) }}); err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || tr.o.GeneratorMatch != 30 {
		t.Errorf("data target: notices %q, match %v; want one notice and the term on", notes, tr.o.GeneratorMatch)
	}
	p := tr.generatorProgram(0)
	if err := p.run(0, tr.sampler, tr.zRNG, tr.noise); err != nil {
		t.Fatal(err)
	}
	if v := p.values[colGeneratorMatch]; !(v > 0) {
		t.Errorf("data target on three features: match term %v, want a positive distance", v)
	}
}
