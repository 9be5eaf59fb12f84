package bounds

import (
	"fmt"
	"math"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// MutualInformationEntropy is the Barber–Agakov lower bound on the entropy
// of a noisy generator x = G(z) + σε, ε ~ N(0, I_D):
//
//	H(x) = H(x | z) + I(x; z) ≥ H(x | z) + H(z) + E[log r_ψ(z | x)],
//
// with H(x | z) = (D/2) log 2πeσ², H(z) = (d/2) log 2πe and the encoder's
// Gaussian posterior r_ψ(z | x) = N(μ_ψ(x), diag exp ℓ_ψ(x)). The encoder
// returns (m, 2d): the means, then the log-variances ℓ. The bound is tight
// when r_ψ is the true posterior. No Jacobians are needed.
type MutualInformationEntropy struct {
	// Sigma is σ, the standard deviation of the generator's output noise.
	Sigma float64
	// Weight is λ_H in the loss −λ_H · Value.
	Weight float64
}

// DefaultMISigma is the default output noise σ of the noisy generator (our
// choice; the public code has no such bound).
const DefaultMISigma = 0.1

// NewMutualInformationEntropy returns the bound with σ = DefaultMISigma
// and λ_H = 1.
func NewMutualInformationEntropy() *MutualInformationEntropy {
	return &MutualInformationEntropy{Sigma: DefaultMISigma, Weight: 1}
}

// Name returns "mi".
func (*MutualInformationEntropy) Name() string { return "mi" }

// Entropy builds the bound for x = G(z) + σε on the rows of b.Z (m, d).
//
// Samples holds H(x | z) + H(z) + log r_ψ(z_i | x_i) per row, Value their
// mean, Loss = −λ_H · Value (trains the generator and the encoder). Noise
// holds ε, shaped (m, D); X holds x, where L_low evaluates E_q[E].
// Extra["log_r"] is the mean log r_ψ(z | x).
func (mi *MutualInformationEntropy) Entropy(n Nets, b Batch) (Estimate, error) {
	e, err := mi.entropy(n, b)
	if err != nil {
		return Estimate{}, fmt.Errorf("mi entropy: %w", err)
	}
	return e, nil
}

func (mi *MutualInformationEntropy) entropy(n Nets, b Batch) (Estimate, error) {
	if !(mi.Sigma > 0) {
		return Estimate{}, fmt.Errorf("noise σ = %g: want > 0", mi.Sigma)
	}
	if mi.Weight < 0 {
		return Estimate{}, fmt.Errorf("weight λ_H = %g: want ≥ 0", mi.Weight)
	}
	if err := n.check(Generator, Encoder); err != nil {
		return Estimate{}, err
	}
	g, err := n.generate(b.Z)
	if err != nil {
		return Estimate{}, err
	}
	t := n.Tape
	m, d, D := g.Shape()[0], n.LatentDim, n.DataDim
	eps := noise(t, "mi_eps", m, D)
	x := t.Add(g, t.Scale(eps, mi.Sigma))
	enc, err := n.Encoder(x)
	if err != nil {
		return Estimate{}, fmt.Errorf("encoder: %w", err)
	}
	if err := matrix(enc, "encoder output", 2*d); err != nil {
		return Estimate{}, err
	}
	if enc.Shape()[0] != m {
		return Estimate{}, fmt.Errorf("encoder output has %d rows for %d samples", enc.Shape()[0], m)
	}
	mu := columns(t, enc, 0, d)
	lv := columns(t, enc, d, 2*d)
	// log r = Σ_k −½ log 2π − ½ ℓ_k − ½ (z_k − μ_k)² e^{−ℓ_k}
	quad := t.Mul(t.Square(t.Sub(b.Z, mu)), t.Exp(t.Neg(lv)))
	logr := t.SumAxes(t.Sub(t.Affine(lv, -0.5, -0.5*math.Log(2*math.Pi)), t.Scale(quad, 0.5)), []int{1}, false)
	c := float64(D)/2*math.Log(2*math.Pi*math.E*mi.Sigma*mi.Sigma) + float64(d)/2*log2πe
	samples := t.Affine(logr, 1, c)
	value := t.Mean(samples)
	return finish(t, Estimate{
		Value:     value,
		Samples:   samples,
		Loss:      t.Scale(value, -mi.Weight),
		Trains:    []Role{Generator, Encoder},
		Noise:     []*autodiff.Node{eps},
		Extra:     map[string]*autodiff.Node{"log_r": t.Mean(logr)},
		X:         x,
		Condition: fmt.Sprintf("a bound on the entropy of the noisy generator G(z) + %gε", mi.Sigma),
	})
}

// columns returns the columns [lo, hi) of a matrix.
func columns(t *autodiff.Tape, x *autodiff.Node, lo, hi int) *autodiff.Node {
	return t.Gather(x, autodiff.SliceMap(x.Shape(), []int{1}, []int{lo}, []int{hi}, []int{1}))
}
