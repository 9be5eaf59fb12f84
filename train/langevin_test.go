package train

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/testmodel"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// TestNegativesOff checks that without Langevin steps the step size and
// noise scale change nothing: not the run, not its identity (so that
// checkpoints of runs made before the option resume), not its random
// streams.
func TestNegativesOff(t *testing.T) {
	o1, o2 := tinyOptions(t), tinyOptions(t)
	o2.NegativeStepSize, o2.NegativeNoiseScale = 0.3, 0
	tr, _ := mustRun(t, o1, fakeHooks())
	mustRun(t, o2, fakeHooks())
	if m1, m2 := metricsWithoutWall(t, o1.Out), metricsWithoutWall(t, o2.Out); m1 != m2 {
		t.Errorf("metrics differ with unused Langevin settings:\n%s\n---\n%s", m1, m2)
	}
	if id := o2.identity(); strings.Contains(id, "negative-step") || strings.Contains(id, "negative-noise") {
		t.Errorf("identity without Langevin steps names them: %s", id)
	}
	if tr.coop != nil || tr.energyProgram(0).refine != nil || tr.energyProgram(0).neg != nil {
		t.Error("a refiner without Langevin steps")
	}
	if _, ok := tr.randomStates()["langevin"]; ok {
		t.Error("a Langevin random stream without Langevin steps")
	}
}

// TestNegativesCheck lists invalid settings of the cooperative negatives.
func TestNegativesCheck(t *testing.T) {
	cases := []struct {
		steps       int
		eta, noise  float64
		field, what string // what: "" when valid
	}{
		{0, 0, -1, "", ""}, // unused
		{5, 1e-4, 0, "", ""},
		{-1, 1e-4, 1, "NegativeLangevinSteps", "negative"},
		{5, 0, 1, "NegativeStepSize", "positive"},
		{5, math.Inf(1), 1, "NegativeStepSize", "positive"},
		{5, 1e-4, -1, "NegativeNoiseScale", "non-negative"},
		{5, 1e-4, math.NaN(), "NegativeNoiseScale", "non-negative"},
	}
	for _, c := range cases {
		o := tinyOptions(t)
		o.NegativeLangevinSteps, o.NegativeStepSize, o.NegativeNoiseScale = c.steps, c.eta, c.noise
		err := o.Check()
		switch {
		case c.what == "" && err != nil:
			t.Errorf("%+v: %v", c, err)
		case c.what != "" && (err == nil || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), c.what)):
			t.Errorf("%+v: %v, want an error naming %s", c, err, c.field)
		}
	}
}

// TestNegativesLoss checks that with Langevin steps the energy's loss is
// mean E(data) − mean E(x_K) on the refined samples, which differ from
// G(z), while the bounds stay on G(z); and that a run with them resumes
// exactly.
func TestNegativesLoss(t *testing.T) {
	o := tinyOptions(t)
	o.Upper = "none"
	o.NegativeLangevinSteps, o.NegativeStepSize = 5, 1e-3
	tr, p := firstEnergyStep(t, o)
	ed, es, en := p.values["energy_data"], p.values["energy_samples"], p.values["energy_negatives"]
	if got, want := p.lossVal, ed-en; math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
		t.Errorf("energy loss %v, want mean E(data) − mean E(negatives) = %v", got, want)
	}
	if en == es {
		t.Errorf("the negatives' mean energy %v is G(z)'s: no Langevin step taken", en)
	}
	if _, ok := tr.gStages[0].p.scalars["energy_negatives"]; ok {
		t.Error("the generator step sees the negatives")
	}

	full := tinyOptions(t)
	full.NegativeLangevinSteps, full.NegativeStepSize = 3, 1e-3
	whole, _ := mustRun(t, full, fakeHooks())
	part := full
	part.Out = filepath.Join(t.TempDir(), "run")
	stopAt(t, part, 17)
	part.Resume = true
	resumed, _ := mustRun(t, part, fakeHooks())
	sameRun(t, whole, resumed, full.Out, part.Out)
	plain, _ := mustRun(t, tinyOptions(t), fakeHooks())
	name := "energy/" + plain.energy.params[0].Name
	if p1, p2 := plain.Params()[name], whole.Params()[name]; slices.Equal(p1.Data, p2.Data) {
		t.Error("the Langevin steps changed nothing in training")
	}
}

