package bounds_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/bounds"
)

// TestProposal checks that the density ρ = N·e^{−LogRatio} of each
// proposal integrates to 1 in 2-D (radial quadrature), that its draws
// follow it (the share of draws beyond radius r against the quadrature's
// tail mass), and that Check rejects bad fields.
func TestProposal(t *testing.T) {
	for _, p := range []bounds.Proposal{{}, bounds.DefaultProposal(), {Heavy: 0.5, DoF: 1}, {Heavy: 0.1, DoF: 7}} {
		// ρ is radial: mass(r < R) = ∫₀^R ρ(r) 2πr dr.
		const h = 1e-3
		density := func(r float64) float64 {
			z := []float64{r, 0}
			return math.Exp(-0.5*r*r-math.Log(2*math.Pi)-p.LogRatio(z)) * 2 * math.Pi * r
		}
		total, tail3 := 0.0, 0.0
		for r := h / 2; r < 2e4; r += h * math.Max(1, r) {
			step := h * math.Max(1, r)
			m := density(r+step/2-h/2) * step
			total += m
			if r > 3 {
				tail3 += m
			}
		}
		if math.Abs(total-1) > 2e-3 {
			t.Errorf("%v: ∫ρ = %.5f, want 1", p, total)
		}
		rng := rand.New(rand.NewPCG(5, 6))
		const n = 200000
		beyond, normal := 0, 0
		z := make([]float64, 2)
		for range n {
			lr, isN := p.Draw(rng, z)
			if math.Abs(lr-p.LogRatio(z)) > 1e-12 {
				t.Fatalf("%v: Draw's log-ratio %g, LogRatio %g", p, lr, p.LogRatio(z))
			}
			if math.Hypot(z[0], z[1]) > 3 {
				beyond++
			}
			if isN {
				normal++
			}
		}
		got := float64(beyond) / n
		if se := math.Sqrt(tail3 * (1 - tail3) / n); math.Abs(got-tail3) > 4*se {
			t.Errorf("%v: share of draws beyond 3: %.5f, quadrature %.5f ± %.5f", p, got, tail3, se)
		}
		if m := p.Mass(3, 2); math.Abs(m-(total-tail3)) > 2e-3 {
			t.Errorf("%v: Mass(3) = %.5f in 2-D, quadrature %.5f", p, m, total-tail3)
		}
		if m := p.Mass(math.Inf(1), 2); m != 1 {
			t.Errorf("%v: Mass(+Inf) = %g, want 1", p, m)
		}
		// In 5-D, against the share of draws inside the ball.
		z5 := make([]float64, 5)
		inside := 0
		for range n {
			p.Draw(rng, z5)
			if math.Sqrt(z5[0]*z5[0]+z5[1]*z5[1]+z5[2]*z5[2]+z5[3]*z5[3]+z5[4]*z5[4]) <= 2.5 {
				inside++
			}
		}
		if got, want := float64(inside)/n, p.Mass(2.5, 5); math.Abs(got-want) > 4*math.Sqrt(want*(1-want)/n) {
			t.Errorf("%v: share of 5-D draws with ‖z‖ ≤ 2.5: %.5f, Mass %.5f", p, got, want)
		}
		if share, want := float64(normal)/n, 1-p.Heavy; math.Abs(share-want) > 4*math.Sqrt(want*(1-want)/n)+1e-12 {
			t.Errorf("%v: share of normal draws %.4f, want %.4f", p, share, want)
		}
	}
	for _, bad := range []bounds.Proposal{{Heavy: -0.1, DoF: 3}, {Heavy: 1, DoF: 3}, {Heavy: 0.2}, {Heavy: math.NaN(), DoF: 3}} {
		if err := bad.Check(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	c := bounds.DefaultCertified()
	c.Proposal.DoF = 0
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "DoF") {
		t.Errorf("Certified with DoF 0: error %v, want one naming DoF", err)
	}
}
