package train

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// BoundsOptions are the settings of a bounds evaluation (`ebmpipe
// bounds`). The JSON names are the flag names.
type BoundsOptions struct {
	Energy    string `json:"energy"`
	Generator string `json:"generator"`
	Encoder   string `json:"encoder"`
	Data      string `json:"data"`
	DataRows  int    `json:"data-rows"`
	Samples   int    `json:"samples"`
	BatchSize int    `json:"batch-size"`
	Seed      uint64 `json:"seed"`
	JSON      bool   `json:"json"`
}

// DefaultBoundsOptions returns the defaults of `ebmpipe bounds`.
func DefaultBoundsOptions() BoundsOptions {
	return BoundsOptions{DataRows: 100000, Samples: 10000, BatchSize: 500, Seed: 1}
}

// AddFlags defines the options as flags on fs, with o's values as
// defaults.
func (o *BoundsOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Energy, "energy", o.Energy, "energy model `FILE.onnx` (required)")
	fs.StringVar(&o.Generator, "generator", o.Generator, "generator model `FILE.onnx` (required)")
	fs.StringVar(&o.Encoder, "encoder", o.Encoder, "encoder model `FILE.onnx` for the mutual-information bound (optional)")
	fs.StringVar(&o.Data, "data", o.Data, "data: toy:`NAME` or a .csv/.npy/.jsonl FILE, as the models take it (required)")
	fs.IntVar(&o.DataRows, "data-rows", o.DataRows, "points drawn from a toy data set, or leading rows read from a file (0: all)")
	fs.IntVar(&o.Samples, "samples", o.Samples, "data rows and generator samples per estimate")
	fs.IntVar(&o.BatchSize, "batch-size", o.BatchSize, "rows per graph run")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random seed of the samples and noise")
	fs.BoolVar(&o.JSON, "json", o.JSON, "print JSON instead of a table")
}

// Check reports every missing or invalid option.
func (o *BoundsOptions) Check() error {
	var errs []error
	for _, f := range []struct{ flag, v string }{{"energy", o.Energy}, {"generator", o.Generator}, {"data", o.Data}} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("--%s is required", f.flag))
		}
	}
	if o.Samples < 2 {
		errs = append(errs, fmt.Errorf("--samples %d: need at least 2", o.Samples))
	}
	if o.BatchSize < 2 {
		errs = append(errs, fmt.Errorf("--batch-size %d: need at least 2", o.BatchSize))
	}
	if o.DataRows < 0 || strings.HasPrefix(o.Data, "toy:") && o.DataRows < 1 {
		errs = append(errs, fmt.Errorf("--data-rows %d: must be positive for toy data, non-negative for a file", o.DataRows))
	}
	return errors.Join(errs...)
}

// A BoundValue is a Monte-Carlo estimate and its standard error.
type BoundValue struct {
	Value  float64 `json:"value"`
	StdErr float64 `json:"stderr"`
}

// BoundsReport holds every bound evaluated on a model pair, on the NLL
// scale (nats per example) with the theoretical constants: each lower
// bound is L_low = mean E(data) − mean E(G(z)) + H estimate, each upper
// bound L_up = L_low(ref) + KL bound, where the reference entropy Ref is
// "jacobian-exact" (the exact change of variables) when the latent and
// data dimensions agree, "jacobian" otherwise.
type BoundsReport struct {
	Lower           map[string]BoundValue `json:"lower"`
	Upper           map[string]BoundValue `json:"upper"`
	EnergyDataMean  float64               `json:"energy_data_mean"`
	EnergyModelMean float64               `json:"energy_model_mean"`
	Ref             string                `json:"reference_entropy"`
	Samples         int                   `json:"samples"`

	// NLL is mean E(data) + log Z when the energy model carries a log Z
	// estimate (from ebmpipe logz), nil otherwise; its standard error
	// combines both.
	NLL *BoundValue `json:"nll,omitempty"`
	// Warnings name the bounds that NLL puts on the wrong side by more than
	// three standard errors, with the likely cause.
	Warnings []string `json:"warnings,omitempty"`

	energyDataSE float64 // standard error of EnergyDataMean
}

