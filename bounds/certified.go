package bounds

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Certified is the bracket on the NLL that needs no unknown constant. For
// a generator that is a bijection G: R^d → R^D with D = d and latent
// draws z from a proposal ρ of exact density (Proposal), the density of
// the samples is exact, q_ρ(G(z)) = ρ(z)/|det J(z)|, and so are the
// importance weights w = e^{−E(x)}/q_ρ(x) of p_θ against q_ρ. Then
//
//	lower: log Z ≥ E[log (1/K) Σ_{k≤K} w_k]   (importance-weighted; needs G injective, or on a Ball)
//	upper: log Z ≤ ½ log E[w²]                (χ², CUBO; needs G onto R^D, a fold allowed)
//
// and NLL = E_data[E] + log Z lies between E_data[E] plus each. The lower
// gap shrinks with K; the upper gap is ½ log(1 + χ²(p_θ ‖ q_ρ)), infinite
// for ρ = N(0, I) when p_θ's tails are wider than q's by a factor √2, as
// for an energy of linear growth (see DefaultProposal).
//
// Certified is a Lower whose per-row terms are −log q(x_i), q = G#N(0,
// I), so that the per-row terms of L_low are the log-weights against q;
// Bracket adds the proposal's log-ratios and turns them, with the data's
// mean energy, into the bracket with confidence limits.
type Certified struct {
	// K is the number of importance samples per group of the lower bound;
	// 0 takes ⌊√n⌋ of the n weights given to Bracket.
	K int
	// Level is the one-sided confidence level of each limit, in (½, 1).
	Level float64
	// MaxTail is the largest Pareto k̂ of the squared weights at which the
	// χ² bound counts as reliable (PSIS's threshold 0.7).
	MaxTail float64
	// OutputOp is the type of the generator's last operator (an ONNX op
	// type), if known: a squashing one (Tanh, Sigmoid, …) bounds the
	// generator's range, and the χ² bound is then not available.
	OutputOp string
	// Kinks names the generator's operators whose derivative jumps
	// (KinkedOps): with them, det J keeping its sign does not show that G
	// is injective, and the lower end's Condition says so.
	Kinks []string
	// Proposal is the latent law ρ of the draws, whose density enters the
	// weights exactly (DefaultProposal: a defensive Student-t mixture).
	Proposal Proposal
	// Shrink, in (0, 1], scales the fold radius of independent draws
	// into the radius of the latent ball on which the lower end assumes
	// G one-to-one when the generator folds (Bracket).
	Shrink float64
}

// Defaults of Certified.
const (
	DefaultLevel   = 0.95
	DefaultMaxTail = 0.7
	DefaultShrink  = 0.9
)

// Numbers of latent draws of a bracket: the one fact behind the defaults
// of `ebmpipe bounds` (DefaultDraws) and of the trainer's monitor
// (MonitorDraws).
const (
	// DrawBudget is the number of latent draws times latent dimensions
	// a bracket takes by default (DefaultDraws): a million draws in 2-D,
	// about 5 s of one core for the demo's networks, whose χ² end needs
	// about that many (a narrow, deep energy well that few draws reach:
	// k̂ 1.3–1.4 at 20 000 draws, 0.55–0.59 at a million on earlier demo
	// models), fewer where
	// each draw's Jacobian costs more.
	DrawBudget = 2000000
	// MaxDefaultDraws caps DefaultDraws in one or two dimensions.
	MaxDefaultDraws = 1000000
	// MonitorDraws is the default number of latent draws (and data rows)
	// of a bracket measured over and over during training (the trainer's
	// bracket monitor and its checkpoint selection): for speed, a
	// five-hundredth of DefaultDraws in 2-D, at about a five-hundredth of
	// its cost. Its limits are wider, and its χ² end is often unavailable
	// (k̂ above MaxTail) where DefaultDraws' would be certified.
	MonitorDraws = 2000
)

// DefaultDraws returns the default number of latent draws of a bracket
// for latent width d: DrawBudget/d, at most MaxDefaultDraws.
func DefaultDraws(d int) int {
	return min(MaxDefaultDraws, DrawBudget/max(d, 1))
}

