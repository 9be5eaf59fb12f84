package bounds_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/graphtest"
)

// jacobianAt returns the explicit Jacobian of the rig's generator at the
// latent row z, from the parameter values.
func (rg *rig) jacobianAt(z []float64) *mat.Dense {
	m := rg.m
	ps := rg.params[bounds.Generator]
	j := mat.DenseCopyOf(mat.NewDense(m.D, m.d, graphtest.Values(ps[0])))
	if !m.genMLP {
		return j
	}
	w1 := mat.NewDense(hidden, m.d, graphtest.Values(ps[2]))
	b1 := graphtest.Values(ps[3])
	w2 := mat.NewDense(m.D, hidden, graphtest.Values(ps[4]))
	// J = A + W2 diag(1 − h²) W1, h = tanh(W1 z + b1)
	dh := mat.NewDense(hidden, m.d, nil)
	for i := 0; i < hidden; i++ {
		a := b1[i]
		for k := 0; k < m.d; k++ {
			a += w1.At(i, k) * z[k]
		}
		h := math.Tanh(a)
		for k := 0; k < m.d; k++ {
			dh.Set(i, k, (1-h*h)*w1.At(i, k))
		}
	}
	var wd mat.Dense
	wd.Mul(w2, dh)
	j.Add(j, &wd)
	return j
}

func TestSminMatchesSVD(t *testing.T) {
	cases := []struct {
		name   string
		D, d   int
		mlp    bool
		iters  int
		relTol float64
	}{
		{"linear-2x2-default", 2, 2, false, bounds.DefaultIterations, 1e-9},
		{"mlp-2x2-1iter", 2, 2, true, 1, 1e-9},
		{"mlp-3x2-default", 3, 2, true, bounds.DefaultIterations, 1e-9},
		{"linear-8x8", 8, 8, false, 40, 1e-7},
		{"mlp-8x8", 8, 8, true, 40, 1e-7},
		{"linear-16x4", 16, 4, false, 25, 1e-7},
		{"mlp-16x4", 16, 4, true, 25, 1e-7},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newGaussModel(uint64(10+i), c.D, c.d)
			m.genMLP = c.mlp
			const rows = 6
			rg := newRig(m, 1, rows)
			rr := &bounds.JacobianEntropy{Iterations: c.iters, Weight: 1}
			ex := &bounds.JacobianEntropy{Exact: true, Weight: 1}
			er, err := rr.Entropy(rg.nets, bounds.Batch{Z: rg.z})
			if err != nil {
				t.Fatal(err)
			}
			ee, err := ex.Entropy(rg.nets, bounds.Batch{Z: rg.z})
			if err != nil {
				t.Fatal(err)
			}
			rg.compile(t, er, ee)
			rg.draw(1)
			rg.run(t)
			hz := float64(c.d) / 2 * math.Log(2*math.Pi*math.E)
			z := graphtest.Values(rg.z)
			sr, se := graphtest.Values(er.Samples), graphtest.Values(ee.Samples)
			for r := 0; r < rows; r++ {
				s := singular(rg.jacobianAt(z[r*c.d : (r+1)*c.d]))
				smin, half := s[len(s)-1], 0.0
				for _, v := range s {
					half += math.Log(v)
				}
				got := math.Exp((sr[r] - hz) / float64(c.d))
				if math.Abs(got-smin) > c.relTol*smin {
					t.Errorf("row %d: Rayleigh–Ritz s_min %.12g, SVD %.12g", r, got, smin)
				}
				if math.Abs(se[r]-hz-half) > 1e-9*(1+math.Abs(half)) {
					t.Errorf("row %d: exact ½ log det %.12g, SVD %.12g", r, se[r]-hz, half)
				}
				if sr[r] > se[r]+1e-9 {
					t.Errorf("row %d: d·log s_min %.12g exceeds ½ log det %.12g", r, sr[r]-hz, se[r]-hz)
				}
			}
		})
	}
}

