package train

import (
	"cmp"
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
// Options.ImportanceData takes the weighted mean on draws around the data
// rows instead, whose law does not depend on the generator (weighting,
// below).
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
	if !(o.ImportanceBroadWidth >= 0 && o.ImportanceBroadWidth <= 100) {
		return []error{fielderr.Errorf("{ImportanceBroadWidth} %v: must be in [0, 100] (0: %v)", o.ImportanceBroadWidth, defaultBroadWidth)}
	}
	if !(o.ImportanceData >= 0 && o.ImportanceData <= 4) {
		return []error{fielderr.Errorf("{ImportanceData} %v: must be in [0, 4] (0: none)", o.ImportanceData)}
	}
	if !(o.ImportanceWidth >= 0 && o.ImportanceWidth <= 1) {
		return []error{fielderr.Errorf("{ImportanceWidth} %v: must be in [0, 1] (0: %v)", o.ImportanceWidth, defaultDataWidth)}
	}
	if !(o.GeneratorMatch >= 0 && o.GeneratorMatch <= 1e4) {
		return []error{fielderr.Errorf("{GeneratorMatch} %v: must be in [0, 10000] (0: off)", o.GeneratorMatch)}
	}
	if o.GeneratorMatchSteps < 0 || o.GeneratorMatchFrom < 0 {
		return []error{fielderr.Errorf("{GeneratorMatchFrom} %d, {GeneratorMatchSteps} %d: must not be negative", o.GeneratorMatchFrom, o.GeneratorMatchSteps)}
	}
	if k := o.GeneratorMatchKind; k != "" && k != MatchEnergy && k != MatchNearest {
		return []error{fielderr.Errorf("{GeneratorMatchKind} %q: want %s", k, oneOf([]string{MatchNearest, MatchEnergy}))}
	}
	if k := o.GeneratorMatchTarget; k != "" && k != MatchModel && k != MatchData {
		return []error{fielderr.Errorf("{GeneratorMatchTarget} %q: want %s", k, oneOf([]string{MatchModel, MatchData}))}
	}
	if !(o.ImportanceStart >= 0 && o.ImportanceStart <= o.ImportanceNegatives) {
		return []error{fielderr.Errorf("{ImportanceStart} %v: must be in [0, {ImportanceNegatives}] = [0, %v]", o.ImportanceStart, o.ImportanceNegatives)}
	}
	if o.ImportanceFrom < 0 || o.ImportanceSteps < 0 {
		return []error{fielderr.Errorf("{ImportanceFrom} %d, {ImportanceSteps} %d: must not be negative", o.ImportanceFrom, o.ImportanceSteps)}
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
// would. Pooled with the generator's samples and twice the data's width
// they did not keep the moons energy normalisable past 40 000 iterations,
// where it falls beyond their reach (bench/density.md §6); eight times
// the data's width, with the data draws below, they did (§7), and that is
// the default.
//
// With data draws (Options.ImportanceData r > 0) the generator's samples
// leave the weighted estimate: it is taken on r·m draws around the
// batch's data rows, y = x_j + h ⊙ ε with h = width·std, and the broad
// draws if any, each weighted by exp(−E(y)) over the density of the
// mixture of the two laws (both known in closed form: the batch's kernel
// density and the broad Gaussian), the balance heuristic of multiple
// importance sampling. Every well the data visits is then sampled in
// proportion to its data weight, whatever the generator covers; the
// generator's samples still enter with weight 1 − α, unweighted. The
// generator's log-density is not needed, so neither are d = D nor a
// generator without BatchNormalization.
type weighting struct {
	alpha float64
	// alphaFrom, alphaSteps and alphaStart: alpha rises linearly from
	// alphaStart at iteration alphaFrom to alpha alphaSteps later (0:
	// alpha throughout).
	alphaFrom, alphaSteps int
	alphaStart            float64
	broad                 float64
	broadWidth            float64 // the broad law's std, in data stds (0: defaultBroadWidth)
	data                  float64 // data draws per batch row (0: none)
	dataWidth             float64 // their kernels' std, in data stds (0: defaultDataWidth)
	// match, in a generator step, weighs the distance (matchKind) between
	// the generator's samples and the weighted data draws (match.go); 0:
	// none.
	match float64
	// matchFrom and matchSteps: the match term's weight falls linearly
	// from match at iteration matchFrom to 0 matchSteps later (0: constant).
	matchFrom, matchSteps int
	matchKind             string
	matchTarget           string // MatchModel ("") or MatchData
	mean, std             []float64
}

// scaledStd returns k·std, a feature whose std is not positive taking 1.
func scaledStd(std []float64, k float64) []float64 {
	s := make([]float64, len(std))
	for j, v := range std {
		s[j] = k * cmp.Or(max(v, 0), 1)
	}
	return s
}

// defaultDataWidth is the data draws' kernel width when
// Options.ImportanceWidth is 0, in units of the data's standard
// deviation.
const defaultDataWidth = 0.05

// defaultBroadWidth is the broad law's standard deviation in units of the
// data's when Options.ImportanceBroadWidth is 0.
const defaultBroadWidth = 2

// importanceNegatives returns the negative phase above for the samples x
// of the latent rows b.Z, whose energies are e (m or (m, 1)), on the nets
// bb the bounds see, with w's broad draws if any (their noise input is
// added to p.noise). Its scalar "importance_ess" is the weights'
// effective sample size over the draws, 1/(n Σ w̃_i²).
// The program is the energy step of the stage that starts at
// Options.ImportanceFrom (stages.go); before it the step has no weights
// and does not compute log q.
// With w.data > 0 the weighted mean is taken on data draws instead
// (dataDraws). On the generator's samples, a generator with
// BatchNormalization is refused: its density is that of the
// inference-mode map, its training samples another map's.
func (p *program) importanceNegatives(bb bounds.Nets, b bounds.Batch, batchNorm bool, e *autodiff.Node, w weighting) (*autodiff.Node, error) {
	t := bb.Tape
	m := b.Z.Shape()[0]
	e = t.Reshape(e, []int{m})
	var logW, eAll *autodiff.Node // −log(law density) − E of each draw, and E
	var err error
	if w.data > 0 {
		_, eAll, logW, err = p.dataDraws(bb, b.Data, w)
	} else {
		eAll, logW, err = p.generatorDraws(bb, b, batchNorm, e, w)
	}
	if err != nil {
		return nil, err
	}
	wt := normalisedWeights(t, logW)
	n := eAll.Shape()[0]
	p.scalars[colImportanceESS] = t.Scale(t.Div(t.Const([]float64{1}), t.Sum(t.Square(wt))), 1/float64(n))
	plain, weighted := t.Mean(e), t.Sum(t.Mul(wt, eAll))
	if w.alphaSteps == 0 {
		return t.Add(t.Scale(plain, 1-w.alpha), t.Scale(weighted, w.alpha)), t.Err()
	}
	alpha := t.Input("importance_alpha")
	p.scheduled = append(p.scheduled, scheduledInput{"importance mix", alpha, linearRamp(w.alphaFrom, w.alphaSteps, w.alphaStart, w.alpha)})
	return t.Add(plain, t.Mul(alpha, t.Sub(weighted, plain))), t.Err()
}

// normalisedWeights returns the self-normalised weights w̃ =
// softmax(logW), held constant (no gradient flows through them).
func normalisedWeights(t *autodiff.Tape, logW *autodiff.Node) *autodiff.Node {
	logW = t.StopGradient(logW)
	wt := t.Exp(t.Sub(logW, t.MaxAxes(logW, []int{0})))
	return t.Div(wt, t.Sum(wt))
}

// generatorDraws returns the energies e of the generator's samples of the
// latent rows b.Z and their log-weights −E − log q, pooled with w's broad
// draws if any.
func (p *program) generatorDraws(bb bounds.Nets, b bounds.Batch, batchNorm bool, e *autodiff.Node, w weighting) (eAll, logW *autodiff.Node, err error) {
	t := bb.Tape
	if bb.DataDim != bb.LatentDim {
		return nil, nil, fmt.Errorf("%s: importance-weighted negatives need latent and data dimensions equal, not %d and %d", p.what, bb.LatentDim, bb.DataDim)
	}
	if batchNorm {
		return nil, nil, fmt.Errorf("%s: importance-weighted negatives need a generator without BatchNormalization", p.what)
	}
	c := bounds.DefaultCertified()
	ent, err := c.Entropy(bb, b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: importance-weighted negatives: %w", p.what, err)
	}
	m := b.Z.Shape()[0]
	logW, eAll = t.Sub(ent.Samples, e), e // −log q − E
	if w.broad > 0 {
		eY, logWY, err := p.broadDraws(bb, w, max(1, int(math.Round(w.broad*float64(m)))))
		if err != nil {
			return nil, nil, err
		}
		logW, eAll = t.Concat(0, logW, logWY), t.Concat(0, e, eY)
	}
	return eAll, logW, t.Err()
}

// broadDraws adds rows draws y = mean + broadWidth·std ⊙ ε, ε ~ N(0, I) a
// noise input of p, and returns their energies and their log-weights
// −E(y) − log g(y), g the law of y.
func (p *program) broadDraws(bb bounds.Nets, w weighting, rows int) (e, logW *autodiff.Node, err error) {
	t := bb.Tape
	g, err := p.broadLaw(bb.DataDim, w)
	if err != nil {
		return nil, nil, err
	}
	y := g.draw(p, t, rows)
	ey, err := bb.Energy(y)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: broad draws: %w", p.what, err)
	}
	ey = t.Reshape(ey, []int{rows})
	return ey, t.Sub(t.Neg(g.logDensity(t, y)), ey), t.Err()
}

// dataDraws adds round(w.data·m) draws y around the m rows of data and,
// if w.broad > 0, round(w.broad·m) broad draws, and returns them, their
// energies and their log-weights −E(y) − log g(y), g the mixture of the
// two laws in the proportions drawn.
func (p *program) dataDraws(bb bounds.Nets, data *autodiff.Node, w weighting) (y, e, logW *autodiff.Node, err error) {
	t := bb.Tape
	m, D := data.Shape()[0], bb.DataDim
	if len(w.std) != D {
		return nil, nil, nil, fmt.Errorf("%s: data draws: data moments of %d features, want %d", p.what, len(w.std), D)
	}
	rows := max(1, int(math.Round(w.data*float64(m))))
	idx := make([]int32, rows*D)
	for i := range rows {
		for j := range D {
			idx[i*D+j] = int32((i%m)*D + j)
		}
	}
	k := kernelLaw{centres: data, h: scaledStd(w.std, cmp.Or(w.dataWidth, defaultDataWidth))}
	y = k.draw(p, t, t.Gather(data, &autodiff.IndexMap{Name: "data draws", In: []int{m, D}, Out: []int{rows, D}, Index: idx}))
	var logG *autodiff.Node
	if w.broad == 0 {
		logG = k.logDensity(t, y)
	} else {
		g, err := p.broadLaw(D, w)
		if err != nil {
			return nil, nil, nil, err
		}
		nb := max(1, int(math.Round(w.broad*float64(m))))
		y = t.Concat(0, y, g.draw(p, t, nb))
		n := float64(rows + nb)
		a := t.Affine(k.logDensity(t, y), 1, math.Log(float64(rows)/n))
		b := t.Affine(g.logDensity(t, y), 1, math.Log(float64(nb)/n))
		top := t.Max(a, b)
		logG = t.Add(top, t.Log(t.Add(t.Exp(t.Sub(a, top)), t.Exp(t.Sub(b, top)))))
	}
	n := y.Shape()[0]
	ey, err := bb.Energy(y)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: data draws: %w", p.what, err)
	}
	ey = t.Reshape(ey, []int{n})
	return y, ey, t.Sub(t.Neg(logG), ey), t.Err()
}

