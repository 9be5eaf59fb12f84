// Package bounds builds the bidirectional bounds on the negative
// log-likelihood of an energy-based model p_θ(x) = exp(−E_θ(x))/Z_θ used to
// train it against a generator x = G_φ(z), z ~ N(0, I_d) (Geng et al.,
// "Exploring Bidirectional Bounds for Minimax-Training of Energy-Based
// Models", IJCV 2025; "Bounds all around", NeurIPS 2021).
//
// For any generator law q, log Z_θ = −E_q[E_θ] + H(q) + KL(q ‖ p_θ), so
//
//	L_low = E_data[E_θ] − E_q[E_θ] + H_low ≤ NLL(θ) ≤ L_low + U = L_up
//
// whenever H_low ≤ H(q) (a Lower bound) and U ≥ KL(q ‖ p_θ) (an Upper
// bound). Each bound is built on an autodiff.Tape as an Estimate: Value
// carries the theoretical constants (nats per example), Loss the practical
// training weights, and Trains the networks Loss is for. The trainer's
// energy step minimises mean E(data) − mean E(G(z)) + upper.Loss; its
// generator step minimises mean E(G(z)) + lower.Loss. Input gradients,
// JVPs and VJPs come from the tape's own derivative rules, so the losses
// can be differentiated once more by Tape.ParamGrads (double backprop).
//
// Notation: z_i (i = 1…m) the rows of Batch.Z, x_i = G(z_i), J_i = J(z_i)
// = ∂G/∂z (D×d), s_min its smallest singular value, H(z) = (d/2) log 2πe.
// All expectations below are batch means; Samples holds the per-row terms.
// Every bound assumes the generator maps rows independently (no batch
// statistics).
//
// # Lower bounds (H_low ≤ H(q))
//
// "jacobian-exact" and "jacobian" (JacobianEntropy):
//
//	h_i   = ½ log det(J_iᵀJ_i)          (Exact; J formed from min(d, D) products)
//	h_i   = d · log s_min(J_i)          (≤ ½ log det JᵀJ; s_min by Rayleigh–Ritz)
//	Value = H(z) + mean_i h_i
//	Loss  = −λ_H · Value                (trains the generator; λ_H = 1)
//
// s_min = ‖J v‖/‖v‖ for the vector v of a block Rayleigh–Ritz iteration on
// JᵀJ (span of v, the residual and the previous update; default 2
// iterations, started from the Noise input), with J v by the double-VJP
// trick and Jᵀw by a VJP, J never formed. v is a constant to derivatives,
// which is exact to first order at an eigenvector. A Ritz value bounds
// s_min from above, so before convergence d · log s_min may exceed
// ½ log det JᵀJ; with d ≤ 2 one iteration is exact. For D > d, H(q) is the
// entropy on the generator's d-dimensional range.
//
// "mi" (MutualInformationEntropy, our reading): a noisy generator
// x_i = G(z_i) + σ ε_i and an encoder returning the mean μ and
// log-variance ℓ of r_ψ(z | x) = N(μ(x), diag e^ℓ(x)):
//
//	log r_i = Σ_k [−½ log 2π − ½ ℓ_k(x_i) − ½ (z_ik − μ_k(x_i))² e^{−ℓ_k(x_i)}]
//	Value   = (D/2) log(2πeσ²) + H(z) + mean_i log r_i   ≤ H(q_σ)
//	Loss    = −λ_H · Value        (trains the generator and the encoder; σ = 0.1, λ_H = 1)
//
// (Barber–Agakov: I(x; z) ≥ H(z) + E log r.) The bound is on the entropy of
// the noisy samples Estimate.X, where E_q[E] must be evaluated.
//
// # Upper bounds (U ≥ KL(q ‖ p_θ))
//
// Both upper bounds use the log-Sobolev inequality KL(ν ‖ p_θ) ≤
// (C/2) E_ν‖∇log ν − ∇log p_θ‖², with C the log-Sobolev constant of p_θ
// (field LSI; λ_max(Σ) for a Gaussian p_θ; 1 by default, since it is
// unknown for a general energy), and the generator score
//
//	g_i = ∇_z log q(G(z_i)) = −z_i − ∇_z h(z_i),
//
// h as in the Jacobian bound (field Jacobian; exact for D = d only with
// Exact), held constant.
//
// "gp" (GradientPenalty): with u_i = ∇_z E_θ(G(z_i)) + g_i = J_iᵀ(∇log q −
// ∇log p_θ)(x_i), the tangent score difference,
//
//	GP    = ½ mean_i ‖u_i‖²              (= ½ E_v[(∇_xE·J v − ∇_z[−log q]·v)²], v ~ N(0, I_d))
//	Value = (C/2) · mean_i ‖u_i‖² / s_min(J_i)²
//	Loss  = max(0, λ_GP · GP − τ)        (trains the energy; λ_GP = 1e-3, τ = 1)
//
// Value ≥ KL(q ‖ p_θ) for D = d (‖u‖ ≥ s_min ‖∇log q − ∇log p_θ‖) with the
// exact h; the v-expectation of the public code's penalty is taken in
// closed form. Loss differentiates ∇_z E_θ(G(z)) in θ: a double backprop.
//
// "gp0" (GradientPenalty with ZeroCentred) is the baseline, not a bound
// (Estimate.Surrogate is set): Value = mean_j ‖∇_x E_θ(data_j)‖²,
// Loss = λ · Value (λ = 0.1, our choice).
//
// "diffusion" (Diffusion, our reading): noise levels σ_1 < … < σ_K
// (default 0.01, 0.04, 0.07, 0.1), x̃_ki = x_i + σ_k ε_ki,
//
//	dsm_ki = ‖−∇_x E_θ(x̃_ki) + (x̃_ki − x_i)/σ_k²‖²
//	U_ki   = (C/2) · dsm'_ki + (σ_k²/2) · ‖g_i‖²/s_min(J_i)² + E_θ(x_i) − E_θ(x̃_ki)
//	Value  = mean_i (1/K) Σ_k U_ki
//	Loss   = λ · mean_i Σ_k w_k · dsm_ki,  w_k = ½(σ_k² − σ_{k−1}²), σ_0 = 0   (trains the energy; λ = 1)
//
// where dsm' replaces the term ‖ε_ki‖²/σ_k² of dsm by its mean D/σ_k² (a
// control variate). Each U_k bounds KL(q ‖ p_θ) for D = d: KL(q‖p) =
// KL(q_σ‖p) + [H(q_σ) − H(q)] + E_q[E] − E_{q_σ}[E] for the noised law q_σ;
// denoising score matching bounds the Fisher divergence, so KL(q_σ‖p) ≤
// (C/2) E[dsm]; and H(q_σ) − H(q) ≤ (σ²/2) J(q) ≤ (σ²/2) E‖g‖²/s_min² (de
// Bruijn, with Fisher information decreasing under convolution). The bound
// is valid but loose: E[dsm] grows like D/σ², so small noise levels give
// values of order C·D/σ². The loss weights are the steps of the de Bruijn
// integral ½∫ Fisher dt over t = σ², with the same energy at every level.
package bounds