// TestRitzMonotone checks that the Ritz estimate of s_min never increases
// with the iterations, stays above the true s_min, and gets there.
func TestRitzMonotone(t *testing.T) {
	m := newGaussModel(3, 8, 8)
	m.genMLP = true
	const rows = 4
	iters := []int{1, 2, 3, 5, 8, 13, 21, 34}
	rg := newRig(m, 1, rows)
	var es []bounds.Estimate
	for _, k := range iters {
		e, err := (&bounds.JacobianEntropy{Iterations: k, Weight: 1}).Entropy(rg.nets, bounds.Batch{Z: rg.z})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	rg.compile(t, es...)
	rg.draw(2)
	v0 := randDense(newRand(8), 1, rows, m.d)
	for _, nz := range rg.noise {
		must(autodiff.Let(nz, v0)) // the same start for every iteration count
	}
	rg.run(t)
	z := graphtest.Values(rg.z)
	for r := 0; r < rows; r++ {
		smin := sminOf(rg.jacobianAt(z[r*m.d : (r+1)*m.d]))
		prev := math.Inf(1)
		for k, e := range es {
			s := math.Exp((graphtest.Values(e.Samples)[r]/float64(m.d) - 0.5*math.Log(2*math.Pi*math.E)))
			if s > prev*(1+1e-10) {
				t.Errorf("row %d: s_min estimate rose from %.12g to %.12g at %d iterations", r, prev, s, iters[k])
			}
			if s < smin*(1-1e-9) {
				t.Errorf("row %d, %d iterations: estimate %.12g below the true s_min %.12g", r, iters[k], s, smin)
			}
			prev = s
		}
		if math.Abs(prev-smin) > 1e-7*smin {
			t.Errorf("row %d: %d iterations give %.12g, SVD %.12g", r, iters[len(iters)-1], prev, smin)
		}
	}
}

// batchSizes are the batch sizes of the convergence checks.
func batchSizes() []int {
	if *long {
		return []int{1000, 10000, 100000}
	}
	return []int{300, 2400}
}

// checkConvergence checks that the estimates (mean, SE) at growing batch
// sizes agree with want within 4 standard errors, and that the standard
// errors shrink like 1/√m.
func checkConvergence(t *testing.T, what string, sizes []int, means, ses []float64, want float64) {
	t.Helper()
	for i := range sizes {
		if math.Abs(means[i]-want) > 4*ses[i]+1e-8*(1+math.Abs(want)) {
			t.Errorf("%s, batch %d: estimate %.6g ± %.3g, closed form %.6g", what, sizes[i], means[i], ses[i], want)
		}
	}
	for i := 1; i < len(sizes); i++ {
		if ses[i-1] < 1e-10*(1+math.Abs(want)) {
			continue // deterministic estimator
		}
		ratio := ses[i] / ses[i-1] * math.Sqrt(float64(sizes[i])/float64(sizes[i-1]))
		if ratio < 0.6 || ratio > 1.6 {
			t.Errorf("%s: standard error %.3g at batch %d, %.3g at %d: not shrinking like 1/√m", what, ses[i-1], sizes[i-1], ses[i], sizes[i])
		}
	}
}

func TestLowerBoundsAnalytic(t *testing.T) {
	type lowerCase struct {
		name  string
		lower bounds.Lower
		want  func(m *gaussModel) float64 // expectation of Value
		truth func(m *gaussModel) float64 // the entropy it bounds
		tight bool                        // want == truth
		prep  func(m *gaussModel)
	}
	const sigma = 0.3
	miTruth := func(m *gaussModel) float64 { return m.entropyQSigma(sigma) }
	cases := []lowerCase{
		{name: "jacobian-exact", lower: bounds.NewJacobianEntropy(true), want: (*gaussModel).entropyQ, truth: (*gaussModel).entropyQ, tight: true},
		{name: "jacobian-converged", lower: &bounds.JacobianEntropy{Iterations: 40, Weight: 1},
			want: func(m *gaussModel) float64 {
				return float64(m.d) * (0.5*math.Log(2*math.Pi*math.E) + math.Log(sminOf(m.A)))
			}, truth: (*gaussModel).entropyQ},
		{name: "mi", lower: &bounds.MutualInformationEntropy{Sigma: sigma, Weight: 1},
			want: func(m *gaussModel) float64 { return m.miEstimator(sigma) }, truth: miTruth},
		{name: "mi-optimal-encoder", lower: &bounds.MutualInformationEntropy{Sigma: sigma, Weight: 1},
			want: func(m *gaussModel) float64 { return m.miEstimator(sigma) }, truth: miTruth, tight: true,
			prep: func(m *gaussModel) {
				// AᵀA diagonal makes the exact posterior diagonal.
				q := graphtest.RandOrtho(newRand(7), m.D)
				for j := 0; j < m.d; j++ {
					for i := 0; i < m.D; i++ {
						m.A.Set(i, j, q.At(i, j)*(0.5+0.2*float64(j)))
					}
				}
				m.optimalEncoder(sigma)
			}},
	}
	for _, dims := range [][2]int{{2, 2}, {8, 8}} {
		for ci, c := range cases {
			name := c.name + "-" + string(rune('0'+dims[0]))
			t.Run(name, func(t *testing.T) {
				m := newGaussModel(uint64(100+ci+dims[0]), dims[0], dims[1])
				if c.prep != nil {
					c.prep(m)
				}
				want, truth := c.want(m), c.truth(m)
				if c.tight && math.Abs(want-truth) > 1e-9*(1+math.Abs(truth)) {
					t.Fatalf("closed forms: estimator %.12g, entropy %.12g: want equal", want, truth)
				}
				nll := m.nll()
				sizes := batchSizes()
				var means, ses []float64
				for k, size := range sizes {
					rg := newRig(m, size, size)
					e, err := c.lower.Entropy(rg.nets, bounds.Batch{Data: rg.data, Z: rg.z})
					if err != nil {
						t.Fatal(err)
					}
					eData, _ := rg.nets.Energy(rg.data)
					eX, _ := rg.nets.Energy(e.X)
					rg.compile(t, e)
					rg.draw(uint64(1000 + k))
					rg.run(t)
					mean, se := meanSE(graphtest.Values(e.Samples))
					if math.Abs(mean-graphtest.Scalar(e.Value)) > 1e-9*(1+math.Abs(mean)) {
						t.Fatalf("Value %.12g is not the mean of Samples %.12g", graphtest.Scalar(e.Value), mean)
					}
					means, ses = append(means, mean), append(ses, se)
					// L_low = E_data[E] − E_q[E − h] ≤ NLL within 3 standard errors.
					ed, sed := meanSE(graphtest.Values(eData))
					gap := graphtest.Values(eX)
					for i, s := range graphtest.Values(e.Samples) {
						gap[i] -= s
					}
					eq, seq := meanSE(gap)
					low := ed - eq
					if se3 := 3 * math.Hypot(sed, seq); low > nll+se3 {
						t.Errorf("batch %d: L_low %.6g > NLL %.6g + 3 SE (%.3g)", size, low, nll, se3)
					}
				}
				checkConvergence(t, "entropy estimate", sizes, means, ses, want)
				t.Logf("entropy %.4g, estimator: closed form %.4g, estimate %.4g ± %.2g", truth, want, means[len(means)-1], ses[len(ses)-1])
				if want > truth+1e-9*(1+math.Abs(truth)) {
					t.Errorf("closed forms: the estimator's mean %.12g exceeds the entropy %.12g", want, truth)
				}
			})
		}
	}
}

func TestUpperBoundsAnalytic(t *testing.T) {
	type upperCase struct {
		name  string
		upper func(m *gaussModel) bounds.Upper
		want  func(m *gaussModel) float64
	}
	cases := []upperCase{
		{"gp-exact", func(m *gaussModel) bounds.Upper {
			return &bounds.GradientPenalty{Lambda: 1e-3, Tau: 1, LSI: m.lsi(), Jacobian: bounds.JacobianEntropy{Exact: true}}
		}, func(m *gaussModel) float64 { return m.gpValue(m.lsi()) }},
		{"gp-ritz", func(m *gaussModel) bounds.Upper {
			return &bounds.GradientPenalty{Lambda: 1e-3, Tau: 1, LSI: m.lsi(), Jacobian: bounds.JacobianEntropy{Iterations: 40}}
		}, func(m *gaussModel) float64 { return m.gpValue(m.lsi()) }},
		{"diffusion", func(m *gaussModel) bounds.Upper {
			df := bounds.NewDiffusion()
			df.LSI = m.lsi()
			df.Jacobian = bounds.JacobianEntropy{Exact: true}
			return df
		}, func(m *gaussModel) float64 { return m.diffusionValue(m.lsi(), bounds.DefaultSigmas[0]) }},
	}
	for _, dims := range [][2]int{{2, 2}, {8, 8}} {
		for ci, c := range cases {
			t.Run(c.name+"-"+string(rune('0'+dims[0])), func(t *testing.T) {
				m := newGaussModel(uint64(200+ci+dims[0]), dims[0], dims[1])
				want, kl := c.want(m), m.kl(0)
				if want < kl {
					t.Errorf("closed forms: bound %.6g below KL %.6g", want, kl)
				}
				nll := m.nll()
				sizes := batchSizes()
				var means, ses []float64
				for k, size := range sizes {
					rg := newRig(m, size, size)
					b := bounds.Batch{Data: rg.data, Z: rg.z}
					up, err := c.upper(m).KL(rg.nets, b)
					if err != nil {
						t.Fatal(err)
					}
					low, err := bounds.NewJacobianEntropy(true).Entropy(rg.nets, b)
					if err != nil {
						t.Fatal(err)
					}
					if up.Surrogate {
						t.Fatal("a bound is marked Surrogate")
					}
					eData, _ := rg.nets.Energy(rg.data)
					eX, _ := rg.nets.Energy(low.X)
					rg.compile(t, up, low)
					rg.draw(uint64(2000 + k))
					rg.run(t)
					mean, se := meanSE(graphtest.Values(up.Samples))
					means, ses = append(means, mean), append(ses, se)
					// L_up = E_data[E] − E_q[E − h] + U ≥ NLL within 3 SE.
					ed, sed := meanSE(graphtest.Values(eData))
					terms := graphtest.Values(eX)
					for i, s := range graphtest.Values(low.Samples) {
						terms[i] -= s + graphtest.Values(up.Samples)[i]
					}
					eq, seq := meanSE(terms)
					lup := ed - eq
					if se3 := 3 * math.Hypot(sed, seq); lup < nll-se3 {
						t.Errorf("batch %d: L_up %.6g < NLL %.6g − 3 SE (%.3g)", size, lup, nll, se3)
					}
				}
				checkConvergence(t, "KL bound", sizes, means, ses, want)
				t.Logf("KL %.4g, bound: closed form %.4g, estimate %.4g ± %.2g", kl, want, means[len(means)-1], ses[len(ses)-1])
			})
		}
	}
}

func TestZeroCentredGP(t *testing.T) {
	m := newGaussModel(5, 3, 3)
	rg := newRig(m, 20000, 1)
	e, err := bounds.NewGradientPenalty(true).KL(rg.nets, bounds.Batch{Data: rg.data, Z: rg.z})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Surrogate {
		t.Error("gp0 is not marked Surrogate")
	}
	rg.compile(t, e)
	rg.draw(3)
	rg.run(t)
	// E‖P(x − μ)‖² = tr(P S P) + ‖P(μd − μ)‖²
	p := m.precision()
	var psp mat.Dense
	psp.Product(p, m.dataCov(), p)
	dv := make([]float64, m.D)
	for i := range dv {
		dv[i] = m.muD[i] - m.mu[i]
	}
	var pd mat.VecDense
	pd.MulVec(p, mat.NewVecDense(m.D, dv))
	want := mat.Trace(&psp) + mat.Dot(&pd, &pd)
	mean, se := meanSE(graphtest.Values(e.Samples))
	if math.Abs(mean-want) > 4*se {
		t.Errorf("E‖∇E‖² estimate %.6g ± %.3g, closed form %.6g", mean, se, want)
	}
	if got := graphtest.Scalar(e.Loss); math.Abs(got-bounds.DefaultGP0Lambda*mean) > 1e-9*(1+got) {
		t.Errorf("loss %.9g, want λ·value %.9g", got, bounds.DefaultGP0Lambda*mean)
	}
}

// TestGradientPenaltyDecay checks that a decaying gp takes its weight from
// Estimate.Weight: Loss = max(0, w·GP − τ) for the w set before the run.
func TestGradientPenaltyDecay(t *testing.T) {
	if got := bounds.DecayedLambda(0); math.Abs(got-0.0099) > 1e-4 {
		t.Errorf("DecayedLambda(0) = %.5g, want about 0.0099 (the public code's first weight)", got)
	}
	if a, b := bounds.DecayedLambda(1000), bounds.DecayedLambda(20000); !(a > b && b > 0.0028 && b < 0.003) {
		t.Errorf("DecayedLambda(1000), (20000) = %.4g, %.4g: want decreasing to about 0.0029", a, b)
	}
	m := newGaussModel(7, 2, 2)
	rg := newRig(m, 4, 64)
	gp := bounds.NewGradientPenalty(false)
	gp.Decay, gp.Tau = true, 0.05
	e, err := gp.KL(rg.nets, bounds.Batch{Data: rg.data, Z: rg.z})
	if err != nil {
		t.Fatal(err)
	}
	if e.Weight == nil || e.WeightAt == nil {
		t.Fatal("a decaying gp returns no Weight input or no WeightAt schedule")
	}
	if got, want := e.WeightAt(100), bounds.DecayedLambda(100); got != want {
		t.Errorf("WeightAt(100) = %g, want DecayedLambda(100) = %g", got, want)
	}
	rg.compile(t, e)
	rg.draw(5)
	for _, w := range []float64{0, 0.01, 0.3, 2} {
		must(autodiff.Let(e.Weight, autodiff.Scalar(e.Weight.Dtype(), w)))
		rg.run(t)
		pen := graphtest.Scalar(e.Extra["gp"])
		want := math.Max(0, w*pen-gp.Tau)
		if got := graphtest.Scalar(e.Loss); math.Abs(got-want) > 1e-12*(1+want) {
			t.Errorf("weight %g: loss %.12g, want max(0, %g·%.6g − %g) = %.12g", w, got, w, pen, gp.Tau, want)
		}
		if w == 2 && want == 0 {
			t.Error("the largest weight leaves the hinge closed: the check proves nothing")
		}
	}
	gp0 := bounds.NewGradientPenalty(true)
	gp0.Decay = true
	if _, err := gp0.KL(rg.nets, bounds.Batch{Data: rg.data, Z: rg.z}); err == nil {
		t.Error("gp0 with Decay: no error")
	}
}

// gradCase is a loss whose parameter gradients are checked against
// central differences.
type gradCase struct {
	name       string
	D, d       int
	energyMLP  bool
	genMLP     bool
	lower      bounds.Lower
	upper      bounds.Upper
	wantTrains []bounds.Role
}

func TestGradients(t *testing.T) {
	gp := &bounds.GradientPenalty{Lambda: 0.7, Tau: 0, LSI: 1, Jacobian: bounds.JacobianEntropy{Exact: true}}
	gpRitz := &bounds.GradientPenalty{Lambda: 0.7, Tau: 0, LSI: 1, Jacobian: *bounds.NewJacobianEntropy(false)}
	diff := &bounds.Diffusion{Sigmas: []float64{0.1, 0.3}, Lambda: 1, LSI: 1, Jacobian: bounds.JacobianEntropy{Exact: true}}
	cases := []gradCase{
		{name: "jacobian-exact-linear", D: 2, d: 2, lower: bounds.NewJacobianEntropy(true), wantTrains: []bounds.Role{bounds.Generator}},
		{name: "jacobian-exact-mlp", D: 3, d: 2, genMLP: true, lower: bounds.NewJacobianEntropy(true), wantTrains: []bounds.Role{bounds.Generator}},
		{name: "jacobian-ritz-mlp", D: 3, d: 2, genMLP: true, lower: bounds.NewJacobianEntropy(false), wantTrains: []bounds.Role{bounds.Generator}},
		{name: "jacobian-ritz-mlp-4x4", D: 4, d: 4, genMLP: true, lower: &bounds.JacobianEntropy{Iterations: 30, Weight: 0.5}, wantTrains: []bounds.Role{bounds.Generator}},
		{name: "mi-mlp", D: 2, d: 2, genMLP: true, lower: bounds.NewMutualInformationEntropy(), wantTrains: []bounds.Role{bounds.Generator, bounds.Encoder}},
		{name: "gp-exact-mlp", D: 2, d: 2, energyMLP: true, genMLP: true, upper: gp, wantTrains: []bounds.Role{bounds.Energy}},
		{name: "gp-ritz-quadratic", D: 3, d: 3, upper: gpRitz, wantTrains: []bounds.Role{bounds.Energy}},
		{name: "gp0-mlp", D: 2, d: 2, energyMLP: true, upper: bounds.NewGradientPenalty(true), wantTrains: []bounds.Role{bounds.Energy}},
		{name: "diffusion-mlp", D: 2, d: 2, energyMLP: true, genMLP: true, upper: diff, wantTrains: []bounds.Role{bounds.Energy}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newGaussModel(uint64(300+i), c.D, c.d)
			m.energyMLP, m.genMLP = c.energyMLP, c.genMLP
			rg := newRig(m, 4, 4)
			b := bounds.Batch{Data: rg.data, Z: rg.z}
			var e bounds.Estimate
			var err error
			if c.lower != nil {
				e, err = c.lower.Entropy(rg.nets, b)
			} else {
				e, err = c.upper.KL(rg.nets, b)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Trains) != len(c.wantTrains) {
				t.Fatalf("Trains %v, want %v", e.Trains, c.wantTrains)
			}
			var params []*autodiff.Node
			for k, r := range e.Trains {
				if r != c.wantTrains[k] {
					t.Fatalf("Trains %v, want %v", e.Trains, c.wantTrains)
				}
				params = append(params, rg.params[r]...)
			}
			grads, err := rg.t.ParamGrads(e.Loss, params...)
			if err != nil {
				t.Fatal(err)
			}
			rg.compile(t, e)
			rg.draw(4)
			rg.run(t)
			loss := graphtest.Scalar(e.Loss)
			if loss == 0 {
				t.Fatal("loss is zero: the check would prove nothing")
			}
			analytic := make([][]float64, len(grads))
			for k, g := range grads {
				analytic[k] = graphtest.Values(g)
			}
			for k, p := range params {
				d := p.Float64s()
				for j := range d {
					const h = 1e-5
					old := d[j]
					d[j] = old + h
					rg.run(t)
					fp := graphtest.Scalar(e.Loss)
					d[j] = old - h
					rg.run(t)
					fm := graphtest.Scalar(e.Loss)
					d[j] = old
					num := (fp - fm) / (2 * h)
					if math.Abs(num-analytic[k][j]) > 1e-5*(1+math.Abs(num)) {
						t.Errorf("∂loss/∂%s[%d]: analytic %.10g, finite difference %.10g", p.Name(), j, analytic[k][j], num)
					}
				}
			}
		})
	}
}