// A gaussLaw is N(mean, diag(std²)).
type gaussLaw struct{ mean, std []float64 }

// broadLaw returns the broad draws' law, N(mean, (broadWidth·std)²) with
// w's data moments.
func (p *program) broadLaw(D int, w weighting) (gaussLaw, error) {
	if len(w.mean) != D || len(w.std) != D {
		return gaussLaw{}, fmt.Errorf("%s: broad draws: data moments of %d and %d features, want %d", p.what, len(w.mean), len(w.std), D)
	}
	return gaussLaw{mean: w.mean, std: scaledStd(w.std, cmp.Or(w.broadWidth, defaultBroadWidth))}, nil
}

// draw returns rows draws mean + std ⊙ ε, ε ~ N(0, I) a noise input of p.
func (g gaussLaw) draw(p *program, t *autodiff.Tape, rows int) *autodiff.Node {
	D := len(g.mean)
	eps := t.Variable("importance_broad", autodiff.Zeros(t.Dtype(), rows, D))
	p.noise = append(p.noise, eps)
	return t.Add(t.Mul(eps, t.Const(g.std, 1, D)), t.Const(g.mean, 1, D))
}

// logDensity returns log g(y) for each row of y.
func (g gaussLaw) logDensity(t *autodiff.Tape, y *autodiff.Node) *autodiff.Node {
	D := len(g.mean)
	c := float64(D) / 2 * math.Log(2*math.Pi)
	inv, shift := make([]float64, D), make([]float64, D)
	for j, s := range g.std {
		c += math.Log(s)
		inv[j], shift[j] = 1/s, -g.mean[j]/s
	}
	u := t.Add(t.Mul(y, t.Const(inv, 1, D)), t.Const(shift, 1, D))
	return t.Affine(t.SumAxes(t.Square(u), []int{1}, false), -0.5, -c)
}

