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
	br := r.bracket
	// It is one-to-one on the slab |z₁| < 0.66 around the origin: the lower
	// end keeps the draws inside a ball within it, a valid but loose bound.
	if s := br.Lower; !s.Certified || s.Limit > r.ed.Value || !(br.Ball.Radius < 0.66) || !strings.Contains(s.Condition, "ball") {
		t.Errorf("folding generator: lower end %+v on ball %+v, want certified below NLL %.4f on a ball of radius < 0.66", s, br.Ball, r.ed.Value)
	}
	// The χ² end stays a bound (the weights estimate ∫ p̃·#G⁻¹ ≥ Z): for
	// this energy log Z = 0, so NLL = the data's mean energy.
	if s := br.Upper; !s.Certified || s.Limit < r.ed.Value || !strings.Contains(s.Condition, "folds") {
		t.Errorf("folding generator: upper end %+v, want certified above NLL %.4f, its condition naming the fold", s, r.ed.Value)
	}
	t.Logf("folding generator: lower %.4f (limit %.4f, ball r = %.3f, ρ(B) = %.3f) ≤ NLL %.4f ≤ χ² upper %.4f (limit %.4f, k̂ %.2f)",
		br.Lower.Value, br.Lower.Limit, br.Ball.Radius, br.Ball.Mass, r.ed.Value, br.Upper.Value, br.Upper.Limit, br.TailK)
	// Without independent draws to choose the ball, the fold refuses it.
	w := bounds.Weights{LogW: make([]float64, 400), Norm: make([]float64, 400), Dim: 2}
	folded := bounds.FoldCheck{Positive: 200, Negative: 200, NearestNegative: 1}
	dc := bounds.DefaultCertified()
	if br, err := dc.Bracket(bounds.MeanSE{}, w, folded, bounds.FoldCheck{}); err != nil || br.Lower.Certified || !strings.Contains(br.Lower.Reason, "folds") {
		t.Errorf("a fold and no independent check: lower end %+v (error %v), want not available because it folds", br.Lower, err)
	}
	// Equal weights, half of the draws inside the ball (r = 0.9 × 2):
	// the lower end is log ρ(B), the weights' mean under ρ restricted to B.
	for i := range w.Norm {
		w.Norm[i] = 1 + 1.5*float64(i%2)
	}
	inBall := bounds.FoldCheck{Positive: 200, Negative: 200, NearestNegative: 3}
	indep := bounds.FoldCheck{Positive: 200, Negative: 200, NearestNegative: 2}
	br, err := dc.Bracket(bounds.MeanSE{}, w, inBall, indep)
	if want := math.Log(dc.Proposal.Mass(1.8, 2)); err != nil || math.Abs(br.Lower.Value-want) > 1e-12 || br.Ball.Draws != 200 {
		t.Errorf("equal weights, 200 of 400 draws in the ball: lower end %+v, ball %+v (error %v); want log ρ(B) = %.6f", br.Lower, br.Ball, err, want)
	}
	// Nor when the estimate's draws fold inside the chosen ball.
	if br, err := dc.Bracket(bounds.MeanSE{}, w, folded, indep); err != nil || br.Lower.Certified || !strings.Contains(br.Lower.Reason, "inside the ball") {
		t.Errorf("a fold inside the ball: lower end %+v (error %v), want not available because it folds inside", br.Lower, err)
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
	// The draws see the fold; the lower end keeps those inside a ball
	// chosen from independent draws, where G is one-to-one, and bounds
	// ∫_{G(B)} e^{−E} ≤ Z: it is certified and below the NLL.
	nll := r.ed.Value + bn.logZ()
	br = r.bracket
	if s := br.Lower; !s.Certified || s.Limit > nll || s.Value > nll+3*s.StdErr || !strings.Contains(s.Condition, "one-to-one on the latent ball") {
		t.Errorf("far fold, z ~ ρ: lower end %+v, want certified below NLL %.4f on a ball", s, nll)
	}
	if b := br.Ball; !(b.Radius > 3.5 && b.Radius < 5 && b.Mass < 1 && b.Mass > 0.97 && b.Draws < br.Samples) {
		t.Errorf("far fold, z ~ ρ: ball %+v, want a radius in (3.5, 5) (0.9 × the fold radius ≥ 5) holding most draws", b)
	}
	t.Logf("far fold, z ~ ρ: lower %.4f ± %.4f (limit %.4f) ≤ NLL %.4f; ball r = %.3f, ρ(B) = %.5f, %d of %d draws",
		br.Lower.Value, br.Lower.StdErr, br.Lower.Limit, nll, br.Ball.Radius, br.Ball.Mass, br.Ball.Draws, br.Samples)
	// Its χ² end is not refused for the fold, but for its weights' tail:
	// the far branch folds back into the bulk, where ρ is tiny.
	if s := br.Upper; strings.Contains(s.Reason, "folds") || s.Certified && s.Limit < nll {
		t.Errorf("far fold, z ~ ρ: upper end %+v, want no refusal for the fold, and if certified above NLL %.4f", s, nll)
	}

	logW := make([]float64, 400)
	for i := range logW {
		logW[i] = 0.1 * math.Sin(float64(i))
	}
	c := bounds.DefaultCertified()
	c.OutputOp = "Tanh"
	br, err = c.Bracket(bounds.MeanSE{Value: 1}, bounds.Weights{LogW: logW}, bounds.FoldCheck{Positive: 400}, bounds.FoldCheck{})
	if err != nil {
		t.Fatal(err)
	}
	if !br.Lower.Certified || br.Upper.Certified || !strings.Contains(br.Upper.Reason, "Tanh") {
		t.Errorf("Tanh output: lower %+v, upper %+v; want the lower only", br.Lower, br.Upper)
	}
	for _, bad := range []bounds.Certified{{K: -1, Level: 0.95, MaxTail: 0.7, Shrink: 0.9}, {Level: 0.3, MaxTail: 0.7, Shrink: 0.9}, {Level: 0.95, MaxTail: 1.5, Shrink: 0.9}, {Level: 0.95, MaxTail: 0.7, Shrink: 1.5}} {
		if _, err := bad.Bracket(bounds.MeanSE{}, bounds.Weights{LogW: logW}, bounds.FoldCheck{}, bounds.FoldCheck{}); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, err := c.Bracket(bounds.MeanSE{}, bounds.Weights{LogW: []float64{0, math.NaN(), 0, 0}}, bounds.FoldCheck{}, bounds.FoldCheck{}); err == nil {
		t.Error("a NaN log-weight: no error")
	}
}