func TestByName(t *testing.T) {
	for _, n := range bounds.LowerNames() {
		l, err := bounds.LowerByName(n)
		if err != nil || l == nil || l.Name() != n {
			t.Errorf("LowerByName(%q) = %v, %v", n, l, err)
		}
	}
	for _, n := range bounds.UpperNames() {
		u, err := bounds.UpperByName(n)
		if err != nil {
			t.Errorf("UpperByName(%q): %v", n, err)
			continue
		}
		if n == "none" {
			if u != nil {
				t.Errorf("UpperByName(none) = %v, want nil", u)
			}
			continue
		}
		if u == nil || u.Name() != n {
			t.Errorf("UpperByName(%q) = %v", n, u)
		}
	}
	if _, err := bounds.LowerByName("bogus"); err == nil || !strings.Contains(err.Error(), "jacobian") {
		t.Errorf("LowerByName(bogus): %v", err)
	}
	if _, err := bounds.UpperByName("bogus"); err == nil {
		t.Error("UpperByName(bogus) succeeded")
	}
}

func TestBadInput(t *testing.T) {
	type mod func(rg *rig, b *bounds.Batch)
	wrongZ := func(rg *rig, b *bounds.Batch) { b.Z = rg.t.Input("z3", 4, rg.m.d+1) }
	noEnergy := func(rg *rig, b *bounds.Batch) { rg.nets.Energy = nil }
	noEncoder := func(rg *rig, b *bounds.Batch) { rg.nets.Encoder = nil }
	noTape := func(rg *rig, b *bounds.Batch) { rg.nets.Tape = nil }
	badGen := func(rg *rig, b *bounds.Batch) {
		rg.nets.Generator = func(z *autodiff.Node) (*autodiff.Node, error) { return rg.t.Full(0, 4, rg.m.D+1), nil }
	}
	failGen := func(rg *rig, b *bounds.Batch) {
		rg.nets.Generator = func(z *autodiff.Node) (*autodiff.Node, error) { return nil, errors.New("boom") }
	}
	badEnergy := func(rg *rig, b *bounds.Batch) {
		rg.nets.Energy = func(x *autodiff.Node) (*autodiff.Node, error) { return rg.t.Full(0, x.Shape()[0], 2), nil }
	}
	badEncoder := func(rg *rig, b *bounds.Batch) {
		rg.nets.Encoder = func(x *autodiff.Node) (*autodiff.Node, error) { return rg.t.Full(0, x.Shape()[0], rg.m.d), nil }
	}
	noData := func(rg *rig, b *bounds.Batch) { b.Data = nil }
	cases := []struct {
		name  string
		lower bounds.Lower
		upper bounds.Upper
		mod   mod
	}{
		{"jacobian-wrong-z", bounds.NewJacobianEntropy(false), nil, wrongZ},
		{"jacobian-no-tape", bounds.NewJacobianEntropy(true), nil, noTape},
		{"jacobian-generator-shape", bounds.NewJacobianEntropy(true), nil, badGen},
		{"jacobian-generator-error", bounds.NewJacobianEntropy(false), nil, failGen},
		{"jacobian-zero-iterations", &bounds.JacobianEntropy{}, nil, nil},
		{"mi-no-encoder", bounds.NewMutualInformationEntropy(), nil, noEncoder},
		{"mi-encoder-shape", bounds.NewMutualInformationEntropy(), nil, badEncoder},
		{"mi-zero-sigma", &bounds.MutualInformationEntropy{}, nil, nil},
		{"gp-no-energy", nil, bounds.NewGradientPenalty(false), noEnergy},
		{"gp-energy-shape", nil, bounds.NewGradientPenalty(false), badEnergy},
		{"gp-zero-lsi", nil, &bounds.GradientPenalty{Jacobian: *bounds.NewJacobianEntropy(false)}, nil},
		{"gp0-no-data", nil, bounds.NewGradientPenalty(true), noData},
		{"gp0-energy-shape", nil, bounds.NewGradientPenalty(true), badEnergy},
		{"diffusion-unsorted", nil, &bounds.Diffusion{Sigmas: []float64{0.1, 0.05}, LSI: 1, Jacobian: *bounds.NewJacobianEntropy(false)}, nil},
		{"diffusion-no-levels", nil, &bounds.Diffusion{LSI: 1, Jacobian: *bounds.NewJacobianEntropy(false)}, nil},
		{"diffusion-wrong-z", nil, bounds.NewDiffusion(), wrongZ},
		{"diffusion-energy-shape", nil, bounds.NewDiffusion(), badEnergy},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rg := newRig(newGaussModel(1, 2, 2), 4, 4)
			b := bounds.Batch{Data: rg.data, Z: rg.z}
			if c.mod != nil {
				c.mod(rg, &b)
			}
			var err error
			if c.lower != nil {
				_, err = c.lower.Entropy(rg.nets, b)
			} else {
				_, err = c.upper.KL(rg.nets, b)
			}
			if err == nil {
				t.Fatal("no error")
			}
			name := ""
			if c.lower != nil {
				name = c.lower.Name()
			} else {
				name = c.upper.Name()
			}
			if !strings.HasPrefix(err.Error(), name) {
				t.Errorf("error %q does not name the bound %q", err, name)
			}
		})
	}
}

