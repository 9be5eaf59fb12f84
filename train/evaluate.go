package train

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"

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
	// LSIConstant is the log-Sobolev constant C of the energy's law that
	// the gp and diffusion values assume.
	LSIConstant float64 `json:"lsi-constant"`
}

// DefaultBoundsOptions returns the defaults of `ebmpipe bounds`.
func DefaultBoundsOptions() BoundsOptions {
	return BoundsOptions{DataRows: 100000, Samples: 10000, BatchSize: 500, Seed: 1, LSIConstant: 1}
}

// Check reports every missing or invalid option.
func (o *BoundsOptions) Check() error {
	var errs []error
	for _, f := range []struct{ field, v string }{{"Energy", o.Energy}, {"Generator", o.Generator}, {"Data", o.Data}} {
		if f.v == "" {
			errs = append(errs, fielderr.Errorf("{"+f.field+"} is required"))
		}
	}
	if o.Samples < 2 {
		errs = append(errs, fielderr.Errorf("{Samples} %d: need at least 2", o.Samples))
	}
	if o.BatchSize < 2 {
		errs = append(errs, fielderr.Errorf("{BatchSize} %d: need at least 2", o.BatchSize))
	}
	if !(o.LSIConstant > 0) || math.IsInf(o.LSIConstant, 0) {
		errs = append(errs, fielderr.Errorf("{LSIConstant} %v: must be a positive number", o.LSIConstant))
	}
	if o.DataRows < 0 || strings.HasPrefix(o.Data, "toy:") && o.DataRows < 1 {
		errs = append(errs, fielderr.Errorf("{DataRows} %d: must be positive for toy data, non-negative for a file", o.DataRows))
	}
	return errors.Join(errs...)
}

// A BoundValue is a Monte-Carlo estimate and its standard error.
type BoundValue struct {
	Value  float64 `json:"value"`
	StdErr float64 `json:"stderr"`
	// Certified reports a bound that needs no unknown constant; Condition
	// names what it rests on (such as the log-Sobolev constant C).
	Certified bool   `json:"certified"`
	Condition string `json:"condition,omitempty"`
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
	LSIConstant     float64               `json:"lsi_constant"`
	// Certified is the bracket that needs no unknown constant
	// (bounds.Certified); NotBounds names the values that are no bounds
	// on this pair (such as gp for D > d), with the reason.
	Certified *CertifiedBracket `json:"certified_bracket"`
	NotBounds map[string]string `json:"not_bounds,omitempty"`

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
	rep.NLL = &BoundValue{Value: rep.EnergyDataMean + z.Value, StdErr: math.Hypot(rep.energyDataSE, z.StdErr)}
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
	if c := rep.Certified; c != nil {
		for _, s := range []struct {
			name, side, where string
			v                 BracketSide
			sign              float64
		}{{"iw", "lower", "above", c.Lower, 1}, {"chi2", "upper", "below", c.Upper, -1}} {
			b := BoundValue{Value: s.v.Value, StdErr: s.v.StdErr}
			off("certified "+s.name, s.side, s.where, b, s.v.Certified && s.sign*(b.Value-rep.NLL.Value) > 3*math.Hypot(b.StdErr, rep.NLL.StdErr),
				"the generator is not a bijection onto R^D, or the model's log Z is off")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Upper)) {
		b := rep.Upper[name]
		off(name, "upper", "below", b, rep.NLL.Value-b.Value > 3*math.Hypot(b.StdErr, rep.NLL.StdErr),
			fmt.Sprintf("the bound's log-Sobolev constant, taken as %g, is too small for this energy, or log Z is too large", rep.LSIConstant))
	}
}