// DefaultCertified returns the bracket with K = ⌊√n⌋, 95 % one-sided
// limits, the PSIS reliability threshold and a lower end on 0.9 of the
// fold radius.
func DefaultCertified() Certified {
	return Certified{Level: DefaultLevel, MaxTail: DefaultMaxTail, Proposal: DefaultProposal(), Shrink: DefaultShrink}
}

// Check reports every invalid field.
func (c *Certified) Check() error {
	var errs []error
	if c.K < 0 {
		errs = append(errs, fmt.Errorf("K = %d importance samples per group: want ≥ 0 (0: automatic)", c.K))
	}
	if !(c.Level > 0.5 && c.Level < 1) {
		errs = append(errs, fmt.Errorf("Level = %g: want a confidence level in (0.5, 1)", c.Level))
	}
	if !(c.MaxTail > 0 && c.MaxTail < 1) {
		errs = append(errs, fmt.Errorf("MaxTail = %g: want a Pareto shape in (0, 1)", c.MaxTail))
	}
	if !(c.Shrink > 0 && c.Shrink <= 1) {
		errs = append(errs, fmt.Errorf("Shrink = %g: want a factor in (0, 1]", c.Shrink))
	}
	if err := c.Proposal.Check(); err != nil {
		errs = append(errs, fmt.Errorf("Proposal: %w", err))
	}
	return errors.Join(errs...)
}

// Name returns "certified".
func (*Certified) Name() string { return "certified" }

// An UnavailableError reports that a bound does not apply to a model
// pair, and why.
type UnavailableError struct{ Reason string }

func (e *UnavailableError) Error() string { return "not available: " + e.Reason }

// Entropy builds the exact per-row entropy terms of the samples x = G(z)
// of b.Z (m, d): Samples holds −log q(x_i) = ½‖z_i‖² + (d/2) log 2π +
// log |det J(z_i)|, Value their mean (an unbiased estimate of H(q)), Loss
// −Value (trains the generator), X the samples and Jacobian J (m, d, d),
// whose determinant signs FoldCheck counts. For D ≠ d it returns an
// *UnavailableError.
func (c *Certified) Entropy(n Nets, b Batch) (Estimate, error) {
	e, err := c.entropy(n, b)
	if err != nil {
		return Estimate{}, fmt.Errorf("%s bracket: %w", c.Name(), err)
	}
	return e, nil
}

func (c *Certified) entropy(n Nets, b Batch) (Estimate, error) {
	if err := c.Check(); err != nil {
		return Estimate{}, err
	}
	if err := n.check(Generator); err != nil {
		return Estimate{}, err
	}
	if n.DataDim != n.LatentDim {
		return Estimate{}, &UnavailableError{fmt.Sprintf("the generator maps d = %d latent dimensions to D = %d: its law has no density on R^D", n.LatentDim, n.DataDim)}
	}
	x, err := n.generate(b.Z)
	if err != nil {
		return Estimate{}, err
	}
	jt, err := (&JacobianEntropy{Exact: true}).terms(n, x, b.Z)
	if err != nil {
		return Estimate{}, err
	}
	t := n.Tape
	d := float64(n.LatentDim)
	samples := t.Add(jt.h, t.Affine(rowSumSq(t, b.Z), 0.5, d/2*math.Log(2*math.Pi)))
	value := t.Mean(samples)
	return finish(t, Estimate{
		Value:     value,
		Samples:   samples,
		Loss:      t.Scale(value, -1),
		Trains:    []Role{Generator},
		X:         x,
		Jacobian:  jt.jac,
		Condition: "the lower end needs an injective generator, the upper end one onto R^D",
	})
}

// A FoldCheck counts the signs of det J(z) over latent draws: a
// continuously differentiable injective map has no sign change, so one
// proves that the generator folds. It also keeps, for each sign, the
// smallest ‖z‖ at which it was seen, from which FoldRadius tells how far
// from the origin the draws found no fold.
type FoldCheck struct {
	Positive, Negative, Singular int
	// NearestPositive, NearestNegative and NearestSingular are the
	// smallest ‖z‖ among the draws of each sign (meaningful where its
	// count is positive).
	NearestPositive, NearestNegative, NearestSingular float64
}