// checkBracket sets rep.NLL from z and lists in rep.Warnings every bound
// that is on the wrong side of it by more than three combined standard
// errors.
func (rep *BoundsReport) checkBracket(z *export.LogZ) {
	if z == nil {
		return
	}
	rep.NLL = &BoundValue{rep.EnergyDataMean + z.Value, math.Hypot(rep.energyDataSE, z.StdErr)}
	// off warns that bound name of side is on the wrong side (where) of
	// the NLL, if wrong.
	off := func(name, side, where string, b BoundValue, wrong bool, cause string) {
		if !wrong {
			return
		}
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s bound %s = %.4f ± %.4f is %s NLL = %.4f ± %.4f (mean energy + log Z, %.4f ± %.4f by %s): %s",
			side, name, b.Value, b.StdErr, where, rep.NLL.Value, rep.NLL.StdErr, z.Value, z.StdErr, cmp.Or(z.Method, "an unnamed method"), cause))
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Lower)) {
		b := rep.Lower[name]
		cause := "log Z is too small"
		if name != "mi" {
			cause = "the generator is not one-to-one (where it folds, the change of variables overstates its entropy), or log Z is too small"
		}
		off(name, "lower", "above", b, b.Value-rep.NLL.Value > 3*math.Hypot(b.StdErr, rep.NLL.StdErr), cause)
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Upper)) {
		b := rep.Upper[name]
		off(name, "upper", "below", b, rep.NLL.Value-b.Value > 3*math.Hypot(b.StdErr, rep.NLL.StdErr),
			"the bound's log-Sobolev constant, taken as 1, is too small for this energy, or log Z is too large")
	}
}

