package bounds

import (
	"fmt"
	"math"
)

// A Ball is the latent region B = {‖z‖ ≤ Radius} whose draws the lower
// end of the certified bracket uses. It is all of R^d unless the
// generator folds; then Radius is Shrink times the fold radius of latent
// draws independent of the weights (FoldCheck.FoldRadius), the draws of
// the estimate inside B are a rejection sample of ρ restricted to B, of
// density ρ(z)/ρ(B), and their weights ρ(B)·p̃/q_ρ have the mean
// ∫_B e^{−E(G(z))} |det J(z)| dz = ∫_{G(B)} e^{−E(x)} dx ≤ Z when G is
// one-to-one on B (see the package doc).
type Ball struct {
	// Radius is r (+Inf: all of R^d), Mass the proposal's probability
	// ρ(B) (Proposal.Mass) and Draws the number of the weights inside B.
	Radius, Mass float64
	Draws        int
	// FoldRadius is the fold radius of the Independent draws r was
	// chosen from, Nearest that of the estimate's own draws (beyond r).
	FoldRadius, Nearest float64
	Independent         int
}

// String states the lower end's assumption on a finite ball.
func (b Ball) String() string {
	return fmt.Sprintf("needs a generator one-to-one on the latent ball ‖z‖ ≤ r = %.4g, of proposal mass ρ(B) = %.6g "+
		"(r = %.4g × %.4g, the nearest sign change of det J among %d independent draws; %d of the draws inside, det J of one sign there, "+
		"its first sign change at ‖z‖ = %.4g): this end bounds ∫_{G(B)} e^{−E} ≤ Z",
		b.Radius, b.Mass, b.Radius/b.FoldRadius, b.FoldRadius, b.Independent, b.Draws, b.Nearest)
}

// ball returns the ball of the lower end of a folding generator, the
// log-weights of the draws inside it (shifted by log ρ(B)), or the
// reason why there is none (its draws' fold check folds, indep that of
// independent draws).
func (c *Certified) ball(logW []float64, w Weights, folds, indep FoldCheck, fold string) (Ball, []float64, string) {
	b := Ball{Radius: math.NaN(), Mass: math.NaN(), FoldRadius: indep.FoldRadius(), Nearest: folds.FoldRadius(),
		Independent: indep.Positive + indep.Negative + indep.Singular}
	switch {
	case len(w.Norm) != len(logW) || w.Dim < 1:
		return b, nil, fold + "; without the draws' norms and latent width no ball inside the fold can be used"
	case b.Independent == 0:
		return b, nil, fold + "; no independent draws were checked for folds to choose a ball where it is one-to-one"
	}
	b.Radius = c.Shrink * b.FoldRadius
	if b.Nearest <= b.Radius {
		return b, nil, fmt.Sprintf("%s; it also folds inside the ball ‖z‖ ≤ %.4g chosen from %d independent draws (a sign change at ‖z‖ = %.4g)",
			fold, b.Radius, b.Independent, b.Nearest)
	}
	b.Mass = c.Proposal.Mass(b.Radius, w.Dim)
	logMass := math.Log(b.Mass)
	var in []float64
	for i, l := range logW {
		if w.Norm[i] <= b.Radius {
			in = append(in, l+logMass)
		}
	}
	if b.Draws = len(in); b.Draws < 4 {
		return b, nil, fmt.Sprintf("%s; only %d draws fall inside the ball ‖z‖ ≤ %.4g where it may be one-to-one", fold, b.Draws, b.Radius)
	}
	return b, in, ""
}
