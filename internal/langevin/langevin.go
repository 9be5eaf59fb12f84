package langevin

import "math"

// Normal is a source of standard normal draws, such as *math/rand/v2.Rand.
type Normal interface {
	NormFloat64() float64
}

// A Step is one step of the dynamics with a fixed step size and noise
// scale.
type Step struct {
	half  float64 // η/2
	noise float64 // s√η
}

// NewStep returns the step of step size eta (η) and noise scale s.
func NewStep(eta, s float64) Step {
	return Step{half: eta / 2, noise: s * math.Sqrt(eta)}
}

// Move moves the values x by one step, given grad, the energy's gradient
// at x (len(x) values in the same order): x[i] += −(η/2)·grad[i] +
// s√η·ξ_i, with ξ_i drawn from normal in the order of i.
func (st Step) Move(x, grad []float64, normal Normal) {
	for i, g := range grad[:len(x)] {
		x[i] += -st.half*g + st.noise*normal.NormFloat64()
	}
}
