package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// The generator's match term: with Options.GeneratorMatch β > 0, from
// Options.GeneratorMatchFrom on, the generator's loss mean E(G(z)) − Ĥ(q)
// gains β times a distance between its samples x_i = G(z_i) and
// p̂ = Σ_j w̃_j δ(y_j), the self-normalised importance sample of p_θ on the
// data draws of importance.go (draws y_j around the batch's data rows and
// from the broad Gaussian, w̃ ∝ exp(−E(y))/g(y)), distances in units of
// the data's standard deviation. The weights depend on the energy only,
// and no gradient flows through them: the term pulls the generator
// towards the model density, not towards the data.
//
// Why: the loss E_q[E] − H(q) is KL(q ‖ p_θ) up to log Z, which is
// mode-seeking. A generator that pushes one Gaussian through a continuous
// map cannot carry mass across the walls between separated wells, and
// once it has settled on some of them the reverse KL, whose gradient only
// sees where q already is, has no force that brings it to the others.
// Before the importance weights start, the energy gives that force: its
// negative phase on q's samples deepens the wells q misses (the
// adversarial game); with weights on data draws (α = 1) the energy no
// longer sees q, and nothing does, unless the generator's loss does
// (bench/density.md §8).
//
// Two distances (Options.GeneratorMatchKind):
//
//   - MatchNearest (the default), Σ_j w̃_j min_i ‖x_i − y_j‖²: each draw
//     of p_θ pulls the generator's sample nearest to it (implicit maximum
//     likelihood estimation, Li and Malik 2018, with p_θ's draws for the
//     data). A well with no sample pulls the nearest ones in; in a well
//     already covered the nearest samples are close and the pull is
//     small, so the term does not blur what the reverse KL sharpens.
//   - MatchEnergy, the energy distance
//     2 Σ_ij w̃_j ‖x_i − y_j‖/n − Σ_ik ‖x_i − x_k‖/n² − Σ_jl w̃_j w̃_l ‖y_j − y_l‖,
//     a metric on laws, zero exactly when q = p̂. On 25gaussians it did
//     not help: weak, it left the generator as it was; strong, it spread
//     the samples between the wells (bench/density.md §8).
//
// Its value is the metrics column "generator_match". RecipeDefault turns
// it on (nearest, β = 30) with the sharp noise levels at iteration 5 000,
// 5 000 iterations before the weights: the window of play spreads the
// generator over the wells (25 / 25 / 25 modes on 25gaussians), and the
// term keeps pulling after it closes (bench/density.md §8–8b). Alone,
// with no window, it brings 19–21 modes (§8b).
//
// With Options.GeneratorMatchTarget MatchData the term matches the
// batch's data rows, equally weighted, instead of p̂: with no window it
// needs β ≈ 3 000 for 23 modes, and blurs, since every data row has some
// sample near it long before the modes' masses are right (§8b).

// colGeneratorMatch is the metrics column of the match term's distance.
const colGeneratorMatch = "generator_match"

// matchSmooth keeps the distances differentiable where two points meet:
// ‖a − b‖ is taken as sqrt(‖a − b‖² + matchSmooth²), in data stds.
const matchSmooth = 1e-3

