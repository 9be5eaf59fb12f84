package bounds

import (
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// A Net is a network already placed on a tape with its parameters: it adds
// the forward pass of the batch x (rows × features) and returns the output.
// Calling it twice (data and samples) shares the parameters.
type Net func(x *autodiff.Node) (*autodiff.Node, error)

// Nets are the networks of one training step, all placed on one tape.
type Nets struct {
	Tape      *autodiff.Tape
	Energy    Net // x (n, D) → energies (n) or (n, 1)
	Generator Net // z (n, d) → samples (n, D)
	Encoder   Net // x (n, D) → (n, 2d): mean and log-variance of r(z | x); MI bound only
	DataDim   int // D
	LatentDim int // d
	// GeneratorKinks names the generator's operators whose derivative
	// jumps (KinkedOps finds them in an ONNX graph; nil: a smooth
	// generator). With any, the gp and diffusion values are marked
	// Surrogate: q jumps across the generator's pieces, which no score
	// sees.
	GeneratorKinks []string
	// EnergyKinks names the energy's operators whose derivative jumps:
	// its Laplacian then has a part on the kinks that Hessian–vector
	// products do not see, and the diffusion value is marked Surrogate.
	EnergyKinks []string
}

// A Batch is the input of one step.
type Batch struct {
	Data *autodiff.Node // (n, D) rows of data
	Z    *autodiff.Node // (m, d) latent draws, standard normal
}

// A Role names a network a loss may send gradients to.
type Role int

const (
	Energy Role = iota
	Generator
	Encoder
)

// An Estimate is a bound built on a tape.
type Estimate struct {
	// Value is the scalar the bound contributes on the NLL scale (nats per
	// example), with its theoretical constants: H(q) for a lower bound, the
	// bound on KL(q ‖ p_θ) for an upper one.
	Value *autodiff.Node
	// Samples holds the per-example terms whose mean is Value, for
	// Monte-Carlo standard errors.
	Samples *autodiff.Node
	// Loss is the scalar training term, with the practical weights (λ_H,
	// λ_GP, τ), to be added to the loss of the networks in Trains.
	Loss   *autodiff.Node
	Trains []Role
	// Noise lists inputs the caller fills with fresh standard normal draws
	// before every run (each bound documents their shapes).
	Noise []*autodiff.Node
	// Weight, if not nil, is a scalar input holding the weight of Loss that
	// changes during training (GradientPenalty with Decay); the caller sets
	// it to WeightAt(t) before a run at iteration t, counting from 0.
	Weight   *autodiff.Node
	WeightAt func(t int) float64
	// Extra holds named diagnostics such as "s_min" (scalar nodes).
	Extra map[string]*autodiff.Node
	// X, set by lower bounds, holds the generator samples (m, D) whose law
	// q the entropy is about: G(z), or G(z) + σε for the noisy generator of
	// the mutual-information bound. L_low needs E_q[E] at these points.
	X *autodiff.Node
	// Surrogate reports that Value is a monitoring quantity, not a bound
	// (the zero-centred gradient penalty, or an upper bound whose score
	// had to be approximated): L_low + Value is then no upper bound on the
	// NLL. Condition says why.
	Surrogate bool
	// Condition states what Value's being a bound rests on that the
	// estimate cannot check, such as "conditional on the log-Sobolev
	// constant C = 1 of p_θ", or, with Surrogate, why it is no bound;
	// empty when nothing beyond the bound's documented assumptions.
	Condition string
	// Jacobian, set by estimates that form it (Certified), holds the
	// generator's Jacobian per latent row, shaped (m, D, d), so that
	// callers can check the sign of its determinant (FoldCheck).
	Jacobian *autodiff.Node
}

// A Lower bound estimates the entropy H(q) of the generator from below, so
// that L_low = E_data[E] − E_q[E] + H(q) ≤ NLL.
type Lower interface {
	Name() string
	Entropy(n Nets, b Batch) (Estimate, error)
}

// An Upper bound estimates a term U ≥ KL(q ‖ p_θ), so that
// L_up = L_low + U ≥ NLL.
type Upper interface {
	Name() string
	KL(n Nets, b Batch) (Estimate, error)
}
