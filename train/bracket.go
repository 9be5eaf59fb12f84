package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/train/data"
	"github.com/ebmpipe/ebmpipe/train/metrics"
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
	// TailK is the Pareto k̂ of the squared importance weights (omitted
	// when not finite: −∞ for a flat tail).
	TailK *float64 `json:"tail_k,omitempty"`
	// Folds reports that det J of the generator changed sign over the
	// draws: it is not one-to-one.
	Folds bool   `json:"folds,omitempty"`
	folds string // the reason, for the other bounds
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
	if cb.Folds {
		cb.folds = br.Lower.Reason
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

// outputOp returns the type of the operator that makes the network's
// first output, looking through operators that only reshape.
func (n *network) outputOp() string {
	g := n.model.GetGraph()
	if len(g.GetOutput()) == 0 {
		return ""
	}
	name := g.GetOutput()[0].GetName()
	reshape := []string{"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"}
	for range g.GetNode() {
		i := slices.IndexFunc(g.GetNode(), func(nd *onnx.NodeProto) bool { return slices.Contains(nd.GetOutput(), name) })
		if i < 0 {
			return ""
		}
		nd := g.GetNode()[i]
		if !slices.Contains(reshape, nd.GetOpType()) || len(nd.GetInput()) == 0 {
			return nd.GetOpType()
		}
		name = nd.GetInput()[0]
	}
	return ""
}

// setLSI sets the log-Sobolev constant of the Fisher-type upper bounds.
func setLSI(upper bounds.Upper, c float64) {
	switch u := upper.(type) {
	case *bounds.GradientPenalty:
		u.LSI = c
	case *bounds.Diffusion:
		u.LSI = c
	}
}

// measureBracket runs the certified bracket's program ev (built on a
// bounds.Certified lower bound) over samples rows in batches, from the
// data of s, and returns the bracket. A singular generator Jacobian makes
// the bracket unavailable, not an error.
func measureBracket(c *bounds.Certified, ev *evalProgram, s *data.Sampler, zr, nr *data.RNG, samples, batch, d int) (*CertifiedBracket, error) {
	var eData stats
	logW := make([]float64, 0, samples)
	var folds bounds.FoldCheck
	for b := 0; b*batch < samples; b++ {
		rows := min(batch, samples-b*batch)
		if err := ev.run(s, zr, nr); err != nil {
			return unavailableBracket(fmt.Sprintf("the generator's Jacobian could not be used: %v", err)), nil
		}
		for i := range rows {
			eData.add(ev.eData[i])
			logW = append(logW, ev.h[i]-ev.eSamp[i])
		}
		folds.Add(ev.jac[:rows*d*d], d)
	}
	br, err := c.Bracket(bounds.MeanSE{Value: eData.mean(), StdErr: math.Sqrt(eData.sem2())}, logW, folds)
	if err != nil {
		return nil, err
	}
	return newCertifiedBracket(br, folds), nil
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
	for _, k := range []string{"gp", "diffusion"} {
		if _, ok := rep.Upper[k]; ok {
			delete(rep.Upper, k)
			rep.NotBounds[k] = why
		}
	}
}

// evaluateCertified measures the certified bracket of the pair nets
// (energy, generator, …) on o.Samples rows of data.
func evaluateCertified(nets []*network, ds *data.Dataset, o BoundsOptions) (*CertifiedBracket, error) {
	D, d := ds.Width, nets[1].inWidth
	c := bounds.DefaultCertified()
	c.OutputOp, c.Kinks = nets[1].outputOp(), bounds.KinkedOps(nets[1].model.GetGraph())
	ev, err := newEvalProgram(nets, &c, nil, o.BatchSize, D, d)
	var ue *bounds.UnavailableError
	if errors.As(err, &ue) {
		return unavailableBracket(ue.Reason), nil
	}
	if err != nil {
		return nil, fmt.Errorf("certified bracket: %w", err)
	}
	defer ev.vm.Close()
	s, err := data.NewSampler(ds, o.Seed)
	if err != nil {
		return nil, err
	}
	return measureBracket(&c, ev, s, data.NewRNG(o.Seed, "z"), data.NewRNG(o.Seed, "noise"), o.Samples, o.BatchSize, d)
}

// bracketMonitor measures the certified bracket during training.
type bracketMonitor struct {
	c          bounds.Certified
	ev         *evalProgram
	ds         *data.Dataset
	seed       uint64
	samples, d int
	batch      int
}

func newBracketMonitor(nets []*network, ds *data.Dataset, o Options) (*bracketMonitor, error) {
	D, d := ds.Width, nets[1].inWidth
	if D != d {
		return nil, fielderr.Errorf("{BracketEvery}: the certified bracket needs as many latent as data dimensions (the generator maps %d to %d)", d, D)
	}
	bm := &bracketMonitor{c: bounds.DefaultCertified(), ds: ds, seed: o.Seed, samples: o.BracketSamples, d: d, batch: min(o.BracketSamples, 500)}
	bm.c.OutputOp, bm.c.Kinks = nets[1].outputOp(), bounds.KinkedOps(nets[1].model.GetGraph())
	var err error
	if bm.ev, err = newEvalProgram(nets, &bm.c, nil, bm.batch, D, d); err != nil {
		return nil, fielderr.Errorf("{BracketEvery}: %w", err)
	}
	return bm, nil
}

// log measures the bracket with the networks' current parameters (the
// generator in inference mode) on draws fixed by the seed and step, and
// adds its certified limits to acc.
func (bm *bracketMonitor) log(acc *metrics.Accum, step int) error {
	s, err := data.NewSampler(bm.ds, bm.seed+uint64(step))
	if err != nil {
		return err
	}
	tag := strconv.Itoa(step)
	br, err := measureBracket(&bm.c, bm.ev, s, data.NewRNG(bm.seed, "bracket-z"+tag), data.NewRNG(bm.seed, "bracket-noise"+tag), bm.samples, bm.batch, bm.d)
	if err != nil {
		return fmt.Errorf("certified bracket at iteration %d: %w", step, err)
	}
	if br.Lower.Certified {
		acc.Add(metrics.ColBracketLower, br.Lower.Limit)
	}
	if br.Upper.Certified {
		acc.Add(metrics.ColBracketUpper, br.Upper.Limit)
	}
	return nil
}
