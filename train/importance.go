package train

import (
	"fmt"
	"math"

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
	if !(o.ImportanceBroad >= 0 && o.ImportanceBroad <= 4) {
		return []error{fielderr.Errorf("{ImportanceBroad} %v: must be in [0, 4] (0: none)", o.ImportanceBroad)}
	}
	if o.ImportanceFrom < 0 {
		return []error{fielderr.Errorf("{ImportanceFrom} %d: must not be negative", o.ImportanceFrom)}
	}
	return nil
}

// A weighting is the setting of an energy step's importance-weighted
// negatives: alpha, 0 for none, and the broad draws, broad·m rows (0:
// none) from N(mean, (broadWidth·std)²) with the data's per-feature mean
// and std, pooled with the generator's samples.
//
// The broad draws see where q does not go. The pooled estimate
// Σ_i w̃_i E(x_i), each x_i weighted by exp(−E(x_i)) over the density of
// the law it was drawn from, is again a self-normalised importance
// estimate of E_{p_θ}[E], consistent for any split of the draws between
// the laws. Where p_θ gathers mass that the generator never visits (a
// well far from the data) the broad draws that land there carry large
// weights and raise the energy there; the generator's samples alone never
// would. In the study they did not keep the default's moons energy
// normalisable past 40 000 iterations, where it falls beyond their reach
// (bench/density.md §6), so Options.ImportanceBroad is off by default.
type weighting struct {
	alpha     float64
	broad     float64
	mean, std []float64
}

// broadWidth is the broad law's standard deviation in units of the
// data's.
const broadWidth = 2

// importanceNegatives returns the negative phase above for the samples x
// of the latent rows b.Z, whose energies are e (m or (m, 1)), on the nets
// bb the bounds see, with w's broad draws if any (their noise input is
// added to p.noise). Its scalar "importance_ess" is the weights'
// effective sample size over the draws, 1/(n Σ w̃_i²).
// The program is the energy step of the stage that starts at
// Options.ImportanceFrom (stages.go); before it the step has no weights
// and does not compute log q.
// A generator with BatchNormalization is refused: its density is that of
// the inference-mode map, its training samples another map's.
func (p *program) importanceNegatives(bb bounds.Nets, b bounds.Batch, batchNorm bool, e *autodiff.Node, w weighting) (*autodiff.Node, error) {
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
	logW, eAll := t.Sub(ent.Samples, e), e // −log q − E
	if w.broad > 0 {
		eY, logWY, err := p.broadDraws(bb, w, max(1, int(math.Round(w.broad*float64(m)))))
		if err != nil {
			return nil, err
		}
		logW, eAll = t.Concat(0, logW, logWY), t.Concat(0, e, eY)
	}
	logW = t.StopGradient(logW)
	wt := t.Exp(t.Sub(logW, t.MaxAxes(logW, []int{0})))
	wt = t.Div(wt, t.Sum(wt))
	n := eAll.Shape()[0]
	p.scalars[colImportanceESS] = t.Scale(t.Div(t.Const([]float64{1}), t.Sum(t.Square(wt))), 1/float64(n))
	neg := t.Add(t.Scale(t.Mean(e), 1-w.alpha), t.Scale(t.Sum(t.Mul(wt, eAll)), w.alpha))
	return neg, t.Err()
}

// broadDraws adds rows draws y = mean + broadWidth·std ⊙ ε, ε ~ N(0, I) a
// noise input of p, and returns their energies and their log-weights
// −E(y) − log g(y), g the law of y.
func (p *program) broadDraws(bb bounds.Nets, w weighting, rows int) (e, logW *autodiff.Node, err error) {
	t := bb.Tape
	D := bb.DataDim
	if len(w.mean) != D || len(w.std) != D {
		return nil, nil, fmt.Errorf("%s: broad draws: data moments of %d and %d features, want %d", p.what, len(w.mean), len(w.std), D)
	}
	eps := t.Variable("importance_broad", autodiff.Zeros(t.Dtype(), rows, D))
	p.noise = append(p.noise, eps)
	scale, shift := make([]float64, rows*D), make([]float64, rows*D)
	logNorm := float64(D) / 2 * math.Log(2*math.Pi) // −log g(y) = ½‖ε‖² + logNorm
	for j := range D {
		s := broadWidth * w.std[j]
		if !(s > 0) {
			s = broadWidth
		}
		logNorm += math.Log(s)
		for i := range rows {
			scale[i*D+j], shift[i*D+j] = s, w.mean[j]
		}
	}
	y := t.Add(t.Mul(eps, t.Const(scale, rows, D)), t.Const(shift, rows, D))
	ey, err := bb.Energy(y)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: broad draws: %w", p.what, err)
	}
	ey = t.Reshape(ey, []int{rows})
	negLogG := t.Affine(t.SumAxes(t.Square(eps), []int{1}, false), 0.5, logNorm)
	return ey, t.Sub(negLogG, ey), t.Err()
}
