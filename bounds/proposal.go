package bounds

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// A Proposal is the latent law ρ that the certified bracket draws z from:
// the defensive mixture
//
//	ρ(z) = (1 − α)·N(z; 0, I) + α·t_ν(z; 0, I)
//
// of the standard normal (the generator's own input law) and a
// multivariate Student t with ν degrees of freedom. Through a bijection
// G the samples x = G(z) have the exact density q_ρ(x) = ρ(z)/|det J(z)|,
// and both ends of the bracket hold for any proposal whose density is
// exact. The t component is what makes the χ² end finite: an MLP energy
// with piecewise-linear activations grows linearly, so p_θ has
// exponential tails, while an asymptotically linear G maps N(0, I) to
// Gaussian tails, and then E_q[w²] = ∫ p̃²/q is infinite at any sample
// size. A t_ν latent maps to polynomial tails ‖x‖^{−(ν+d)}, against which
// ∫ p̃²/q_ρ is finite, and the weights p̃/q_ρ ≤ p̃/(α q_t) are bounded.
// In the bulk, q_ρ ≥ (1 − α) q, so 1 + χ²(p_θ ‖ q_ρ) ≤ (1 + χ²(p_θ ‖ q))/(1 − α):
// the mixture costs at most −½ log(1 − α) nats of upper gap where q
// already covered p_θ.
type Proposal struct {
	// Heavy is α, the weight of the Student-t component, in [0, 1); 0 is
	// the generator's own law N(0, I).
	Heavy float64
	// DoF is ν, the t component's degrees of freedom, a positive integer
	// (ignored when Heavy is 0).
	DoF int
}

// Defaults of Proposal: a fifth of the draws from t_3, whose tails are
// heavy (polynomial, finite variance) without wasting most draws far out.
const (
	DefaultHeavy = 0.2
	DefaultDoF   = 3
)

// DefaultProposal returns the mixture with α = 0.2 and ν = 3.
func DefaultProposal() Proposal { return Proposal{Heavy: DefaultHeavy, DoF: DefaultDoF} }

// Check reports every invalid field.
func (p Proposal) Check() error {
	var errs []error
	if !(p.Heavy >= 0 && p.Heavy < 1) {
		errs = append(errs, fmt.Errorf("Heavy = %g: want the Student-t weight in [0, 1)", p.Heavy))
	}
	if p.Heavy > 0 && p.DoF < 1 {
		errs = append(errs, fmt.Errorf("DoF = %d: want at least 1 degree of freedom", p.DoF))
	}
	return errors.Join(errs...)
}

// String describes the proposal, as conditions quote it.
func (p Proposal) String() string {
	if p.Heavy == 0 {
		return "z ~ N(0, I)"
	}
	return fmt.Sprintf("z ~ %g·N(0, I) + %g·t_%d(0, I)", 1-p.Heavy, p.Heavy, p.DoF)
}

// Draw fills z with one draw of ρ from r, and returns log N(z) − log ρ(z)
// (to turn log-weights against q = G#N into log-weights against q_ρ) and
// whether the draw came from the normal component.
func (p Proposal) Draw(r *rand.Rand, z []float64) (logRatio float64, normal bool) {
	for i := range z {
		z[i] = r.NormFloat64()
	}
	normal = p.Heavy == 0 || r.Float64() >= p.Heavy
	if !normal {
		chi2 := 0.0
		for range p.DoF {
			g := r.NormFloat64()
			chi2 += g * g
		}
		s := math.Sqrt(float64(p.DoF) / chi2)
		for i := range z {
			z[i] *= s
		}
	}
	return p.LogRatio(z), normal
}

// LogRatio returns log N(z; 0, I) − log ρ(z).
func (p Proposal) LogRatio(z []float64) float64 {
	if p.Heavy == 0 {
		return 0
	}
	ss := 0.0
	for _, v := range z {
		ss += v * v
	}
	d, nu := float64(len(z)), float64(p.DoF)
	logN := -0.5*ss - d/2*math.Log(2*math.Pi)
	lgA, _ := math.Lgamma((nu + d) / 2)
	lgB, _ := math.Lgamma(nu / 2)
	logT := lgA - lgB - d/2*math.Log(nu*math.Pi) - (nu+d)/2*math.Log1p(ss/nu)
	a, b := math.Log1p(-p.Heavy)+logN, math.Log(p.Heavy)+logT
	top := math.Max(a, b)
	return logN - (top + math.Log(math.Exp(a-top)+math.Exp(b-top)))
}

// Mass returns ρ(B), the probability of the latent ball B = {‖z‖ ≤ r} in
// R^d under the proposal: ‖z‖² ~ χ²_d for the normal part and
// ‖z‖²/d ~ F(d, ν) for the Student-t part (z = g·√(ν/c), g ~ N(0, I_d),
// c ~ χ²_ν). It is 1 for r = +Inf.
func (p Proposal) Mass(r float64, d int) float64 {
	if math.IsInf(r, 1) {
		return 1
	}
	m := distuv.ChiSquared{K: float64(d)}.CDF(r * r)
	if p.Heavy == 0 {
		return m
	}
	t := distuv.F{D1: float64(d), D2: float64(p.DoF)}.CDF(r * r / float64(d))
	return (1-p.Heavy)*m + p.Heavy*t
}