// A kernelLaw is the kernel density of the rows of centres with Gaussian
// kernels of standard deviations h: the mean of N(x_j, diag(h²)).
type kernelLaw struct {
	centres *autodiff.Node
	h       []float64
}

// draw returns at ⊕ h ⊙ ε, ε ~ N(0, I) a noise input of p: one draw from
// the kernel of each row of at (rows of centres).
func (k kernelLaw) draw(p *program, t *autodiff.Tape, at *autodiff.Node) *autodiff.Node {
	sh := at.Shape()
	eps := t.Variable("importance_data", autodiff.Zeros(t.Dtype(), sh[0], sh[1]))
	p.noise = append(p.noise, eps)
	return t.Add(at, t.Mul(eps, t.Const(k.h, 1, len(k.h))))
}

// logDensity returns log k(y) for each row of y, by log-sum-exp over the
// centres of −½‖(y − x_j)/h‖².
func (k kernelLaw) logDensity(t *autodiff.Tape, y *autodiff.Node) *autodiff.Node {
	D, m := len(k.h), k.centres.Shape()[0]
	inv := make([]float64, D)
	c := float64(D)/2*math.Log(2*math.Pi) + math.Log(float64(m))
	for j, h := range k.h {
		inv[j] = 1 / h
		c += math.Log(h)
	}
	u, cu := t.Mul(y, t.Const(inv, 1, D)), t.Mul(k.centres, t.Const(inv, 1, D))
	a := t.Affine(squaredDistances(t, u, cu), -0.5, 0) // (n, m)
	top := t.MaxAxes(a, []int{1})
	lse := t.Add(t.Log(t.SumAxes(t.Exp(t.Sub(a, top)), []int{1}, true)), top)
	return t.Affine(t.Reshape(lse, []int{y.Shape()[0]}), 1, -c)
}