// EvaluateBounds evaluates every applicable bound of package bounds on the
// model pair of o: the lower bounds jacobian, jacobian-exact (when the
// latent dimension is at most 16) and mi (with an encoder), and the upper
// bounds gp, gp0 and diffusion. Data are used as read: an exported model
// applies its own standardisation. The generator runs in inference mode.
func EvaluateBounds(o BoundsOptions) (*BoundsReport, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	ds, err := data.LoadData(o.Data, o.DataRows, o.Seed)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	e, err := loadNetwork(bounds.Energy, "energy", "energy", o.Energy, o.Seed, false)
	if err != nil {
		return nil, err
	}
	g, err := loadNetwork(bounds.Generator, "generator", "generator", o.Generator, o.Seed, false)
	if err != nil {
		return nil, err
	}
	D, d := ds.Width, g.inWidth
	if e.inWidth != D || e.outWid != 1 || g.outWid != D {
		return nil, fmt.Errorf("the energy maps %d values to %d and the generator %d to %d; the data %s has %d per row",
			e.inWidth, e.outWid, g.inWidth, g.outWid, o.Data, D)
	}
	nets := []*network{e, g}
	if o.Encoder != "" {
		r, err := loadNetwork(bounds.Encoder, "encoder", "encoder", o.Encoder, o.Seed, false)
		if err != nil {
			return nil, err
		}
		if r.inWidth != D || r.outWid != 2*d {
			return nil, fmt.Errorf("--encoder %s maps %d values to %d; want %d to %d", o.Encoder, r.inWidth, r.outWid, D, 2*d)
		}
		nets = append(nets, r)
	}
	rep := &BoundsReport{Lower: map[string]BoundValue{}, Upper: map[string]BoundValue{}, Ref: "jacobian", Samples: o.Samples}
	lowers := []string{"jacobian"}
	if d <= 16 {
		lowers = append(lowers, "jacobian-exact")
	}
	if D == d {
		rep.Ref = "jacobian-exact"
	}
	if o.Encoder != "" {
		lowers = append(lowers, "mi")
	}
	type job struct {
		lower, upper string
	}
	var jobs []job
	for _, l := range lowers {
		jobs = append(jobs, job{lower: l})
	}
	for _, u := range bounds.UpperNames() {
		if u != "none" {
			jobs = append(jobs, job{lower: rep.Ref, upper: u})
		}
	}
	batches := (o.Samples + o.BatchSize - 1) / o.BatchSize
	for k, j := range jobs {
		lower, err := bounds.LowerByName(j.lower)
		if err != nil {
			return nil, err
		}
		var upper bounds.Upper
		if j.upper != "" {
			if upper, err = bounds.UpperByName(j.upper); err != nil {
				return nil, err
			}
		}
		// Every job sees the same data rows, latent draws and noise.
		s, err := data.NewSampler(ds, o.Seed)
		if err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
		ev, err := newEvalProgram(nets, lower, upper, o.BatchSize, D, d)
		if err != nil {
			return nil, fmt.Errorf("bound %s: %w", j.lower+j.upper, err)
		}
		if upper != nil && ev.uN == nil {
			// A surrogate (gp0) bounds nothing: not reported.
			ev.vm.Close()
			continue
		}
		zr, nr := data.NewRNG(o.Seed, "z"), data.NewRNG(o.Seed, "noise")
		var eData, lowTerm, upTerm, eSamp stats
		for b := range batches {
			rows := min(o.BatchSize, o.Samples-b*o.BatchSize)
			if err := ev.run(s, zr, nr); err != nil {
				return nil, err
			}
			for i := range rows {
				eData.add(ev.eData[i])
				eSamp.add(ev.eSamp[i])
				l := -ev.eSamp[i] + ev.h[i]
				lowTerm.add(l)
				if upper != nil {
					upTerm.add(l + ev.u[i])
				}
			}
		}
		if k == 0 {
			rep.EnergyDataMean, rep.EnergyModelMean = eData.mean(), eSamp.mean()
			rep.energyDataSE = math.Sqrt(eData.sem2())
		}
		if upper == nil {
			rep.Lower[j.lower] = BoundValue{eData.mean() + lowTerm.mean(), math.Sqrt(eData.sem2() + lowTerm.sem2())}
		} else {
			rep.Upper[j.upper] = BoundValue{eData.mean() + upTerm.mean(), math.Sqrt(eData.sem2() + upTerm.sem2())}
		}
		ev.vm.Close()
	}
	meta, err := export.ReadMeta(e.model)
	if err != nil {
		return nil, fmt.Errorf("--energy %s: %w", o.Energy, err)
	}
	rep.checkBracket(meta.LogZ)
	return rep, nil
}

// stats accumulates a sample's mean and variance (Welford).
type stats struct {
	n       int
	mu, m2v float64
}

func (s *stats) add(x float64) {
	s.n++
	d := x - s.mu
	s.mu += d / float64(s.n)
	s.m2v += d * (x - s.mu)
}

func (s *stats) mean() float64 { return s.mu }

// sem2 is the squared standard error of the mean.
func (s *stats) sem2() float64 {
	if s.n < 2 {
		return math.NaN()
	}
	return s.m2v / float64(s.n-1) / float64(s.n)
}

// evalProgram computes, for one batch, the energies of data and samples
// and the per-example terms of a lower bound and, optionally, an upper
// bound.
type evalProgram struct {
	vm                     G.VM
	data, z                *G.Node
	sets                   []*importers.ParamSet
	nets                   []*network
	noise                  []*G.Node
	eDataN, eSampN, hN, uN *G.Node
	eData, eSamp, h, u     []float64
	dataBuf, zBuf          []float64
}

