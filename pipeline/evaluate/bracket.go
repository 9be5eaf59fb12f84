package evaluate

import (
	"errors"
	"math"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// A BracketSide is one end of the certified bracket on the NLL, in nats
// per example.
type BracketSide struct {
	// Available reports that the end applies to the model pair; Value,
	// StdErr and Limit are zero otherwise.
	Available bool    `json:"available"`
	Value     float64 `json:"value"`
	StdErr    float64 `json:"stderr"`
	// Limit is the one-sided 95 % confidence limit (below the value for
	// the lower end, above it for the upper).
	Limit float64 `json:"limit"`
	// Certified reports a bound needing no unknown constant, with a
	// trustworthy error; Condition says why not, or what it rests on.
	Certified bool   `json:"certified"`
	Condition string `json:"condition"`
}

// CertifiedBracket is the bracket importance-weighted lower ≤ NLL ≤ χ²
// upper of bounds.Certified.
type CertifiedBracket struct {
	Lower BracketSide `json:"lower"`
	Upper BracketSide `json:"upper"`
	// Width is Upper.Limit − Lower.Limit when both ends are certified.
	Width *float64 `json:"width,omitempty"`
	// K is the number of importance samples per group of the lower end.
	K int `json:"k,omitempty"`
	// Samples is the number of latent draws, of the law Proposal.
	Samples  int    `json:"samples,omitempty"`
	Proposal string `json:"proposal,omitempty"`
	// TailK is the Pareto k̂ of the squared importance weights (omitted
	// when not finite: −∞ for a flat tail).
	TailK *float64 `json:"tail_k,omitempty"`
	// Folds reports that det J of the generator changed sign over the
	// draws: it is not one-to-one.
	Folds bool `json:"folds,omitempty"`
	// Ball is the latent ball of the lower end's draws when the generator
	// folds (bounds.Ball); omitted when it is all of R^d.
	Ball  *LatentBall `json:"ball,omitempty"`
	folds string      // the reason, for the other bounds
}

// A LatentBall is the latent region ‖z‖ ≤ Radius on which the lower end
// of the certified bracket assumes the generator one-to-one.
type LatentBall struct {
	Radius float64 `json:"radius"`
	// Mass is the proposal's probability of the ball, ρ(B).
	Mass float64 `json:"mass"`
	// Draws is the number of the bracket's latent draws inside it.
	Draws int `json:"draws"`
	// FoldRadius is the distance of the nearest sign change of det J
	// among IndependentDraws draws, of which Radius is a fixed fraction.
	FoldRadius       float64 `json:"fold_radius"`
	IndependentDraws int     `json:"independent_draws"`
}

// side converts one end of a bounds.Bracket.
func side(s bounds.Side) BracketSide {
	if math.IsNaN(s.Value) {
		return BracketSide{Condition: "not available: " + s.Reason}
	}
	b := BracketSide{Available: true, Value: s.Value, StdErr: s.StdErr, Limit: s.Limit, Certified: s.Certified, Condition: s.Reason}
	if s.Certified {
		b.Condition = s.Condition
	}
	return b
}

// newCertifiedBracket converts a bounds.Bracket.
func newCertifiedBracket(br bounds.Bracket, f bounds.FoldCheck) *CertifiedBracket {
	cb := &CertifiedBracket{
		Folds: f.Folds(),
		Lower: side(br.Lower),
		Upper: side(br.Upper),
		K:     br.K,
	}
	if br.Samples > 0 {
		cb.Samples, cb.Proposal = br.Samples, br.Proposal.String()
	}
	cb.folds = br.Fold
	if b := br.Ball; !math.IsInf(b.Radius, 1) && !math.IsNaN(b.Mass) {
		cb.Ball = &LatentBall{Radius: b.Radius, Mass: b.Mass, Draws: b.Draws, FoldRadius: b.FoldRadius, IndependentDraws: b.Independent}
	}
	if w := br.Width(); !math.IsNaN(w) {
		cb.Width = &w
	}
	if !math.IsInf(br.TailK, 0) && !math.IsNaN(br.TailK) {
		k := br.TailK
		cb.TailK = &k
	}
	return cb
}

// unavailableBracket is the bracket of a pair it does not apply to.
func unavailableBracket(reason string) *CertifiedBracket {
	s := BracketSide{Condition: "not available: " + reason}
	return &CertifiedBracket{Lower: s, Upper: s}
}

// markFolds relabels the bounds that need a one-to-one generator when
// the certified bracket found that it folds: the Jacobian lower bounds
// and the Fisher-type upper bounds are then no bounds.
func (rep *BoundsReport) markFolds() {
	c := rep.Certified
	if c == nil || !c.Folds {
		return
	}
	why := "not a bound: " + c.folds
	for _, k := range []string{"jacobian", "jacobian-exact"} {
		if v, ok := rep.Lower[k]; ok {
			v.Certified, v.Condition = false, why
			rep.Lower[k] = v
		}
	}
	for _, k := range []string{"gp", "diffusion", "latent"} {
		if _, ok := rep.Upper[k]; ok {
			delete(rep.Upper, k)
			rep.NotBounds[k] = why
		}
	}
}

// evaluateCertified measures the certified bracket of the pair p on
// o.Samples rows of ds.
func evaluateCertified(p *train.Pair, ds *data.Dataset, o BoundsOptions) (*CertifiedBracket, error) {
	s, err := data.NewSampler(ds, o.Seed)
	if err != nil {
		return nil, err
	}
	d, _ := p.Widths(bounds.Generator)
	br, folds, err := p.Bracket(train.Draws{Data: s, Z: data.NewRNG(o.Seed, "z"), Noise: data.NewRNG(o.Seed, "noise"),
		Samples: o.Samples, Latent: o.BracketDraws(d), Batch: o.BatchSize, FoldZ: data.NewRNG(o.Seed, "fold-z")})
	var ue *bounds.UnavailableError
	if errors.As(err, &ue) {
		return unavailableBracket(ue.Reason), nil
	}
	if err != nil {
		return nil, err
	}
	return newCertifiedBracket(br, folds), nil
}
