package train

import (
	"fmt"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
)

// Importance-weighted negatives: with Options.ImportanceNegatives α in
// (0, 1], from iteration Options.ImportanceFrom on (counting from 0), the
// energy's negative phase mean E(G(z)) becomes
//
//	(1 − α) · mean_i E(x_i) + α · Σ_i w̃_i E(x_i),  x_i = G(z_i),
//	w̃ = softmax_i(−E(x_i) − log q(x_i)),
//	−log q(x_i) = ½‖z_i‖² + (d/2) log 2π + log |det J(z_i)|,
//
// the weights held constant (no gradient flows through them). Σ w̃_i ∇E(x_i)
// is the self-normalised importance estimate of E_{p_θ}[∇E], so with α = 1
// the energy's gradient is the likelihood's, mean ∇E(data) − E_{p_θ}[∇E],
// rather than mean ∇E(data) − E_q[∇E]. The difference matters where q and
// p_θ put different weights on separated modes: the plain negative phase
// compares the data only with q, and nothing moves a mode's weight in p_θ
// while the generator, which cannot carry mass between wells, keeps its
// own (bench/density.md). log q is exact only when the generator is one to
// one and its latent and data dimensions are equal; the latter is
// required. The generator's loss and every bound stay unchanged.
//
// The weights are only as good as q covers p_θ: from the start of a run,
// when the generator is a cloud and the energy sharpens, one well that q
// misses takes all the mass (bench/density.md); ImportanceFrom lets the
// generator reach the modes first.

// colImportanceESS is the metrics column of the weights' effective sample
// size over the batch; empty (NaN) in the rows before ImportanceFrom.
const colImportanceESS = "importance_ess"

// checkImportance reports an invalid Options.ImportanceNegatives.
func (o *Options) checkImportance() []error {
	a := o.ImportanceNegatives
	if !(a >= 0 && a <= 1) {
		return []error{fielderr.Errorf("{ImportanceNegatives} %v: must be in [0, 1] (0: off)", a)}
	}
	if o.ImportanceFrom < 0 {
		return []error{fielderr.Errorf("{ImportanceFrom} %d: must not be negative", o.ImportanceFrom)}
	}
	return nil
}

// importanceNegatives returns the negative phase above for the samples x
// of the latent rows b.Z, whose energies are e (m or (m, 1)), on the nets
// bb the bounds see. Its scalar "importance_ess" is the weights' effective
// sample size over m, 1/(m Σ w̃_i²).
// The program is the energy step of the stage that starts at
// Options.ImportanceFrom (stages.go); before it the step has no weights
// and does not compute log q.
// A generator with BatchNormalization is refused: its density is that of
// the inference-mode map, its training samples another map's.
func (p *program) importanceNegatives(bb bounds.Nets, b bounds.Batch, batchNorm bool, e *autodiff.Node, alpha float64) (*autodiff.Node, error) {
	t := bb.Tape
	if bb.DataDim != bb.LatentDim {
		return nil, fmt.Errorf("%s: importance-weighted negatives need latent and data dimensions equal, not %d and %d", p.what, bb.LatentDim, bb.DataDim)
	}
	if batchNorm {
		return nil, fmt.Errorf("%s: importance-weighted negatives need a generator without BatchNormalization", p.what)
	}
	c := bounds.DefaultCertified()
	ent, err := c.Entropy(bb, b)
	if err != nil {
		return nil, fmt.Errorf("%s: importance-weighted negatives: %w", p.what, err)
	}
	m := b.Z.Shape()[0]
	e = t.Reshape(e, []int{m})
	logW := t.StopGradient(t.Sub(ent.Samples, e))
	w := t.Exp(t.Sub(logW, t.MaxAxes(logW, []int{0})))
	w = t.Div(w, t.Sum(w))
	p.scalars[colImportanceESS] = t.Scale(t.Div(t.Const([]float64{1}), t.Sum(t.Square(w))), 1/float64(m))
	neg := t.Add(t.Scale(t.Mean(e), 1-alpha), t.Scale(t.Sum(t.Mul(w, e)), alpha))
	return neg, t.Err()
}