// Add counts the determinants of the d×d matrices in jac (rows × d × d,
// row-major, as Estimate.Jacobian holds them) at the latent draws z
// (rows × d).
func (f *FoldCheck) Add(z, jac []float64, d int) {
	var lu mat.LU
	norms := RowNorms(z, d)
	for i := range min(len(jac)/(d*d), len(norms)) {
		lu.Factorize(mat.NewDense(d, d, jac[i*d*d:(i+1)*d*d]))
		count, nearest := &f.Singular, &f.NearestSingular
		switch _, sign := lu.LogDet(); {
		case sign > 0:
			count, nearest = &f.Positive, &f.NearestPositive
		case sign < 0:
			count, nearest = &f.Negative, &f.NearestNegative
		}
		if *count == 0 || norms[i] < *nearest {
			*nearest = norms[i]
		}
		*count++
	}
}

// Folds reports whether det J took both signs.
func (f FoldCheck) Folds() bool { return f.Positive > 0 && f.Negative > 0 }

// FoldRadius returns the smallest ‖z‖ of a draw whose det J differs in
// sign (singular counting as a sign of its own) from that of the draw
// nearest the origin: every draw strictly inside it has one sign. It is
// +Inf when all draws share a sign, and 0 without draws.
func (f FoldCheck) FoldRadius() float64 {
	var near []float64
	for _, s := range []struct {
		n int
		r float64
	}{{f.Positive, f.NearestPositive}, {f.Negative, f.NearestNegative}, {f.Singular, f.NearestSingular}} {
		if s.n > 0 {
			near = append(near, s.r)
		}
	}
	switch slices.Sort(near); len(near) {
	case 0:
		return 0
	case 1:
		return math.Inf(1)
	}
	return near[1]
}

// RowNorms returns the Euclidean norms of the rows of z (rows × d).
func RowNorms(z []float64, d int) []float64 {
	out := make([]float64, len(z)/d)
	for i := range out {
		ss := 0.0
		for _, v := range z[i*d : (i+1)*d] {
			ss += v * v
		}
		out[i] = math.Sqrt(ss)
	}
	return out
}

// MeanSE is a Monte-Carlo mean and its standard error.
type MeanSE struct{ Value, StdErr float64 }

// A Side is one end of the bracket, on the NLL scale (nats per example).
type Side struct {
	// Value is the estimate and StdErr its standard error (including the
	// data's mean energy); NaN when the bound is not available.
	Value, StdErr float64
	// Limit is the one-sided confidence limit: Value − z·StdErr for the
	// lower end, Value + z·StdErr for the upper one.
	Limit float64
	// Certified reports that Value is a bound with a trustworthy error:
	// available, and for the χ² end a light enough tail.
	Certified bool
	// Reason says why the end is not certified; empty when it is.
	Reason string
	// Condition says what a certified end rests on that the bracket
	// cannot check.
	Condition string
}

// A Bracket is the certified bracket Lower ≤ NLL ≤ Upper.
type Bracket struct {
	Lower, Upper Side
	// K is the number of importance samples per group of the lower end,
	// Samples the number of weights.
	K, Samples int
	// TailK is the Pareto k̂ of the squared weights w², the summands of
	// the χ² bound; TailKWeights that of the weights w.
	TailK, TailKWeights float64
	// Proposal is the latent law the weights were drawn under.
	Proposal Proposal
	// Ball is the latent region of the lower end's draws: all of R^d
	// (Radius +Inf) unless the generator folds.
	Ball Ball
	// Fold describes the fold the draws found; empty when det J kept its
	// sign.
	Fold string
}

// Width returns Upper.Limit − Lower.Limit, or NaN unless both ends are
// certified.
func (b Bracket) Width() float64 {
	if !b.Lower.Certified || !b.Upper.Certified {
		return math.NaN()
	}
	return b.Upper.Limit - b.Lower.Limit
}

// squashing lists the operator types whose output is bounded.
var squashing = []string{"Tanh", "Sigmoid", "HardSigmoid", "Softsign", "Clip", "Sin", "Cos", "Erf"}