// TestRefinerQuadratic runs the Langevin chains from G(z) = m0 + s0·z on
// the quadratic energy E(x) = ½ Σ ((x_j − μ_j)/σ_j)². The chain is linear
// and Gaussian, so x_K follows testmodel.ULALaw: the samples' mean and
// variance must match it within five standard errors, for a transient and
// a stationary chain; without noise the chain is gradient descent, and
// each sample must be exactly μ + aᴷ(x₀ − μ).
func TestRefinerQuadratic(t *testing.T) {
	mu, sigma := []float64{1, -2}, []float64{0.5, 0.25}
	m0, s0 := []float64{4, 3}, []float64{2, 0.125}
	dir := t.TempDir()
	save := func(name string, m *onnx.ModelProto) string {
		path := filepath.Join(dir, name)
		if err := onnx.Save(path, m); err != nil {
			t.Fatal(err)
		}
		return path
	}
	em := testmodel.Energy{Mu: mu, Sigma: sigma}.Model()
	for i, init := range em.Graph.Initializer {
		if init.GetName() == "half" { // a scalar, which a training tape cannot set
			em.Graph.Initializer[i] = onnx.NewTensorFloat32("half", []int{1}, []float32{0.5})
		}
	}
	energy, err := loadNetwork(bounds.Energy, "energy", "Energy", save("energy.onnx", em), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := loadNetwork(bounds.Generator, "generator", "Generator", save("generator.onnx", testmodel.Generator(m0, s0)), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	const n, d = 4000, 2
	cases := []struct {
		name       string
		eta, noise float64
		steps      int
	}{
		{"stationary", 0.005, 1, 1000},
		{"transient", 0.005, 1, 40},
		{"half-noise", 0.01, 0.5, 500},
		{"gradient-descent", 0.01, 0, 30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Options{NegativeLangevinSteps: c.steps, NegativeStepSize: c.eta, NegativeNoiseScale: c.noise, Seed: 5}
			r, err := newRefiner(o, energy, gen, autodiff.Float64, n, d, d)
			if err != nil {
				t.Fatal(err)
			}
			z := make([]float64, n*d)
			zr := data.NewRNG(7, "test-z")
			for i := range z {
				z[i] = zr.NormFloat64()
			}
			x, err := r.refine(z)
			if err != nil {
				t.Fatal(err)
			}
			for j := range d {
				if c.noise == 0 {
					a := math.Pow(1-c.eta/(2*sigma[j]*sigma[j]), float64(c.steps))
					for i := j; i < len(x); i += d {
						x0 := m0[j] + s0[j]*z[i]
						if want := mu[j] + a*(x0-mu[j]); math.Abs(x[i]-want) > 1e-9 {
							t.Fatalf("sample %d, value %d: %v, want %v", i/d, j, x[i], want)
						}
					}
					continue
				}
				wm, wv := testmodel.ULALaw(mu[j], sigma[j], m0[j], s0[j], c.eta, c.noise, c.steps)
				var m, v float64
				for i := j; i < len(x); i += d {
					m += x[i]
				}
				m /= n
				for i := j; i < len(x); i += d {
					v += (x[i] - m) * (x[i] - m)
				}
				v /= n - 1
				if se := math.Sqrt(wv / n); math.Abs(m-wm) > 5*se {
					t.Errorf("value %d: mean %.4f, want %.4f ± %.4f", j, m, wm, 5*se)
				}
				if se := wv * math.Sqrt(2.0/(n-1)); math.Abs(v-wv) > 5*se {
					t.Errorf("value %d: variance %.5f, want %.5f ± %.5f", j, v, wv, 5*se)
				}
			}
		})
	}
}
