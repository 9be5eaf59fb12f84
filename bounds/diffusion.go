package bounds

import (
	"fmt"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// Diffusion is the multi-noise-level upper bound on KL(q ‖ p_θ) built from
// denoising score matching at noised generator samples
// x̃_k = G(z) + σ_k ε_k, k = 1…K:
//
//	DSM_k = E_{z,ε} ‖−∇_x E_θ(x̃_k) + (x̃_k − G(z))/σ_k²‖²
//	U_k   = (C/2) · DSM_k + (σ_k²/2) · E_z[‖∇_z log q(G(z))‖² / s_min²] + E_z[E_θ(G(z)) − E_θ(x̃_k)]
//	Value = (1/K) Σ_k U_k
//	Loss  = λ · Σ_k w_k · DSM_k,  w_k = ½ (σ_k² − σ_{k−1}²), σ_0 = 0
//
// Each U_k bounds KL(q ‖ p_θ): KL(q‖p) = KL(q_σ‖p) + [H(q_σ) − H(q)] +
// E_q[E] − E_{q_σ}[E] for the noised law q_σ; the log-Sobolev inequality
// of p_θ (constant C) and DSM ≥ Fisher divergence give KL(q_σ‖p) ≤
// (C/2) DSM; de Bruijn's identity and the decrease of Fisher information
// under convolution give H(q_σ) − H(q) ≤ (σ²/2) J(q), and J(q) =
// E‖J⁻ᵀ∇_z log q(G(z))‖² ≤ E[‖∇_z log q(G(z))‖²/s_min²] when D = d. The
// Jacobian field sets how ∇_z log q = −z − ∇_z h and s_min are computed.
// Loss weights the levels by the steps of the de Bruijn integral
// ½∫ I(q_t‖p_t) dt, t = σ², with the same energy at every level.
type Diffusion struct {
	// Sigmas are the noise levels σ_1 < … < σ_K.
	Sigmas []float64
	// Lambda is the practical weight λ of the loss.
	Lambda float64
	// LSI is the log-Sobolev constant C of p_θ used in Value.
	LSI float64
	// Jacobian sets how ∇_z log q(G(z)) and s_min are computed for the
	// entropy term of Value (its Weight is unused).
	Jacobian JacobianEntropy
}

// DefaultSigmas are the default noise levels: 4 levels from 0.01 to 0.1.
var DefaultSigmas = []float64{0.01, 0.04, 0.07, 0.1}

// NewDiffusion returns the bound with DefaultSigmas, λ = 1, C = 1 and
// s_min by DefaultIterations Rayleigh–Ritz iterations.
func NewDiffusion() *Diffusion {
	return &Diffusion{Sigmas: append([]float64(nil), DefaultSigmas...), Lambda: 1, LSI: 1, Jacobian: *NewJacobianEntropy(false)}
}

// Name returns "diffusion".
func (*Diffusion) Name() string { return "diffusion" }

// KL builds the bound on the rows of b.Z (m, d). Noise holds ε for all
// levels, shaped (K·m, D) (rows k·m … k·m+m−1 for level k+1), then, unless
// Jacobian.Exact, the Rayleigh–Ritz starting vectors (m, d). Samples holds
// the m per-row terms of Value. Loss trains the energy. Extra["dsm"] is
// Σ_k w_k DSM_k and Extra["s_min"] the mean s_min.
func (df *Diffusion) KL(n Nets, b Batch) (Estimate, error) {
	e, err := df.kl(n, b)
	if err != nil {
		return Estimate{}, fmt.Errorf("diffusion upper bound: %w", err)
	}
	return e, nil
}

func (df *Diffusion) kl(n Nets, b Batch) (Estimate, error) {
	K := len(df.Sigmas)
	if K == 0 {
		return Estimate{}, fmt.Errorf("no noise levels")
	}
	for i, s := range df.Sigmas {
		if !(s > 0) || (i > 0 && !(s > df.Sigmas[i-1])) {
			return Estimate{}, fmt.Errorf("noise levels %v: want positive and increasing", df.Sigmas)
		}
	}
	if df.Lambda < 0 {
		return Estimate{}, fmt.Errorf("λ = %g: want ≥ 0", df.Lambda)
	}
	if !(df.LSI > 0) {
		return Estimate{}, fmt.Errorf("log-Sobolev constant %g: want > 0", df.LSI)
	}
	if err := df.Jacobian.validate(); err != nil {
		return Estimate{}, err
	}
	if err := n.check(Energy, Generator); err != nil {
		return Estimate{}, err
	}
	x, err := n.generate(b.Z)
	if err != nil {
		return Estimate{}, err
	}
	t := n.Tape
	m, D := x.Shape()[0], n.DataDim
	eps := noise(t, "diffusion_eps", K*m, D)
	reps := make([]*autodiff.Node, K)
	sig := make([]float64, K*m)
	inv := make([]float64, K*m)
	for k, s := range df.Sigmas {
		reps[k] = x
		for i := 0; i < m; i++ {
			sig[k*m+i], inv[k*m+i] = s, 1/s
		}
	}
	xt := t.Add(t.Concat(0, reps...), t.Mul(eps, t.Const(sig, K*m, 1)))
	et, err := n.energy(xt)
	if err != nil {
		return Estimate{}, err
	}
	// −∇E(x̃) + (x̃ − G(z))/σ² = −∇E(x̃) + ε/σ. In Value, the term ‖ε‖²/σ²
	// of its square is replaced by its mean D/σ² (a control variate).
	invs := t.Const(inv, K*m, 1)
	res := t.Sub(t.Mul(eps, invs), t.InputGradient(t.Sum(et), xt))
	sq := rowSumSq(t, res)
	cv := t.Mul(t.Affine(rowSumSq(t, eps), -1, float64(D)), t.Reshape(t.Square(invs), []int{K * m}))
	dsm := t.Reshape(sq, []int{K, m})
	dsmCV := t.Reshape(t.Add(sq, t.StopGradient(cv)), []int{K, m})
	e0, err := n.energy(x)
	if err != nil {
		return Estimate{}, err
	}
	jt, err := df.Jacobian.terms(n, x, b.Z)
	if err != nil {
		return Estimate{}, err
	}
	fisher := t.Div(rowSumSq(t, jt.scoreZ(t, b.Z)), t.Square(jt.smin)) // (m)
	mean := make([]float64, K)
	w := make([]float64, K)
	s2bar, prev := 0.0, 0.0
	for k, s := range df.Sigmas {
		mean[k] = 1 / float64(K)
		w[k] = (s*s - prev) / 2
		prev = s * s
		s2bar += s * s / float64(K)
	}
	perLevel := func(x *autodiff.Node, wts []float64) *autodiff.Node { // Σ_k wts_k x_k,i (m)
		return t.Reshape(t.MatMul(t.Const(wts, 1, K), x, false, false), []int{m})
	}
	samples := t.Add(
		t.Add(t.Scale(perLevel(dsmCV, mean), df.LSI/2), t.Scale(fisher, s2bar/2)),
		t.Sub(e0, perLevel(t.Reshape(et, []int{K, m}), mean)))
	wdsm := t.Mean(perLevel(dsm, w))
	return finish(t, Estimate{
		Value:   t.Mean(samples),
		Samples: samples,
		Loss:    t.Scale(wdsm, df.Lambda),
		Trains:  []Role{Energy},
		Noise:   append([]*autodiff.Node{eps}, jt.noise...),
		Extra:   map[string]*autodiff.Node{"dsm": wdsm, "s_min": t.Mean(jt.smin)},
	})
}
