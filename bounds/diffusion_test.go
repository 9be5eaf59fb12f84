package bounds_test

import (
	"math"
	"testing"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/internal/graphtest"
)

// TestDiffusionNearSingular measures the diffusion value on training-size
// batches of a linear-Gaussian pair whose generator is nearly singular
// (one singular value of A shrunk by shrink, so J(q) = tr Σq⁻¹ ≈ 1e8…1e10
// ≫ D/σ², as after a few steps of mi training): every batch must stay
// above the true KL with the true constant C, near the closed form of its
// expectation. The estimator's gp-form term q_i = gp_i − j_i has a spread
// of order ‖∇E‖ √J(q) per row there; weighting it by 1/r keeps it out.
func TestDiffusionNearSingular(t *testing.T) {
	const batch, draws = 32, 40
	for _, shrink := range []float64{1e-4, 1e-5} {
		m := newGaussModel(611, 2, 2)
		m.setGenerator(5, 1, 0.05)
		for i := 0; i < m.D; i++ {
			m.A.Set(i, 1, m.A.At(i, 1)*shrink)
		}
		lsi, sigma := m.lsi(), bounds.DefaultSigmas[0]
		kl, want := m.kl(0), m.diffusionValue(lsi, sigma)
		rg := newRig(m, batch, batch)
		df := bounds.NewDiffusion()
		df.LSI = lsi
		e, err := df.KL(rg.nets, bounds.Batch{Data: rg.data, Z: rg.z})
		if err != nil {
			t.Fatal(err)
		}
		rg.compile(t, e)
		vals := make([]float64, draws)
		for k := range vals {
			rg.draw(uint64(3000 + k))
			rg.run(t)
			vals[k] = graphtest.Scalar(e.Value)
			if vals[k] < kl {
				t.Errorf("shrink %g, draw %d: diffusion %.5g below KL %.5g with the true C = %.3g", shrink, k, vals[k], kl, lsi)
			}
		}
		mean, se := meanSE(vals)
		t.Logf("shrink %g: J(q) = %.3g, KL %.4g, diffusion over %d batches of %d: %.7g ± %.3g (closed form %.7g)",
			shrink, m.fisherInfo(), kl, draws, batch, mean, se, want)
		if math.Abs(mean-want) > 4*se+1e-5*math.Abs(want) {
			t.Errorf("shrink %g: diffusion %.5g ± %.2g over %d batches, closed form %.5g", shrink, mean, se, draws, want)
		}
	}
}
