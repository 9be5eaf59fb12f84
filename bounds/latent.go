package bounds

import (
	"fmt"
	"math"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// Latent is the latent-space Fisher bound on KL(q ‖ p_θ) for a generator
// that is a bijection G: R^d → R^D, D = d. Pulled back through G, p_θ
// becomes π(z) ∝ e^{−φ(z)} with φ(z) = E_θ(G(z)) − log |det J(z)|, and
// KL(q ‖ p_θ) = KL(γ ‖ π) for γ = N(0, I). With γ_s = N(0, (1+s²)I),
//
//	KL(γ ‖ π) = KL(γ_s ‖ π) + (d/2) log(1+s²) + E_γ[φ] − E_{γ_s}[φ]
//	          ≤ (C_π/2) E_{γ_s}‖∇φ(y) − y/(1+s²)‖² + (d/2) log(1+s²) + E_γ[φ] − E_{γ_s}[φ]
//
// for every s ≥ 0, with C_π the log-Sobolev constant of π (→ 1 as
// q → p_θ). With y = c z, c = √(1+s²) (common random numbers), G_c(z) =
// G(cz), h_c = log |det ∂G_c/∂z| and u_c = ∇_z E_θ(G_c(z)) − z − ∇_z h_c,
// the per-row terms are
//
//	U_i = (C_π/(2c²)) ‖u_c(z_i)‖² + [E_θ(G(z_i)) − h_1(z_i)] − [E_θ(G(c z_i)) − h_c(z_i)]
//
// (the d log c of h_c cancels (d/2) log(1+s²)); s = 0 is the log-Sobolev
// bound of π at γ itself, (C_π/2) E‖u_1‖². Choosing s by the smallest value
// on the same draws biases the bound low: choose it on independent draws.
type Latent struct {
	// LSI is the log-Sobolev constant C_π of the pulled-back law π.
	LSI float64
	// Scale is s ≥ 0.
	Scale float64
}

// LatentScales is a grid of s to choose from on independent draws.
var LatentScales = []float64{0, 0.1, 0.2, 0.3, 0.5}

// Name returns "latent".
func (*Latent) Name() string { return "latent" }

// KL builds the bound at s = Scale: Samples holds the m per-row terms
// U_i of b.Z (m, d), Value their mean. Loss is nil (a value, not a
// training loss). For D ≠ d it returns an *UnavailableError; with
// GeneratorKinks the value is marked Surrogate (∇h is 0 between the kinks
// and q's jumps are missed, as for gp).
func (l *Latent) KL(n Nets, b Batch) (Estimate, error) {
	e, err := l.kl(n, b)
	if err != nil {
		return Estimate{}, fmt.Errorf("%s upper bound: %w", l.Name(), err)
	}
	return e, nil
}

func (l *Latent) kl(n Nets, b Batch) (Estimate, error) {
	es, err := LatentGrid(n, b, l.LSI, []float64{l.Scale})
	if err != nil {
		return Estimate{}, err
	}
	return es[0], nil
}

// LatentGrid builds the latent bound with constant lsi at every s of
// scales on the same draws b.Z, sharing the s-independent terms: one
// Estimate per s, as Latent.KL builds it. The caller chooses s on
// independent draws.
func LatentGrid(n Nets, b Batch, lsi float64, scales []float64) ([]Estimate, error) {
	if !(lsi > 0) || math.IsInf(lsi, 0) {
		return nil, fmt.Errorf("log-Sobolev constant %g: want positive and finite", lsi)
	}
	if err := n.check(Energy, Generator); err != nil {
		return nil, err
	}
	if n.DataDim != n.LatentDim {
		return nil, &UnavailableError{fmt.Sprintf("the generator maps d = %d latent dimensions to D = %d: no pull-back density", n.LatentDim, n.DataDim)}
	}
	t := n.Tape
	phi1, u1, err := pullBack(n, b.Z, 1)
	if err != nil {
		return nil, err
	}
	surrogate, cond := exactCondition(n, lsi, "a differentiable", false)
	if !surrogate {
		cond = fmt.Sprintf("conditional on the log-Sobolev constant C_π = %g of p_θ pulled back through G, "+
			"on a smooth generator that is a bijection onto R^D, and on a differentiable energy", lsi)
	}
	var out []Estimate
	for _, s := range scales {
		if !(s >= 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("scale s = %g: want finite and ≥ 0", s)
		}
		c := math.Sqrt(1 + s*s)
		phiC, u := phi1, u1
		if s > 0 {
			if phiC, u, err = pullBack(n, b.Z, c); err != nil {
				return nil, err
			}
		}
		samples := t.Add(t.Scale(rowSumSq(t, u), lsi/(2*c*c)), t.Sub(phi1, phiC))
		e, err := finish(t, Estimate{Value: t.Mean(samples), Samples: samples, Surrogate: surrogate, Condition: cond})
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// pullBack returns, per row of z, E_θ(G(cz)) − h_c(z) and u_c(z) =
// ∇_z E_θ(G(cz)) − z − ∇_z h_c(z), with h_c = log |det ∂G(cz)/∂z|.
func pullBack(n Nets, z *autodiff.Node, c float64) (phi, u *autodiff.Node, err error) {
	t := n.Tape
	zc := z
	if c != 1 {
		zc = t.Scale(z, c)
	}
	x, err := n.generate(zc)
	if err != nil {
		return nil, nil, err
	}
	e, err := n.energy(x)
	if err != nil {
		return nil, nil, err
	}
	es, err := newExactScore(n, x, z, jacTerms{})
	if err != nil {
		return nil, nil, err
	}
	u = t.Add(t.InputGradient(t.Sum(e), z), es.g)
	return t.Sub(e, es.jt.h), u, t.Err()
}

var _ Upper = (*Latent)(nil)
