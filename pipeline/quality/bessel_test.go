package quality

import (
	"math"
	"testing"
)

// TestLogI0e compares logI0e with the trapezoid rule on
// e^{−z} I₀(z) = (1/π) ∫₀^π e^{z(cos θ − 1)} dθ, which converges
// geometrically for this periodic integrand, on both sides of the switch
// from the series to the asymptotic expansion.
func TestLogI0e(t *testing.T) {
	const k = 40000
	for _, z := range []float64{0, 1e-3, 0.5, 3, 10, 24.99, 25.01, 40, 200, 1500} {
		s := 0.0
		for i := 0; i <= k; i++ {
			w := 1.0
			if i == 0 || i == k {
				w = 0.5
			}
			s += w * math.Exp(z*(math.Cos(math.Pi*float64(i)/k)-1))
		}
		want := math.Log(s / k)
		if got := logI0e(z); math.Abs(got-want) > 1e-13 {
			t.Errorf("logI0e(%g) = %.16g, quadrature %.16g", z, got, want)
		}
	}
}
