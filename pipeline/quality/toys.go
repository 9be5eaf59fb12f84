package quality

import (
	"math"

	"gonum.org/v1/gonum/floats"
)

// Gaussians25 returns the law of the 25gaussians toy set: a 5×5 grid of
// centres at spacing 2 from −4 to 4, standard deviation 0.05, all divided
// by 2.828.
func Gaussians25() Mixture {
	m := Mixture{Sigma: 0.05 / 2.828}
	for c := range 25 {
		m.Centres = append(m.Centres, []float64{float64(2*(c/5-2)) / 2.828, float64(2*(c%5-2)) / 2.828})
	}
	return m
}

// Gaussians8 returns the law of the 8gaussians toy set: eight centres on
// the circle of radius 2 at multiples of 45°, standard deviation 0.02,
// all divided by 1.414.
func Gaussians8() Mixture {
	m := Mixture{Sigma: 0.02 / 1.414}
	for k := range 8 {
		sin, cos := math.Sincos(float64(k) * math.Pi / 4)
		m.Centres = append(m.Centres, []float64{2 * cos / 1.414, 2 * sin / 1.414})
	}
	return m
}

// ToyMixture returns the law of the toy set name if it is a Gaussian
// mixture (25gaussians, 8gaussians), and whether it is.
func ToyMixture(name string) (Mixture, bool) {
	switch name {
	case "25gaussians":
		return Gaussians25(), true
	case "8gaussians":
		return Gaussians8(), true
	}
	return Mixture{}, false
}

// ExactDensity returns the density of the toy set name where it has a
// closed form (25gaussians, 8gaussians, rings), and whether it has.
func ExactDensity(name string) (Density, bool) {
	if m, ok := ToyMixture(name); ok {
		return m, true
	}
	if name == "rings" {
		return RingsLaw(), true
	}
	return nil, false
}

// Rings is an equal-weight mixture of circles centred at the origin,
// blurred by isotropic two-dimensional Gaussian noise: a row is a point
// drawn uniformly on a circle of a radius picked uniformly from Radii,
// plus noise of standard deviation Sigma on each value.
type Rings struct {
	Radii []float64
	Sigma float64
}

// RingsLaw returns the law of the rings toy set as its row count grows:
// radii 3, 2.25, 1.5 and 0.75, noise 0.08.
func RingsLaw() Rings {
	return Rings{Radii: []float64{3, 2.25, 1.5, 0.75}, Sigma: 0.08}
}

// Dim returns 2.
func (Rings) Dim() int { return 2 }

// LogDensity returns the log of the density at the row x of two values.
// A circle of radius R blurred by noise s has the density
// exp(−(ρ−R)²/(2s²)) · e^{−z} I₀(z) / (2πs²) at distance ρ from the origin,
// z = ρR/s².
func (r Rings) LogDensity(x []float64) float64 {
	rho := math.Hypot(x[0], x[1])
	s2 := r.Sigma * r.Sigma
	terms := make([]float64, len(r.Radii))
	for k, rad := range r.Radii {
		d := rho - rad
		terms[k] = -d*d/(2*s2) + logI0e(rho*rad/s2)
	}
	return floats.LogSumExp(terms) - math.Log(float64(len(r.Radii))) - math.Log(2*math.Pi*s2)
}

// logI0e returns log(e^{−z} I₀(z)) for z ≥ 0, I₀ the modified Bessel
// function of the first kind of order 0: by its power series
// Σ (z²/4)^k/(k!)² (Abramowitz and Stegun 9.6.12) up to z = 25, where the
// terms stay below e^25, and beyond by the asymptotic expansion
// e^z/√(2πz) Σ ((2k−1)!!)²/(k!(8z)^k) (A&S 9.7.1), whose terms fall below
// 1e-17 before they turn to grow.
func logI0e(z float64) float64 {
	if z <= 25 {
		q := z * z / 4
		sum, t := 1.0, 1.0
		for k := 1; t > 1e-17*sum; k++ {
			t *= q / float64(k*k)
			sum += t
		}
		return math.Log(sum) - z
	}
	sum, t := 1.0, 1.0
	for k := 1; t > 1e-17; k++ {
		next := t * float64((2*k-1)*(2*k-1)) / (float64(k) * 8 * z)
		if next >= t {
			break
		}
		t = next
		sum += t
	}
	return math.Log(sum) - 0.5*math.Log(2*math.Pi*z)
}