// Weights are the log importance weights of the bracket's latent draws
// z_i ~ ρ (Certified.Proposal), x_i = G(z_i).
type Weights struct {
	// LogW[i] = −E(x_i) − log q(x_i) against the generator's own law
	// q = G#N(0, I): the per-row L_low terms of Entropy.
	LogW []float64
	// LogRatio[i] = log N(z_i) − log ρ(z_i), as Proposal.Draw returns it;
	// nil when ρ = N(0, I).
	LogRatio []float64
	// Norm[i] = ‖z_i‖ (RowNorms) of z_i in R^Dim, which the lower end
	// needs when G folds; nil refuses it then.
	Norm []float64
	Dim  int
}

// Bracket computes the bracket from the data's mean energy and the
// log-weights of the draws of c.Proposal, with the fold check of their
// Jacobians (folds) and that of latent draws independent of them (indep,
// zero when there are none): both ends use the weights p̃/q_ρ against the
// proposal's law. When folds finds a fold, the lower end keeps the draws
// inside the ball ‖z‖ ≤ Shrink·indep.FoldRadius() (see Ball).
func (c *Certified) Bracket(energyData MeanSE, w Weights, folds, indep FoldCheck) (Bracket, error) {
	if err := c.Check(); err != nil {
		return Bracket{}, fmt.Errorf("%s bracket: %w", c.Name(), err)
	}
	logW, err := c.proposalWeights(w)
	if err != nil {
		return Bracket{}, fmt.Errorf("%s bracket: %w", c.Name(), err)
	}
	n := len(logW)
	br := Bracket{Samples: n, TailKWeights: ParetoK(logW), Proposal: c.Proposal, Ball: Ball{Radius: math.Inf(1), Mass: 1, Draws: n}}
	sq := make([]float64, n)
	for i, l := range logW {
		sq[i] = 2 * l
	}
	br.TailK = ParetoK(sq)
	z := distuv.UnitNormal.Quantile(c.Level)
	if folds.Folds() {
		br.Fold = fmt.Sprintf("the generator folds: det J is positive at %d and negative at %d of the latent draws, so it is not one-to-one and the latent density over |det J| is not its density",
			folds.Positive, folds.Negative)
	}
	lowW, why := logW, br.Fold
	if br.Fold != "" {
		br.Ball, lowW, why = c.ball(logW, w, folds, indep, br.Fold)
	}
	br.K = c.K
	if br.K == 0 {
		br.K = max(1, int(math.Sqrt(float64(len(lowW)))))
	}
	br.Lower = c.lower(energyData, lowW, br.K, z, why)
	br.Upper = c.upper(energyData, logW, br.TailK, z)
	if br.Lower.Certified {
		br.Lower.Condition = c.injective(folds, br.Ball)
	}
	if br.Upper.Certified {
		br.Upper.Condition = fmt.Sprintf("needs a generator onto R^D (D = d, draws %s)", c.Proposal)
		if br.Fold != "" {
			br.Upper.Condition += fmt.Sprintf("; it folds (det J positive at %d, negative at %d draws), which leaves this end a bound: "+
				"the weights then estimate ∫ e^{−E(x)}·#G⁻¹(x) dx ≥ Z (area formula)", folds.Positive, folds.Negative)
		}
	}
	return br, nil
}

// proposalWeights returns the log-weights log p̃(x_i)/q_ρ(x_i).
func (c *Certified) proposalWeights(w Weights) ([]float64, error) {
	n := len(w.LogW)
	if n < 4 {
		return nil, fmt.Errorf("%d weights: want at least 4", n)
	}
	if w.LogRatio != nil && len(w.LogRatio) != n {
		return nil, fmt.Errorf("%d log-weights but %d proposal log-ratios", n, len(w.LogRatio))
	}
	logW := make([]float64, n)
	for i, l := range w.LogW {
		if w.LogRatio != nil {
			l += w.LogRatio[i]
		}
		if math.IsNaN(l) || math.IsInf(l, 1) {
			return nil, fmt.Errorf("log-weight %d is %g", i, l)
		}
		logW[i] = l
	}
	return logW, nil
}

