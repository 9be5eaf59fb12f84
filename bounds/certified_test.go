package bounds_test

import (
	"math"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/bounds"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// TestParetoK fits the tail of generalised Pareto samples of known shape.
func TestParetoK(t *testing.T) {
	r := newRand(12)
	for _, k := range []float64{0.1, 0.4, 0.7, 1.2} {
		logY := make([]float64, 20000)
		for i := range logY {
			u := r.Float64()
			logY[i] = math.Log((math.Pow(u, -k) - 1) / k) // GPD(k, σ = 1)
		}
		if got := bounds.ParetoK(logY); math.Abs(got-k) > 0.1 {
			t.Errorf("shape %g: k̂ = %.3f", k, got)
		}
	}
	flat := make([]float64, 1000)
	if got := bounds.ParetoK(flat); !math.IsInf(got, -1) {
		t.Errorf("constant values: k̂ = %g, want −Inf", got)
	}
	if got := bounds.ParetoK(flat[:20]); !math.IsNaN(got) {
		t.Errorf("20 values: k̂ = %g, want NaN", got)
	}
}

// TestBananaQuadrature checks the banana's closed forms of log Z and
// KL(q ‖ p) against quadrature on a fine grid.
func TestBananaQuadrature(t *testing.T) {
	for _, bn := range []banana{{1, 1, 0}, {1.3, 1, 0}, {1, 1.1, 0}, {0.8, 0.95, -0.1}} {
		logZ, kl := bn.quadrature(0.02)
		if math.Abs(logZ-bn.logZ()) > 1e-6 || math.Abs(kl-bn.kl()) > 1e-6 {
			t.Errorf("%+v: quadrature log Z %.8f, KL %.8f; closed forms %.8f, %.8f", bn, logZ, kl, bn.logZ(), bn.kl())
		}
	}
}

// TestExpTailQuadrature checks expTail's closed form of log Z against
// quadrature.
func TestExpTailQuadrature(t *testing.T) {
	for _, et := range []expTail{{1, 1}, {0.5, 1}, {3, 1}} {
		if got, want := et.quadrature(1e-4), et.logZ(); math.Abs(got-want) > 1e-7 {
			t.Errorf("%+v: quadrature log Z %.9f, closed form %.9f", et, got, want)
		}
	}
}

// TestBracketUnavailable checks the reasons the certified bracket gives
// when a generator folds or squashes its output, and its option checks.
func TestBracketUnavailable(t *testing.T) {
	// G(z) = (g, z₂ + g²), g = z₁ − 1.5 tanh z₁, the banana's generator
	// folded: det J = g′ = 1 − 1.5 sech² z₁ is negative for |z₁| < 0.66;
	// it is onto, as g ≈ z₁ ∓ 1.5 far out.
	rg := newFnRig(2, 2, 20000, 20000)
	bn := banana{1, 1, 0}
	bn.build(rg)
	tp := rg.t
	rg.nets.Generator = func(z *autodiff.Node) (*autodiff.Node, error) {
		z1, z2 := col(tp, z, 0), col(tp, z, 1)
		g := tp.Sub(z1, tp.Scale(tp.Tanh(z1), 1.5))
		return tp.Concat(1, g, tp.Add(z2, tp.Square(g))), tp.Err()
	}
	r := measure(t, tp, rg.nets, rg.data, rg.z, 1, bounds.DefaultCertified(), rg.fill(3, bananaSample))
	if s := r.bracket.Lower; s.Certified || !math.IsNaN(s.Value) || !strings.Contains(s.Reason, "folds") {
		t.Errorf("folding generator: lower end %+v, want not available because it folds", s)
	}
	// The χ² end stays a bound (the weights estimate ∫ p̃·#G⁻¹ ≥ Z): for
	// this energy log Z = 0, so NLL = the data's mean energy.
	if s := r.bracket.Upper; !s.Certified || s.Limit < r.ed.Value || !strings.Contains(s.Condition, "folds") {
		t.Errorf("folding generator: upper end %+v, want certified above NLL %.4f, its condition naming the fold", s, r.ed.Value)
	}
	t.Logf("folding generator: NLL %.4f ≤ χ² upper %.4f (limit %.4f, k̂ %.2f)", r.ed.Value, r.bracket.Upper.Value, r.bracket.Upper.Limit, r.bracket.TailK)
	if !math.IsNaN(r.bracket.Width()) {
		t.Errorf("folding generator: width %g, want NaN", r.bracket.Width())
	}

	// G(z) = (z₁ − z₁³/75, z₂) folds only at |z₁| = 5, where N(0, I) almost
	// never draws (5.7e-7 a draw) and the proposal's t part does (≈ 1 %):
	// the fold check runs on the proposal's own draws.
	rg = newFnRig(2, 2, 20000, 20000)
	bn.build(rg)
	tp = rg.t
	rg.nets.Generator = func(z *autodiff.Node) (*autodiff.Node, error) {
		z1, z2 := col(tp, z, 0), col(tp, z, 1)
		return tp.Concat(1, tp.Sub(z1, tp.Scale(tp.Pow(z1, 3), 1.0/75)), z2), tp.Err()
	}
	r = measure(t, tp, rg.nets, rg.data, rg.z, 1, bounds.DefaultCertified(), rg.fill(5, bananaSample))
	if !r.normal.Lower.Certified {
		t.Errorf("far fold, z ~ N: lower end %+v, want certified (no draw reaches the fold)", r.normal.Lower)
	}
	if s := r.bracket.Lower; s.Certified || !strings.Contains(s.Reason, "folds") {
		t.Errorf("far fold, z ~ ρ: lower end %+v, want not available because it folds", s)
	}
	// Its χ² end is not refused for the fold, but for its weights' tail:
	// the far branch folds back into the bulk, where ρ is tiny.
	if s := r.bracket.Upper; strings.Contains(s.Reason, "folds") || s.Certified && s.Limit < r.ed.Value+bn.logZ() {
		t.Errorf("far fold, z ~ ρ: upper end %+v, want no refusal for the fold, and if certified above NLL %.4f", s, r.ed.Value+bn.logZ())
	}

	logW := make([]float64, 400)
	for i := range logW {
		logW[i] = 0.1 * math.Sin(float64(i))
	}
	c := bounds.DefaultCertified()
	c.OutputOp = "Tanh"
	br, err := c.Bracket(bounds.MeanSE{Value: 1}, bounds.Weights{LogW: logW}, bounds.FoldCheck{Positive: 400})
	if err != nil {
		t.Fatal(err)
	}
	if !br.Lower.Certified || br.Upper.Certified || !strings.Contains(br.Upper.Reason, "Tanh") {
		t.Errorf("Tanh output: lower %+v, upper %+v; want the lower only", br.Lower, br.Upper)
	}
	for _, bad := range []bounds.Certified{{K: -1, Level: 0.95, MaxTail: 0.7}, {Level: 0.3, MaxTail: 0.7}, {Level: 0.95, MaxTail: 1.5}} {
		if _, err := bad.Bracket(bounds.MeanSE{}, bounds.Weights{LogW: logW}, bounds.FoldCheck{}); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, err := c.Bracket(bounds.MeanSE{}, bounds.Weights{LogW: []float64{0, math.NaN(), 0, 0}}, bounds.FoldCheck{}); err == nil {
		t.Error("a NaN log-weight: no error")
	}
}