// TestFloat32 builds and runs the bounds on a float32 tape.
func TestFloat32(t *testing.T) {
	tp := autodiff.NewTape(autodiff.Float32)
	a := tp.Variable("A", autodiff.NewTensor([]int{2, 2}, []float32{2, 0.5, 0, 1}))
	z := tp.Input("z", 3, 2)
	nets := bounds.Nets{Tape: tp, DataDim: 2, LatentDim: 2,
		Generator: func(z *autodiff.Node) (*autodiff.Node, error) { return tp.MatMul(z, a, false, true), tp.Err() },
		Energy: func(x *autodiff.Node) (*autodiff.Node, error) {
			return tp.Scale(tp.SumAxes(tp.Square(x), []int{1}, false), 0.5), tp.Err()
		},
	}
	low, err := bounds.NewJacobianEntropy(false).Entropy(nets, bounds.Batch{Z: z})
	if err != nil {
		t.Fatal(err)
	}
	up, err := bounds.NewGradientPenalty(false).KL(nets, bounds.Batch{Z: z})
	if err != nil {
		t.Fatal(err)
	}
	must(autodiff.Let(z, autodiff.NewTensor([]int{3, 2}, []float32{1, 0, 0, 1, 1, 1})))
	for _, nz := range append(low.Noise, up.Noise...) {
		must(autodiff.Let(nz, autodiff.NewTensor(nz.Shape(), []float32{1, 0.3, -0.2, 1, 0.5, 0.5})))
	}
	vm := autodiff.NewMachine(tp)
	if err := vm.Run(); err != nil {
		t.Fatal(err)
	}
	// s_min(A) for A = [[2, .5], [0, 1]]
	s := sminOf(mat.NewDense(2, 2, []float64{2, 0.5, 0, 1}))
	var got float64
	if v := low.Value.Float32s(); len(v) > 0 {
		got = float64(v[0])
	}
	want := math.Log(2*math.Pi*math.E) + 2*math.Log(s)
	if math.Abs(got-want) > 1e-4 {
		t.Errorf("float32 entropy %.6g, want %.6g", got, want)
	}
}