func newEvalProgram(nets []*network, lower bounds.Lower, upper bounds.Upper, batch, D, d int) (*evalProgram, error) {
	g := G.NewGraph()
	t := importers.NewTape(g, tensor.Float64)
	p := &evalProgram{nets: nets, dataBuf: make([]float64, batch*D), zBuf: make([]float64, batch*d)}
	p.data = t.Variable("data", zeros(tensor.Float64, batch, D))
	p.z = t.Variable("z", zeros(tensor.Float64, batch, d))
	bn := bounds.Nets{Tape: t, DataDim: D, LatentDim: d}
	for _, n := range nets {
		ps := n.net.NewParamsPrefixed(t, n.name+"/")
		p.sets = append(p.sets, ps)
		switch n.role {
		case bounds.Energy:
			bn.Energy = n.apply(t, ps, false)
		case bounds.Generator:
			bn.Generator = n.apply(t, ps, false)
		case bounds.Encoder:
			bn.Encoder = n.apply(t, ps, false)
		}
	}
	var err error
	if p.eDataN, err = bn.Energy(p.data); err != nil {
		return nil, err
	}
	x, err := bn.Generator(p.z)
	if err != nil {
		return nil, err
	}
	if p.eSampN, err = bn.Energy(x); err != nil {
		return nil, err
	}
	b := bounds.Batch{Data: p.data, Z: p.z}
	le, err := lower.Entropy(bn, b)
	if err != nil {
		return nil, fmt.Errorf("lower bound %s: %w", lower.Name(), err)
	}
	p.hN, p.noise = perExample(t, le, batch), le.Noise
	if le.X != nil && le.X != x {
		// E_q[E] on the samples the lower bound is about (mi: noisy).
		if p.eSampN, err = bn.Energy(le.X); err != nil {
			return nil, err
		}
	}
	if upper != nil {
		ue, err := upper.KL(bn, b)
		if err != nil {
			return nil, fmt.Errorf("upper bound %s: %w", upper.Name(), err)
		}
		p.noise = append(p.noise, ue.Noise...)
		if !ue.Surrogate { // gp0's value bounds nothing
			p.uN = perExample(t, ue, batch)
		}
	}
	if err := t.Err(); err != nil {
		return nil, err
	}
	p.vm = G.NewTapeMachine(g)
	return p, nil
}

// perExample returns the estimate's per-example terms as a (batch) node:
// Samples if it has one value per example, else Value broadcast.
func perExample(t *importers.Tape, e bounds.Estimate, batch int) *G.Node {
	if e.Samples != nil && onnx.ShapeSize(e.Samples.Shape()) == batch {
		return t.Reshape(e.Samples, []int{batch})
	}
	return t.Add(t.Full(0, batch), e.Value)
}

func (p *evalProgram) run(s *data.Sampler, zr, nr *data.RNG) error {
	for i, n := range p.nets {
		for k, v := range n.values {
			if err := p.sets[i].SetData(k, v); err != nil {
				return err
			}
		}
	}
	s.Next(p.dataBuf)
	for i := range p.zBuf {
		p.zBuf[i] = zr.NormFloat64()
	}
	if err := importers.CopyIn(p.data, p.dataBuf); err != nil {
		return err
	}
	if err := importers.CopyIn(p.z, p.zBuf); err != nil {
		return err
	}
	for _, nz := range p.noise {
		buf := make([]float64, onnx.ShapeSize(nz.Shape()))
		for i := range buf {
			buf[i] = nr.NormFloat64()
		}
		if err := importers.CopyIn(nz, buf); err != nil {
			return err
		}
	}
	defer p.vm.Reset()
	if err := p.vm.RunAll(); err != nil {
		return err
	}
	var err error
	if p.eData, err = importers.CopyOut(p.eData, p.eDataN); err != nil {
		return err
	}
	if p.eSamp, err = importers.CopyOut(p.eSamp, p.eSampN); err != nil {
		return err
	}
	if p.h, err = importers.CopyOut(p.h, p.hN); err != nil {
		return err
	}
	if p.uN != nil {
		if p.u, err = importers.CopyOut(p.u, p.uN); err != nil {
			return err
		}
	}
	return nil
}