// injective is the lower end's condition: an injective generator on the
// ball b, which the sign test of det J supports for a smooth one but
// cannot show for one with kinks.
func (c *Certified) injective(f FoldCheck, b Ball) string {
	s := fmt.Sprintf("needs an injective generator (no fold found: det J keeps its sign at %d latent draws)", f.Positive+f.Negative+f.Singular)
	if !math.IsInf(b.Radius, 1) {
		s = b.String()
	}
	if len(c.Kinks) > 0 {
		s += fmt.Sprintf("; the generator is piecewise smooth (%s): q_ρ = ρ(z)/|det J| still holds on each piece, "+
			"but a constant sign of det J does not rule out a fold at the kinks (a branched cover)", strings.Join(c.Kinks, ", "))
	}
	return s
}

// unavailable is a side with no value.
func unavailable(reason string) Side {
	return Side{Value: math.NaN(), StdErr: math.NaN(), Limit: math.NaN(), Reason: reason}
}

// lower is E_data[E] + mean_g log (1/K) Σ_{k∈g} w_k over ⌊n/K⌋ groups.
func (c *Certified) lower(ed MeanSE, logW []float64, k int, z float64, why string) Side {
	if why != "" {
		return unavailable(why)
	}
	groups := len(logW) / k
	if groups < 2 {
		return unavailable(fmt.Sprintf("%d weights make fewer than 2 groups of K = %d", len(logW), k))
	}
	ls := make([]float64, groups)
	for g := range ls {
		ls[g] = logMeanExp(logW[g*k : (g+1)*k])
	}
	m, se := meanStdErr(ls)
	s := Side{Value: ed.Value + m, StdErr: math.Hypot(ed.StdErr, se), Certified: true}
	s.Limit = s.Value - z*s.StdErr
	return s
}

// upper is E_data[E] + ½ log mean_i w_i², its standard error by the delta
// method.
//
// A fold does not make it unavailable: by the area formula,
// E_ρ[e^{−E(G(z))} |det J(z)|/ρ(z)] = ∫ e^{−E(x)} n(x) dx with n(x) the
// number of preimages of x, at least 1 for G onto R^D, so the weights of
// a folding G estimate a Z' ≥ Z and ½ log E[w²] ≥ log Z' ≥ log Z.
func (c *Certified) upper(ed MeanSE, logW []float64, tail, z float64) Side {
	if op := c.OutputOp; slices.ContainsFunc(squashing, func(s string) bool { return strings.EqualFold(s, op) }) {
		return unavailable(fmt.Sprintf("the generator's output comes from %s, which bounds its range: q covers only part of R^D, and the mass of p_θ outside it is missed", op))
	}
	if tail >= 1 {
		return unavailable(fmt.Sprintf("E[w²] looks infinite (Pareto k̂ of w² = %.2f ≥ 1 over %d draws): p_θ has mass where the proposal has little "+
			"(wider tails, or a narrow deep energy well that few draws reach); more draws may resolve a well", tail, len(logW)))
	}
	top := slices.Max(logW)
	w2 := make([]float64, len(logW))
	for i, l := range logW {
		w2[i] = math.Exp(2 * (l - top))
	}
	m, se := meanStdErr(w2)
	s := Side{Value: ed.Value + top + 0.5*math.Log(m), Certified: true}
	s.StdErr = math.Hypot(ed.StdErr, 0.5*se/m)
	s.Limit = s.Value + z*s.StdErr
	if !(tail <= c.MaxTail) && !math.IsInf(tail, -1) {
		s.Certified = false
		s.Reason = fmt.Sprintf("unreliable: Pareto k̂ of w² = %.2f > %.2f over %d draws, too heavy a tail for the Monte-Carlo mean and its error", tail, c.MaxTail, len(logW))
	}
	return s
}

// logMeanExp returns log (1/n) Σ e^{x_i}.
func logMeanExp(xs []float64) float64 {
	top := slices.Max(xs)
	if math.IsInf(top, -1) {
		return top
	}
	s := 0.0
	for _, x := range xs {
		s += math.Exp(x - top)
	}
	return top + math.Log(s/float64(len(xs)))
}

// meanStdErr returns the mean of xs and its standard error.
func meanStdErr(xs []float64) (mean, se float64) {
	for _, x := range xs {
		mean += x
	}
	n := float64(len(xs))
	mean /= n
	v := 0.0
	for _, x := range xs {
		v += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(v / (n - 1) / n)
}

var _ Lower = (*Certified)(nil)