// EvaluateBounds evaluates every applicable bound of package bounds on the
// model pair of o: the lower bounds jacobian, jacobian-exact (when the
// latent dimension is at most 16) and mi (with an encoder), and the upper
// bounds gp, gp0 and diffusion. Data are used as read: an exported model
// applies its own standardisation. The generator runs in inference mode.
func EvaluateBounds(ctx context.Context, o BoundsOptions) (*BoundsReport, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	ds, err := data.LoadData(o.Data, o.DataRows, o.Seed)
	if err != nil {
		return nil, fielderr.Errorf("{Data}: %w", err)
	}
	e, err := loadNetwork(bounds.Energy, "energy", "Energy", o.Energy, o.Seed, false)
	if err != nil {
		return nil, err
	}
	g, err := loadNetwork(bounds.Generator, "generator", "Generator", o.Generator, o.Seed, false)
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
		r, err := loadNetwork(bounds.Encoder, "encoder", "Encoder", o.Encoder, o.Seed, false)
		if err != nil {
			return nil, err
		}
		if r.inWidth != D || r.outWid != 2*d {
			return nil, fielderr.Errorf("{Encoder} %s maps %d values to %d; want %d to %d", o.Encoder, r.inWidth, r.outWid, D, 2*d)
		}
		nets = append(nets, r)
	}
	rep := &BoundsReport{Lower: map[string]BoundValue{}, Upper: map[string]BoundValue{}, Ref: "jacobian", Samples: o.Samples,
		LSIConstant: o.LSIConstant, NotBounds: map[string]string{}}
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
			setLSI(upper, o.LSIConstant)
		}
		// Every job sees the same data rows, latent draws and noise.
		s, err := data.NewSampler(ds, o.Seed)
		if err != nil {
			return nil, fielderr.Errorf("{Data}: %w", err)
		}
		ev, err := newEvalProgram(nets, lower, upper, o.BatchSize, D, d)
		if err != nil {
			return nil, fmt.Errorf("bound %s: %w", j.lower+j.upper, err)
		}
		if upper != nil && ev.uN == nil {
			// A surrogate (gp0, or gp with D ≠ d) bounds nothing: not reported.
			if j.upper != "gp0" {
				rep.NotBounds[j.upper] = ev.uCond
			}
			ev.vm.Close()
			continue
		}
		zr, nr := data.NewRNG(o.Seed, "z"), data.NewRNG(o.Seed, "noise")
		var eData, lowTerm, upTerm, eSamp stats
		for b := range batches {
			rows := min(o.BatchSize, o.Samples-b*o.BatchSize)
			if err := ctx.Err(); err != nil {
				ev.vm.Close()
				return nil, err
			}
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
			rep.Lower[j.lower] = BoundValue{Value: eData.mean() + lowTerm.mean(), StdErr: math.Sqrt(eData.sem2() + lowTerm.sem2()),
				Certified: j.lower != "jacobian" && D == d, Condition: ev.lCond}
		} else {
			rep.Upper[j.upper] = BoundValue{Value: eData.mean() + upTerm.mean(), StdErr: math.Sqrt(eData.sem2() + upTerm.sem2()), Condition: ev.uCond}
		}
		ev.vm.Close()
	}
	if rep.Certified, err = evaluateCertified(nets[:2], ds, o); err != nil {
		return nil, err
	}
	rep.markFolds()
	meta, err := export.ReadMeta(e.model)
	if err != nil {
		return nil, fielderr.Errorf("{Energy} %s: %w", o.Energy, err)
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
	vm                     *autodiff.Machine
	data, z                *autodiff.Node
	sets                   []*importers.ParamSet
	nets                   []*network
	noise                  []*autodiff.Node
	eDataN, eSampN, hN, uN *autodiff.Node
	eData, eSamp, h, u     []float64
	jacN                   *autodiff.Node // the lower bound's Jacobian, if it forms one
	jac                    []float64      // its values
	lCond, uCond           string         // the bounds' conditions
	dataBuf, zBuf          []float64
}

func newEvalProgram(nets []*network, lower bounds.Lower, upper bounds.Upper, batch, D, d int) (*evalProgram, error) {
	t := autodiff.NewTape(autodiff.Float64)
	p := &evalProgram{nets: nets, dataBuf: make([]float64, batch*D), zBuf: make([]float64, batch*d)}
	p.data = t.Variable("data", autodiff.Zeros(autodiff.Float64, batch, D))
	p.z = t.Variable("z", autodiff.Zeros(autodiff.Float64, batch, d))
	bn := bounds.Nets{Tape: t, DataDim: D, LatentDim: d}
	for _, n := range nets {
		ps := n.net.NewParamsPrefixed(t, n.name+"/")
		p.sets = append(p.sets, ps)
		switch n.role {
		case bounds.Energy:
			bn.Energy = n.apply(t, ps, false)
			bn.EnergyKinks = bounds.KinkedOps(n.model.GetGraph())
		case bounds.Generator:
			bn.Generator = n.apply(t, ps, false)
			bn.GeneratorKinks = bounds.KinkedOps(n.model.GetGraph())
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
	p.hN, p.noise, p.jacN, p.lCond = perExample(t, le, batch), le.Noise, le.Jacobian, le.Condition
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
		p.noise, p.uCond = append(p.noise, ue.Noise...), ue.Condition
		if !ue.Surrogate { // gp0's value bounds nothing
			p.uN = perExample(t, ue, batch)
		}
	}
	if err := t.Err(); err != nil {
		return nil, err
	}
	p.vm = autodiff.NewMachine(t)
	return p, nil
}

// perExample returns the estimate's per-example terms as a (batch) node:
// Samples if it has one value per example, else Value broadcast.
func perExample(t *autodiff.Tape, e bounds.Estimate, batch int) *autodiff.Node {
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
	if err := autodiff.CopyIn(p.data, p.dataBuf); err != nil {
		return err
	}
	if err := autodiff.CopyIn(p.z, p.zBuf); err != nil {
		return err
	}
	for _, nz := range p.noise {
		buf := make([]float64, onnx.ShapeSize(nz.Shape()))
		for i := range buf {
			buf[i] = nr.NormFloat64()
		}
		if err := autodiff.CopyIn(nz, buf); err != nil {
			return err
		}
	}
	defer p.vm.Reset()
	if err := p.vm.Run(); err != nil {
		return err
	}
	var err error
	if p.eData, err = autodiff.CopyOut(p.eData, p.eDataN); err != nil {
		return err
	}
	if p.eSamp, err = autodiff.CopyOut(p.eSamp, p.eSampN); err != nil {
		return err
	}
	if p.h, err = autodiff.CopyOut(p.h, p.hN); err != nil {
		return err
	}
	if p.uN != nil {
		if p.u, err = autodiff.CopyOut(p.u, p.uN); err != nil {
			return err
		}
	}
	if p.jacN != nil {
		if p.jac, err = autodiff.CopyOut(p.jac, p.jacN); err != nil {
			return err
		}
	}
	return nil
}
