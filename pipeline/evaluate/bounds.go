package evaluate

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
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/train"
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
	// BracketSamples is the number of latent draws of the certified
	// bracket, whose χ² end needs many more than the other estimates;
	// 0 takes BracketDraws' automatic count.
	BracketSamples int    `json:"bracket-samples"`
	BatchSize      int    `json:"batch-size"`
	Seed           uint64 `json:"seed"`
	JSON           bool   `json:"json"`
	// LSIConstant is the log-Sobolev constant C of the energy's law that
	// the gp and diffusion values assume.
	LSIConstant float64 `json:"lsi-constant"`
	// Notice, if not nil, is told of choices made on the user's behalf,
	// such as running a model of fixed batch in chunks of it.
	Notice func(msg string) `json:"-"`
}

// BracketDraws returns the number of latent draws of the certified
// bracket for latent width d: BracketSamples, or if it is 0,
// bounds.DefaultDraws(d) (bounds.DrawBudget/d, at most a million) but at
// least Samples.
func (o *BoundsOptions) BracketDraws(d int) int {
	if o.BracketSamples > 0 {
		return o.BracketSamples
	}
	return max(o.Samples, bounds.DefaultDraws(d))
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
	if o.BracketSamples != 0 && o.BracketSamples < 4 {
		errs = append(errs, fielderr.Errorf("{BracketSamples} %d: need at least 4 (0: automatic)", o.BracketSamples))
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
		constant := fmt.Sprintf("the bound's log-Sobolev constant, taken as %g,", rep.LSIConstant)
		if name == "latent" {
			constant = fmt.Sprintf("the bound's log-Sobolev constant C_π, taken as %g,", float64(latentLSI))
		}
		off(name, "upper", "below", b, rep.NLL.Value-b.Value > 3*math.Hypot(b.StdErr, rep.NLL.StdErr),
			constant+" is too small for this energy, or log Z is too large")
	}
}

// EvaluateBounds evaluates every applicable bound of package bounds on the
// model pair of o: the lower bounds jacobian, jacobian-exact (when the
// latent dimension is at most 16) and mi (with an encoder), and the upper
// bounds gp, gp0, diffusion and latent (its scale chosen on independent
// draws). Data are used as read: an exported model
// applies its own standardisation. The generator runs in inference mode.
func EvaluateBounds(ctx context.Context, o BoundsOptions) (*BoundsReport, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	ds, err := data.LoadData(o.Data, o.DataRows, o.Seed)
	if err != nil {
		return nil, fielderr.Errorf("{Data}: %w", err)
	}
	p, err := loadPair(o, ds.Width)
	if err != nil {
		return nil, err
	}
	p.NoteFixedBatch(o.Notice)
	D := ds.Width
	d, _ := p.Widths(bounds.Generator)
	rep := &BoundsReport{Lower: map[string]BoundValue{}, Upper: map[string]BoundValue{}, Ref: "jacobian", Samples: o.Samples,
		LSIConstant: o.LSIConstant, NotBounds: map[string]string{}}
	if D == d {
		rep.Ref = "jacobian-exact"
	}
	for k, j := range boundJobs(rep.Ref, d, o.Encoder != "") {
		if err := rep.measure(ctx, p, ds, o, j, k == 0, D == d); err != nil {
			return nil, err
		}
	}
	if err := rep.measureLatent(ctx, p, ds, o); err != nil {
		return nil, err
	}
	if rep.Certified, err = evaluateCertified(p, ds, o); err != nil {
		return nil, err
	}
	rep.markFolds()
	meta, err := export.ReadMeta(p.Model(bounds.Energy))
	if err != nil {
		return nil, fielderr.Errorf("{Energy} %s: %w", o.Energy, err)
	}
	rep.checkBracket(meta.LogZ)
	return rep, nil
}

// loadPair loads the models of o and checks their widths against the
// data's, D values per row.
func loadPair(o BoundsOptions, D int) (*train.Pair, error) {
	p, err := train.LoadPair(o.Energy, o.Generator, o.Encoder, o.Seed)
	if err != nil {
		return nil, err
	}
	eIn, eOut := p.Widths(bounds.Energy)
	d, gOut := p.Widths(bounds.Generator)
	if eIn != D || eOut != 1 || gOut != D {
		return nil, fmt.Errorf("the energy maps %d values to %d and the generator %d to %d; the data %s has %d per row",
			eIn, eOut, d, gOut, o.Data, D)
	}
	if o.Encoder != "" {
		if rIn, rOut := p.Widths(bounds.Encoder); rIn != D || rOut != 2*d {
			return nil, fielderr.Errorf("{Encoder} %s maps %d values to %d; want %d to %d", o.Encoder, rIn, rOut, D, 2*d)
		}
	}
	return p, nil
}

// A boundJob is one measurement: a lower bound alone, or an upper bound
// over the reference lower bound.
type boundJob struct{ lower, upper string }

// boundJobs lists the measurements of a pair with d latent dimensions:
// the lower bounds first, then every upper bound over ref.
func boundJobs(ref string, d int, encoder bool) []boundJob {
	lowers := []string{"jacobian"}
	if d <= 16 {
		lowers = append(lowers, "jacobian-exact")
	}
	if encoder {
		lowers = append(lowers, "mi")
	}
	var jobs []boundJob
	for _, l := range lowers {
		jobs = append(jobs, boundJob{lower: l})
	}
	for _, u := range bounds.UpperNames() {
		if u != "none" {
			jobs = append(jobs, boundJob{lower: ref, upper: u})
		}
	}
	return jobs
}

// measure measures job j on p and records it in rep; first is the first
// job, whose mean energies rep reports; square reports d = D.
func (rep *BoundsReport) measure(ctx context.Context, p *train.Pair, ds *data.Dataset, o BoundsOptions, j boundJob, first, square bool) error {
	lower, err := bounds.LowerByName(j.lower)
	if err != nil {
		return err
	}
	var upper bounds.Upper
	if j.upper != "" {
		if upper, err = bounds.UpperByName(j.upper); err != nil {
			return err
		}
		train.SetLSI(upper, o.LSIConstant)
	}
	// Every job sees the same data rows, latent draws and noise.
	s, err := data.NewSampler(ds, o.Seed)
	if err != nil {
		return fielderr.Errorf("{Data}: %w", err)
	}
	m, err := p.Measure(ctx, lower, upper, train.Draws{Data: s, Z: data.NewRNG(o.Seed, "z"), Noise: data.NewRNG(o.Seed, "noise"),
		Samples: o.Samples, Batch: o.BatchSize})
	if err != nil {
		return err
	}
	if m.Surrogate {
		// A surrogate (gp0, or gp with D ≠ d) bounds nothing: not reported.
		if j.upper != "gp0" {
			rep.NotBounds[j.upper] = m.UpperCondition
		}
		return nil
	}
	if first {
		rep.EnergyDataMean, rep.EnergyModelMean = m.EnergyData.Value, m.EnergyModel.Value
		rep.energyDataSE = m.EnergyData.StdErr
	}
	if upper == nil {
		rep.Lower[j.lower] = BoundValue{Value: m.Lower.Value, StdErr: m.Lower.StdErr, Certified: j.lower != "jacobian" && square, Condition: m.LowerCondition}
	} else {
		rep.Upper[j.upper] = BoundValue{Value: m.Upper.Value, StdErr: m.Upper.StdErr, Condition: m.UpperCondition}
	}
	return nil
}