// generatorMatch returns β times the distance between q and p̂ for the
// samples x of the generator step, on data draws around the rows b.Data
// (w's draws, their noise inputs added to p.noise).
func (p *program) generatorMatch(bb bounds.Nets, b bounds.Batch, x *autodiff.Node, w weighting) (*autodiff.Node, error) {
	t := bb.Tape
	var y, wt *autodiff.Node
	if w.matchTarget == MatchData {
		M := b.Data.Shape()[0]
		y = t.Reshape(b.Data, []int{M, bb.DataDim}) // image rows flattened
		wt = t.Const(slices.Repeat([]float64{1 / float64(M)}, M), M)
	} else {
		var logW *autodiff.Node
		var err error
		if y, _, logW, err = p.dataDraws(bb, b.Data, w); err != nil {
			return nil, fmt.Errorf("generator match: %w", err)
		}
		wt = normalisedWeights(t, logW)
	}
	n, D := x.Shape()[0], bb.DataDim
	inv := scaledStd(w.std, 1)
	for j := range inv {
		inv[j] = 1 / inv[j]
	}
	u := t.Mul(t.Reshape(x, []int{n, D}), t.Const(inv, 1, D))
	v := t.StopGradient(t.Mul(y, t.Const(inv, 1, D)))
	var ed *autodiff.Node
	switch w.matchKind {
	case MatchEnergy:
		ed = energyDistance(t, u, v, wt)
	default:
		ed = nearestDistance(t, u, v, wt)
	}
	p.scalars[colGeneratorMatch] = ed
	if w.matchSteps == 0 {
		return t.Scale(ed, w.match), t.Err()
	}
	beta := t.Input("generator_match_weight")
	p.scheduled = append(p.scheduled, scheduledInput{"generator match weight", beta, linearRamp(w.matchFrom, w.matchSteps, w.match, 0)})
	return t.Mul(beta, ed), t.Err()
}

// energyDistance returns the energy distance between the rows of u (n,
// D), equally weighted, and those of v (M, D) with weights wt (M,
// summing to 1), the distances smoothed by matchSmooth.
func energyDistance(t *autodiff.Tape, u, v, wt *autodiff.Node) *autodiff.Node {
	n, M := u.Shape()[0], v.Shape()[0]
	wRow := t.Reshape(wt, []int{1, M})
	cross := t.Sum(t.Mul(pairDistances(t, u, v), wRow))
	self := t.Mean(pairDistances(t, u, u))
	ww := t.MatMul(t.Reshape(wt, []int{M, 1}), wRow, false, false)
	target := t.Sum(t.Mul(pairDistances(t, v, v), ww))
	return t.Sub(t.Sub(t.Scale(cross, 2/float64(n)), self), target)
}

// nearestDistance returns Σ_j wt_j min_i ‖u_i − v_j‖², the weighted
// mean squared distance from each row of v to its nearest row of u; the
// gradient flows to the nearest rows only.
func nearestDistance(t *autodiff.Tape, u, v, wt *autodiff.Node) *autodiff.Node {
	d2 := squaredDistances(t, v, u)
	least := t.Neg(t.MaxAxes(t.Neg(d2), []int{1})) // (M, 1), no gradient
	nearest := t.StopGradient(t.Greater(t.Affine(least, 1, 1e-12), d2))
	return t.Sum(t.Mul(t.SumAxes(t.Mul(nearest, d2), []int{1}, false), wt))
}

// pairDistances returns the (n, m) matrix of sqrt(‖a_i − b_j‖² + s²),
// s = matchSmooth, for the rows of a (n, D) and b (m, D).
func pairDistances(t *autodiff.Tape, a, b *autodiff.Node) *autodiff.Node {
	return t.Sqrt(t.Affine(squaredDistances(t, a, b), 1, math.Pow(matchSmooth, 2)))
}

// squaredDistances returns the (n, m) matrix of ‖a_i − b_j‖² for the rows
// of a (n, D) and b (m, D), expanded as ‖a_i‖² + ‖b_j‖² − 2 a_i·b_j and
// floored at 0 against rounding.
func squaredDistances(t *autodiff.Tape, a, b *autodiff.Node) *autodiff.Node {
	m := b.Shape()[0]
	aa := t.SumAxes(t.Square(a), []int{1}, true)                          // (n, 1)
	bb := t.Reshape(t.SumAxes(t.Square(b), []int{1}, false), []int{1, m}) // (1, m)
	return t.Relu(t.Sub(t.Add(aa, bb), t.Scale(t.MatMul(a, b, false, true), 2)))
}

// Distances of the match term (Options.GeneratorMatchKind; "" is
// MatchNearest).
const (
	MatchNearest = "nearest"
	MatchEnergy  = "energy"
)

// Targets of the match term (Options.GeneratorMatchTarget; "" is
// MatchModel).
const (
	// MatchModel matches the importance-weighted draws of p_θ.
	MatchModel = "model"
	// MatchData matches the batch's data rows, equally weighted.
	MatchData = "data"
)
