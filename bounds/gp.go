package bounds

import (
	"errors"
	"fmt"
	"math"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// GradientPenalty is the Fisher-type upper bound on KL(q ‖ p_θ) along the
// generator's tangent directions, or, with ZeroCentred, the zero-centred
// gradient penalty baseline (EBM_0GP of the public code), which bounds
// nothing.
//
// With u(z) = Jᵀ(∇_x log q − ∇_x log p_θ)(G(z)) = ∇_z E_θ(G(z)) + ∇_z log q(G(z)),
// where ∇_z log q(G(z)) = −z − ∇_z h:
//
//	GP    = ½ E_z ‖u_s(z)‖²                      (= ½ E_{z,v}[(u_s·v)²], v ~ N(0, I_d))
//	Value = (C/2) · E_z ‖J(z)⁻ᵀ u(z)‖²          = (C/2) · E_q‖∇log q − ∇log p_θ‖² ≥ KL(q ‖ p_θ)
//	Loss  = max(0, λ_GP · GP − τ)
//
// The loss's u_s takes h from the Jacobian field (the public code's
// penalty: d · log s_min unless Exact), held constant. Value takes the
// exact h = log |det J| and solves with J (a d×d solve per row) when D = d
// and SurrogateValue is unset; it is then the log-Sobolev bound, with C
// the log-Sobolev constant of p_θ (λ_max(Σ) for a Gaussian), and
// Estimate.Condition says so. Otherwise (D ≠ d, or SurrogateValue) Value is
// (C/2) · E_z[‖u_s‖²/s_min²], a monitoring quantity marked Surrogate.
// The loss's derivative in θ is a double backprop through ∇_z E_θ(G(z)).
type GradientPenalty struct {
	// ZeroCentred selects the baseline λ · E_data‖∇_x E_θ‖².
	ZeroCentred bool
	// Lambda is λ_GP (or the baseline's λ).
	Lambda float64
	// Tau is the hinge τ of the loss max(0, λ_GP · GP − τ).
	Tau float64
	// Decay replaces the constant Lambda of "gp" by the public code's
	// decaying weight, DecayedLambda(t) at iteration t: KL then returns the
	// weight as the input Estimate.Weight, which the caller sets to
	// Estimate.WeightAt(t) before every run.
	Decay bool
	// LSI is the log-Sobolev constant C of p_θ used in Value.
	LSI float64
	// Jacobian sets how the loss's −log q(G(z)) and s_min are computed
	// (its Weight is unused).
	Jacobian JacobianEntropy
	// SurrogateValue makes Value use the Jacobian field's score and s_min
	// even when D = d (then Value is marked Surrogate): for generators
	// whose per-sample Jacobian cannot be formed, such as batch
	// normalisation with batch statistics.
	SurrogateValue bool
}

// Defaults of the public toy code, and our choice for the baseline's λ.
const (
	DefaultGPLambda  = 1e-3
	DefaultGPTau     = 1
	DefaultGP0Lambda = 0.1
)

// DecayedLambda is the public code's decaying λ_GP (its "ada" option) at
// iteration t, counting from 0: 0.7 · (2307 + t)^(−0.55), which falls from
// 0.0099 to 0.0029 over 20 000 iterations.
func DecayedLambda(t int) float64 { return 0.7 * math.Pow(2307+float64(t), -0.55) }

// NewGradientPenalty returns the bound with the toy defaults: λ_GP = 1e-3,
// τ = 1, C = 1, s_min by DefaultIterations Rayleigh–Ritz iterations; with
// zeroCentred, the baseline with λ = DefaultGP0Lambda.
func NewGradientPenalty(zeroCentred bool) *GradientPenalty {
	gp := &GradientPenalty{Lambda: DefaultGPLambda, Tau: DefaultGPTau, LSI: 1, Jacobian: *NewJacobianEntropy(false)}
	if zeroCentred {
		gp.ZeroCentred, gp.Lambda, gp.Tau = true, DefaultGP0Lambda, 0
	}
	return gp
}

// Name returns "gp" or "gp0".
func (gp *GradientPenalty) Name() string {
	if gp.ZeroCentred {
		return "gp0"
	}
	return "gp"
}

// KL builds the penalty. For "gp": Samples holds the m per-row terms
// of Value (b.Z is (m, d)); Noise holds the Jacobian
// term's starting vectors (m, d) unless Jacobian.Exact; Extra["gp"] is GP
// and Extra["s_min"] the mean s_min. For "gp0": Samples holds
// ‖∇_x E_θ(x)‖² for the n data rows (b.Data is (n, D)), Value their mean,
// Loss = λ · Value, and Surrogate is set. Loss trains the energy.
func (gp *GradientPenalty) KL(n Nets, b Batch) (Estimate, error) {
	var e Estimate
	var err error
	if gp.ZeroCentred {
		e, err = gp.zeroCentred(n, b)
	} else {
		e, err = gp.tangent(n, b)
	}
	if err != nil {
		return Estimate{}, fmt.Errorf("%s upper bound: %w", gp.Name(), err)
	}
	return e, nil
}

func (gp *GradientPenalty) check(n Nets, roles ...Role) error {
	if gp.Lambda < 0 {
		return fmt.Errorf("λ = %g: want ≥ 0", gp.Lambda)
	}
	if gp.Decay && gp.ZeroCentred {
		return errors.New("a decaying λ applies to gp, not to the zero-centred baseline")
	}
	if !(gp.LSI > 0) && !gp.ZeroCentred {
		return fmt.Errorf("log-Sobolev constant %g: want > 0", gp.LSI)
	}
	if !gp.ZeroCentred {
		if err := gp.Jacobian.validate(); err != nil {
			return err
		}
	}
	return n.check(roles...)
}

func (gp *GradientPenalty) tangent(n Nets, b Batch) (Estimate, error) {
	if err := gp.check(n, Energy, Generator); err != nil {
		return Estimate{}, err
	}
	x, err := n.generate(b.Z)
	if err != nil {
		return Estimate{}, err
	}
	e, err := n.energy(x)
	if err != nil {
		return Estimate{}, err
	}
	jt, err := gp.Jacobian.terms(n, x, b.Z)
	if err != nil {
		return Estimate{}, err
	}
	t := n.Tape
	gradZ := t.InputGradient(t.Sum(e), b.Z)
	sq := rowSumSq(t, t.Add(gradZ, jt.scoreZ(t, b.Z)))
	pen := t.Scale(t.Mean(sq), 0.5)
	est := Estimate{
		Loss:   t.Relu(t.Affine(pen, gp.Lambda, -gp.Tau)),
		Trains: []Role{Energy},
		Noise:  jt.noise,
		Extra:  map[string]*autodiff.Node{"gp": pen, "s_min": t.Mean(jt.smin)},
	}
	if useExact(n, gp.SurrogateValue) {
		es, err := newExactScore(n, x, b.Z, jt)
		if err != nil {
			return Estimate{}, err
		}
		est.Samples = t.Scale(es.xNorm2(t.Add(gradZ, es.g)), gp.LSI/2)
		est.Surrogate, est.Condition = exactCondition(n, gp.LSI, "a differentiable", false)
	} else {
		est.Samples = t.Scale(t.Div(sq, t.Square(jt.smin)), gp.LSI/2)
		est.Surrogate, est.Condition = true, surrogateCondition(n, gp.Jacobian)
	}
	est.Value = t.Mean(est.Samples)
	if gp.Decay {
		est.Weight, est.WeightAt = t.Input(fmt.Sprintf("bounds.lambda_gp#%d", noiseSeq.Add(1))), DecayedLambda
		est.Loss = t.Relu(t.Affine(t.Mul(est.Weight, pen), 1, -gp.Tau))
	}
	return finish(t, est)
}

func (gp *GradientPenalty) zeroCentred(n Nets, b Batch) (Estimate, error) {
	if err := gp.check(n, Energy); err != nil {
		return Estimate{}, err
	}
	if err := matrix(b.Data, "data batch", n.DataDim); err != nil {
		return Estimate{}, err
	}
	e, err := n.energy(b.Data)
	if err != nil {
		return Estimate{}, err
	}
	t := n.Tape
	samples := rowSumSq(t, t.InputGradient(t.Sum(e), b.Data))
	value := t.Mean(samples)
	return finish(t, Estimate{
		Value:     value,
		Samples:   samples,
		Loss:      t.Scale(value, gp.Lambda),
		Trains:    []Role{Energy},
		Surrogate: true,
	})
}
