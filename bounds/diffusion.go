package bounds

import (
	"fmt"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// Diffusion is the noise-level upper bound on KL(q ‖ p_θ). Its loss is
// denoising score matching at noised generator samples
// x̃_k = G(z) + σ_k ε_k, k = 1…K:
//
//	DSM_k = E_{z,ε} ‖−∇_x E_θ(x̃_k) + (x̃_k − G(z))/σ_k²‖²
//	Loss  = λ · Σ_k w_k · DSM_k,  w_k = ½ (σ_k² − σ_{k−1}²), σ_0 = 0
//
// (the public code's weighting; DSM_k keeps the constant D/σ_k² − J(q_σ),
// so it is no bound itself). Value is the bound U_σ at the smallest level
// σ = σ_1, from KL(q ‖ p) = KL(q_σ ‖ p) + [H(q_σ) − H(q)] + E_q[E] −
// E_{q_σ}[E], the log-Sobolev inequality of p_θ (constant C) for
// KL(q_σ ‖ p), integration by parts for the Fisher divergence
// I(q_σ ‖ p) = J(q_σ) + E‖∇E‖² − 2E ΔE, Stam's inequality
// J(q_σ) ≤ (1/J(q) + σ²/D)⁻¹ and de Bruijn's identity; the package doc
// gives the estimator (the gp value plus terms of order σ² where J(q) ≪
// D/σ², robust where the generator is nearly singular). It
// needs a twice-differentiable energy.
type Diffusion struct {
	// Sigmas are the noise levels σ_1 < … < σ_K.
	Sigmas []float64
	// Lambda is the practical weight λ of the loss.
	Lambda float64
	// LSI is the log-Sobolev constant C of p_θ used in Value.
	LSI float64
	// Jacobian sets how the generator score and s_min of a surrogate
	// Value are computed (D ≠ d, or SurrogateValue; its Weight is
	// unused).
	Jacobian JacobianEntropy
	// SurrogateValue makes Value use the Jacobian field's score divided by
	// s_min² for J(q) even when D = d (then Value is marked Surrogate).
	SurrogateValue bool
}

// DefaultSigmas are the default noise levels: 4 levels from 0.01 to 0.1.
var DefaultSigmas = []float64{0.01, 0.04, 0.07, 0.1}

// NewDiffusion returns the bound with DefaultSigmas, λ = 1, C = 1 and, for
// a surrogate Value, s_min by DefaultIterations Rayleigh–Ritz iterations.
func NewDiffusion() *Diffusion {
	return &Diffusion{Sigmas: append([]float64(nil), DefaultSigmas...), Lambda: 1, LSI: 1, Jacobian: *NewJacobianEntropy(false)}
}

// Name returns "diffusion".
func (*Diffusion) Name() string { return "diffusion" }

// KL builds the bound on the rows of b.Z (m, d). Noise holds ε for all
// levels of the loss, shaped (K·m, D) (rows k·m … k·m+m−1 for level k+1),
// then the noise of Value (m, D), then, for a surrogate Value without
// Jacobian.Exact, the Rayleigh–Ritz starting vectors (m, d). Samples holds
// the m per-row terms of Value. Loss trains the energy. Extra["dsm"] is
// Σ_k w_k DSM_k, Extra["fisher_info"] the estimate of J(q) and
// Extra["s_min"] the mean s_min.
func (df *Diffusion) KL(n Nets, b Batch) (Estimate, error) {
	e, err := df.kl(n, b)
	if err != nil {
		return Estimate{}, fmt.Errorf("diffusion upper bound: %w", err)
	}
	return e, nil
}

func (df *Diffusion) check(n Nets) error {
	if len(df.Sigmas) == 0 {
		return fmt.Errorf("no noise levels")
	}
	for i, s := range df.Sigmas {
		if !(s > 0) || (i > 0 && !(s > df.Sigmas[i-1])) {
			return fmt.Errorf("noise levels %v: want positive and increasing", df.Sigmas)
		}
	}
	if df.Lambda < 0 {
		return fmt.Errorf("λ = %g: want ≥ 0", df.Lambda)
	}
	if !(df.LSI > 0) {
		return fmt.Errorf("log-Sobolev constant %g: want > 0", df.LSI)
	}
	if err := df.Jacobian.validate(); err != nil {
		return err
	}
	return n.check(Energy, Generator)
}

func (df *Diffusion) kl(n Nets, b Batch) (Estimate, error) {
	if err := df.check(n); err != nil {
		return Estimate{}, err
	}
	x, err := n.generate(b.Z)
	if err != nil {
		return Estimate{}, err
	}
	t := n.Tape
	wdsm, eps, err := df.loss(n, x)
	if err != nil {
		return Estimate{}, err
	}
	est := Estimate{Loss: t.Scale(wdsm, df.Lambda), Trains: []Role{Energy}, Noise: []*autodiff.Node{eps}}
	e0, err := n.energy(x)
	if err != nil {
		return Estimate{}, err
	}
	gradZ := t.InputGradient(t.Sum(e0), b.Z)
	// Per row: q_i = gp_i − j_i (gp_i for I(q ‖ p)) and j_i (for J(q) =
	// E‖∇_x log q(G(z))‖²), q_i = ‖a‖² + 2⟨a, b⟩ with a, b the x-space
	// vectors of ∇_z E and of the generator score, free of the
	// cancellation of gp_i − j_i where J(q) is huge.
	var cross, fisher, smin *autodiff.Node
	var jnoise []*autodiff.Node
	if useExact(n, df.SurrogateValue) {
		es, err := newExactScore(n, x, b.Z, jacTerms{})
		if err != nil {
			return Estimate{}, err
		}
		a, g := es.xVec(gradZ), es.xVec(es.g)
		cross, fisher, smin = crossTerm(t, a, g), rowSumSq(t, g), es.jt.smin
		est.Surrogate, est.Condition = exactCondition(n, df.LSI, "a twice-differentiable", true)
	} else {
		jt, err := df.Jacobian.terms(n, x, b.Z)
		if err != nil {
			return Estimate{}, err
		}
		s2 := t.Square(jt.smin)
		gz := jt.scoreZ(t, b.Z)
		cross, fisher = t.Div(crossTerm(t, gradZ, gz), s2), t.Div(rowSumSq(t, gz), s2)
		smin, jnoise = jt.smin, jt.noise
		est.Surrogate, est.Condition = true, surrogateCondition(n, df.Jacobian)
	}
	samples, vnoise, err := df.value(n, x, cross, fisher)
	if err != nil {
		return Estimate{}, err
	}
	est.Samples, est.Value = samples, t.Mean(samples)
	est.Noise = append(append(est.Noise, vnoise...), jnoise...)
	est.Extra = map[string]*autodiff.Node{"dsm": wdsm, "fisher_info": t.Mean(fisher), "s_min": t.Mean(smin)}
	return finish(t, est)
}

// loss returns Σ_k w_k DSM_k and the noise input ε (K·m, D).
func (df *Diffusion) loss(n Nets, x *autodiff.Node) (wdsm, eps *autodiff.Node, err error) {
	t := n.Tape
	K := len(df.Sigmas)
	m, D := x.Shape()[0], n.DataDim
	eps = noise(t, "diffusion_eps", K*m, D)
	reps := make([]*autodiff.Node, K)
	sig := make([]float64, K*m)
	inv := make([]float64, K*m)
	w := make([]float64, K)
	prev := 0.0
	for k, s := range df.Sigmas {
		reps[k] = x
		for i := 0; i < m; i++ {
			sig[k*m+i], inv[k*m+i] = s, 1/s
		}
		w[k] = (s*s - prev) / 2
		prev = s * s
	}
	xt := t.Add(t.Concat(0, reps...), t.Mul(eps, t.Const(sig, K*m, 1)))
	et, err := n.energy(xt)
	if err != nil {
		return nil, nil, err
	}
	// −∇E(x̃) + (x̃ − G(z))/σ² = −∇E(x̃) + ε/σ.
	res := t.Sub(t.Mul(eps, t.Const(inv, K*m, 1)), t.InputGradient(t.Sum(et), xt))
	dsm := t.Reshape(rowSumSq(t, res), []int{K, m})
	perRow := t.Reshape(t.MatMul(t.Const(w, 1, K), dsm, false, false), []int{m})
	return t.Mean(perRow), eps, t.Err()
}

// exactLaplacianDims is the largest D for which ΔE is computed exactly
// (D Hessian-vector products); beyond, Hutchinson's estimate vᵀ∇²E v.
const exactLaplacianDims = 16

// value returns the m per-row terms of U_σ at σ = σ_1 and its noise
// inputs, given the per-row terms q_i = gp_i − j_i, with gp_i those of the
// Fisher divergence I(q ‖ p), and j_i those of J(q) (each (m)):
//
//	f(y)  = ‖∇E(y)‖² − 2ΔE(y)
//	f̄_i   = ½(f(x_i + σε_i) + f(x_i − σε_i))
//	e_i   = E(x_i) − ½(E(x_i + σε_i) + E(x_i − σε_i))
//	k(J)  = (C/2) J/r + (D/2) log r,  r = 1 + σ²J/D,  β = 1/r,  Ĵ = mean_i j_i
//	U_i   = (C/2)(f̄_i + β(q_i − f(x_i))) + e_i + k(Ĵ) + k′(Ĵ)(j_i − Ĵ)
//
// E_q[q_i − f(x_i)] = 0 by integration by parts, so every β gives the
// same expectation; β = 1 is the gp value plus terms of order σ², of
// small variance near q = p_θ, and β → 0 where J(q) ≫ D/σ², where q_i
// (of size ‖∇E‖ √j_i) would swamp the value with noise.
func (df *Diffusion) value(n Nets, x, cross, fisher *autodiff.Node) (samples *autodiff.Node, noises []*autodiff.Node, err error) {
	t := n.Tape
	m, D := x.Shape()[0], float64(n.DataDim)
	s, c := df.Sigmas[0], df.LSI
	eps := noise(t, "diffusion_value_eps", m, n.DataDim)
	noises = []*autodiff.Node{eps}
	var probe *autodiff.Node
	if n.DataDim > exactLaplacianDims {
		probe = noise(t, "diffusion_probe", m, n.DataDim)
		noises = append(noises, probe)
	}
	se := t.Scale(eps, s)
	var es, fs [3]*autodiff.Node // at x, x + σε, x − σε
	for k, y := range []*autodiff.Node{x, t.Add(x, se), t.Sub(x, se)} {
		if es[k], err = n.energy(y); err != nil {
			return nil, nil, err
		}
		grad := t.InputGradient(t.Sum(es[k]), y)
		fs[k] = t.Sub(rowSumSq(t, grad), t.Scale(laplacian(t, grad, y, probe), 2))
	}
	fbar := t.Scale(t.Add(fs[1], fs[2]), 0.5)
	ediff := t.Sub(es[0], t.Scale(t.Add(es[1], es[2]), 0.5))
	jh := t.Mean(fisher)
	r := t.Affine(jh, s*s/D, 1) // 1 + σ²Ĵ/D
	beta := t.Pow(r, -1)
	k := t.Add(t.Scale(t.Mul(jh, beta), c/2), t.Scale(t.Log(r), D/2))
	kp := t.Add(t.Scale(t.Pow(r, -2), c/2), t.Scale(beta, s*s/2))
	lin := t.Add(t.Mul(kp, t.Sub(fisher, jh)), k)
	fisherDiv := t.Add(fbar, t.Mul(beta, t.Sub(cross, fs[0])))
	return t.Add(lin, t.Add(t.Scale(fisherDiv, c/2), ediff)), noises, t.Err()
}

// crossTerm returns ‖a‖² + 2⟨a, b⟩ = ‖a + b‖² − ‖b‖² per row (m) for
// a, b (m, d), without cancellation when b is large.
func crossTerm(t *autodiff.Tape, a, b *autodiff.Node) *autodiff.Node {
	return t.SumAxes(t.Mul(a, t.Add(a, t.Scale(b, 2))), []int{1}, false)
}

// laplacian returns ΔE per row (rows) from grad = ∇E(y) (rows, D): exactly
// by D Hessian-vector products, or, with a probe v (rows, D),
// Hutchinson's vᵀ∇²E v. Rows must not interact (no batch statistics).
func laplacian(t *autodiff.Tape, grad, y, probe *autodiff.Node) *autodiff.Node {
	if probe != nil {
		hv := t.VJP([]*autodiff.Node{grad}, []*autodiff.Node{probe}, []*autodiff.Node{y})[0]
		return t.SumAxes(t.Mul(hv, probe), []int{1}, false)
	}
	rows, D := y.Shape()[0], y.Shape()[1]
	var sum *autodiff.Node
	for k := 0; k < D; k++ {
		e := onehot(t, rows, D, k)
		hk := t.SumAxes(t.Mul(t.VJP([]*autodiff.Node{grad}, []*autodiff.Node{e}, []*autodiff.Node{y})[0], e), []int{1}, false)
		if sum == nil {
			sum = hk
		} else {
			sum = t.Add(sum, hk)
		}
	}
	return sum
}
