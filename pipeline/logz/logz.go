package logz

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"context"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
)

// Methods of estimating log Z, the values of Options.Method.
const (
	Auto       = "auto"       // grid for 1-D and 2-D inputs, else importance
	Grid       = "grid"       // numerical integration on a grid
	Importance = "importance" // importance sampling from a fitted Gaussian mixture
)

// Defaults and limits of a log Z estimate.
const (
	DefaultGrid1D = 4096 // grid intervals per axis for a 1-D input
	DefaultGrid2D = 512  // grid intervals per axis for a 2-D input

	// maxGridPoints caps the number of energy evaluations of a grid.
	maxGridPoints = 1 << 25

	// generatorRows is the number of generator samples drawn to set grid
	// bounds or fit the importance proposal.
	generatorRows = 10000

	// maxFullCovDim is the largest input width whose proposal gets a full
	// covariance matrix; wider inputs get a diagonal one.
	maxFullCovDim = 256

	// truncationNote is the estimated mass outside the grid, relative to
	// that inside, above which the result carries a note.
	truncationNote = 1e-4
)

// Options are the settings of a log Z estimate. The JSON names are the
// command-line flag names; Data and Generator are set by the caller.
type Options struct {
	Method    string    `json:"method"`
	GridSize  int       `json:"grid-size"`
	Bounds    []float64 `json:"bounds"`
	Margin    float64   `json:"margin"`
	Samples   int       `json:"samples"`
	Seed      uint64    `json:"seed"`
	BatchSize int       `json:"batch-size"`

	// Data holds rows the model was trained on, row after row, each as
	// wide as the model's input. They set the grid bounds (unless Bounds
	// is given) and fit the importance proposal.
	Data []float64 `json:"-"`

	// Generator, if not nil, is a generator x = G(z) with z ~ N(0, I),
	// whose outputs are as wide as the model's input. Its samples are used
	// like Data; the two are combined when both are given. A generator's
	// samples have no density that can be computed, so they only shape the
	// proposal and are not themselves importance samples.
	Generator engine.Engine `json:"-"`
}

// DefaultOptions returns the options with the flag defaults.
func DefaultOptions() Options {
	return Options{Method: Auto, Margin: 0.5, Samples: 100000, Seed: 1, BatchSize: 1024}
}

// Check reports every invalid option.
func (o *Options) Check() error {
	var errs []error
	switch o.Method {
	case Auto, Grid, Importance:
	default:
		errs = append(errs, fielderr.Errorf("{Method} %q: want auto, grid or importance", o.Method))
	}
	if o.GridSize < 0 || o.GridSize%2 != 0 || o.GridSize == 2 {
		errs = append(errs, fielderr.Errorf("{GridSize} %d: want an even number of at least 4 (or 0 for the default)", o.GridSize))
	}
	if !(o.Margin >= 0) || math.IsInf(o.Margin, 0) {
		errs = append(errs, fielderr.Errorf("{Margin} %g: want a finite number of at least 0", o.Margin))
	}
	if o.Samples < 2 {
		errs = append(errs, fielderr.Errorf("{Samples} %d: want at least 2", o.Samples))
	}
	if o.BatchSize < 1 {
		errs = append(errs, fielderr.Errorf("{BatchSize} %d: must be at least 1", o.BatchSize))
	}
	if len(o.Bounds) > 0 {
		if len(o.Bounds)%2 != 0 {
			errs = append(errs, fielderr.Errorf("{Bounds} %s: want pairs LO,HI", FormatFloats(o.Bounds)))
		}
		for i := 0; i+1 < len(o.Bounds); i += 2 {
			lo, hi := o.Bounds[i], o.Bounds[i+1]
			if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || !(lo < hi) {
				errs = append(errs, fielderr.Errorf("{Bounds} %s: pair %g,%g: want finite LO < HI", FormatFloats(o.Bounds), lo, hi))
			}
		}
	}
	return errors.Join(errs...)
}

// A Result is an estimate of the log normalising constant
// log Z = log ∫ exp(−E(x)) dx of an energy model.
type Result struct {
	Value  float64 // the estimate of log Z
	StdErr float64 // its standard error (importance) or numerical error estimate (grid)
	Method string  // Grid or Importance
	Evals  int     // energy evaluations

	// Grid integration.
	Bounds     [][2]float64 // the box, per axis
	GridSize   int          // intervals per axis
	Richardson float64      // |log Z_K − log Z_K/2| / 3, the discretisation error estimate
	Truncation float64      // estimated mass outside the box over the mass inside

	// Importance sampling.
	ESS      float64 // effective sample size (Σw)² / Σw²
	Proposal string  // description of the proposal

	// Notes are warnings about the estimate's reliability, for the user,
	// naming option fields as fielderr.Note does (fielderr.RenameNote).
	Notes []string
}

// Estimate estimates the log normalising constant of the energy model run by
// eng, which must have one output with one energy per row.
//
// Grid integration (inputs of 1 or 2 values) applies the trapezoid rule
// to exp(−E) on a regular grid of K intervals per axis over a box: the
// given Bounds, or the range of the reference rows (Data and generator
// samples) widened by Margin on each side. The sum is taken with a
// log-sum-exp. The reported error is the Richardson estimate
// |log Z_K − log Z_K/2| / 3 of the discretisation error, from the grid of
// every other point, plus an estimate of the mass outside the box from the
// energy and its slope on the box's faces (exact for exponential tails, an
// upper bound for Gaussian ones).
//
// Importance sampling (any input width) draws Samples points from a
// mixture of Gaussians fitted to the reference rows: for each source, the
// fitted mean and covariance, widened by 1.2 (weight 0.8) and by 2
// (weight 0.2) for heavier tails. With weights w = exp(−E(x)) / q(x), the
// estimate is log mean(w), with sums scaled by the largest weight, and its standard
// error is the delta-method sd(w) / (mean(w) √N). A poorly fitting
// proposal shows as a small effective sample size, which adds a note.
func Estimate(ctx context.Context, eng engine.Engine, o Options) (Result, error) {
	if err := o.Check(); err != nil {
		return Result{}, err
	}
	d := eng.Input().Width
	if d < 1 {
		return Result{}, fmt.Errorf("the model's input rows have %d values", d)
	}
	if outs := eng.Outputs(); len(outs) != 1 || outs[0].Width > 1 {
		return Result{}, fmt.Errorf("an energy model has one output with one energy per row; this one has %s", engine.DescribePorts(outs))
	}
	if len(o.Data)%d != 0 {
		return Result{}, fmt.Errorf("%d data values do not make rows of %d, the model's input width", len(o.Data), d)
	}
	if o.Generator != nil {
		if outs := o.Generator.Outputs(); len(outs) != 1 || (outs[0].Width != 0 && outs[0].Width != d) {
			return Result{}, fmt.Errorf("the generator should have one output of %d values per row, as the energy's input; it has %s", d, engine.DescribePorts(outs))
		}
	}
	method := o.Method
	if method == Auto {
		method = Importance
		if d <= 2 {
			method = Grid
		}
	}
	e := &estimator{ctx: ctx, eng: eng, o: o, d: d, rng: rand.New(rand.NewPCG(o.Seed, 0x6c6f677a))} // "logz"
	if method == Grid {
		return e.grid()
	}
	return e.importance()
}

// estimator holds the state of one LogZ call.
type estimator struct {
	ctx context.Context // stops the estimate between batches
	eng engine.Engine
	o   Options
	d   int
	rng *rand.Rand

	ref     []float64 // reference rows: Data, then generator samples
	sources []refSource
}

// refSource is a part of the reference rows and where it came from.
type refSource struct {
	name       string
	start, end int // row range in ref
}

// reference gathers the reference rows: the data, then generator samples.
// It fails if there are none, naming what they were needed for.
func (e *estimator) reference(purpose string) error {
	if n := len(e.o.Data) / e.d; n > 0 {
		e.ref = append(e.ref, e.o.Data...)
		e.sources = append(e.sources, refSource{name: fmt.Sprintf("%d data rows", n), start: 0, end: n})
	}
	if e.o.Generator != nil {
		start := len(e.ref) / e.d
		x, err := e.generate(generatorRows)
		if err != nil {
			return err
		}
		e.ref = append(e.ref, x...)
		e.sources = append(e.sources, refSource{name: fmt.Sprintf("%d generator samples", generatorRows), start: start, end: start + generatorRows})
	}
	if len(e.sources) == 0 {
		return fielderr.Errorf(purpose + " needs data or a generator") // purpose may name fields
	}
	return nil
}

// generate draws n samples G(z), z ~ N(0, I), from the generator.
func (e *estimator) generate(n int) ([]float64, error) {
	g := e.o.Generator
	dz := g.Input().Width
	out := make([]float64, 0, n*e.d)
	z := make([]float64, e.o.BatchSize*dz)
	for done := 0; done < n; {
		if err := e.ctx.Err(); err != nil {
			return nil, err
		}
		k := min(e.o.BatchSize, n-done)
		for i := range z[:k*dz] {
			z[i] = e.rng.NormFloat64()
		}
		res, err := g.Run(z[:k*dz], k)
		if err != nil {
			return nil, fmt.Errorf("generator: %w", err)
		}
		if len(res) != 1 || len(res[0]) != k*e.d {
			return nil, fmt.Errorf("generator: %d rows gave %d values, want %d (rows as wide as the energy's input)", k, len(res[0]), k*e.d)
		}
		for i, v := range res[0] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("generator: sample %d, value %d is %g", done+i/e.d+1, i%e.d, v)
			}
		}
		out = append(out, res[0]...)
		done += k
	}
	return out, nil
}

// Generate draws n samples G(z), z ~ N(0, I), from the generator g, whose
// outputs are rows of width values, batch rows per run, with z drawn from
// rng.
func Generate(ctx context.Context, g engine.Engine, n, width, batch int, rng *rand.Rand) ([]float64, error) {
	e := &estimator{ctx: ctx, eng: g, o: Options{Generator: g, BatchSize: batch}, d: width, rng: rng}
	return e.generate(n)
}

// Energies evaluates the energy model eng on n rows of width values,
// batch rows per run. fill writes rows first to first+k−1 into x; use
// receives their energies, valid only during the call. NaN and −Inf
// energies are errors; +Inf is zero density.
func Energies(ctx context.Context, eng engine.Engine, n, width, batch int, fill func(x []float64, first, k int), use func(first int, en []float64)) error {
	e := &estimator{ctx: ctx, eng: eng, o: Options{BatchSize: batch}, d: width}
	return e.energies(n, fill, use)
}

// energies evaluates the energy of n rows in batches. fill writes rows
// first to first+k−1 into x; use receives their energies, valid only
// during the call. NaN and −Inf energies are errors; +Inf is zero density.
func (e *estimator) energies(n int, fill func(x []float64, first, k int), use func(first int, en []float64)) error {
	x := make([]float64, e.o.BatchSize*e.d)
	for first := 0; first < n; {
		if err := e.ctx.Err(); err != nil {
			return err
		}
		k := min(e.o.BatchSize, n-first)
		fill(x[:k*e.d], first, k)
		res, err := e.eng.Run(x[:k*e.d], k)
		if err != nil {
			return err
		}
		if len(res) != 1 || len(res[0]) != k {
			return fmt.Errorf("%d rows gave %s; an energy model gives one value per row", k, describeCounts(res))
		}
		for i, v := range res[0] {
			if math.IsNaN(v) || math.IsInf(v, -1) {
				return fmt.Errorf("energy %g at x = %s", v, FormatFloats(x[i*e.d:(i+1)*e.d]))
			}
		}
		use(first, res[0])
		first += k
	}
	return nil
}

func describeCounts(res [][]float64) string {
	parts := make([]string, len(res))
	for i, r := range res {
		parts[i] = fmt.Sprint(len(r))
	}
	return fmt.Sprintf("%d outputs of [%s] values", len(res), strings.Join(parts, ", "))
}

func (e *estimator) sourceNames() string {
	names := make([]string, len(e.sources))
	for i, s := range e.sources {
		names[i] = s.name
	}
	return strings.Join(names, " and ")
}

// FormatBox writes a box as [lo,hi]×[lo,hi].
func FormatBox(b [][2]float64) string {
	parts := make([]string, len(b))
	for i, p := range b {
		parts[i] = fmt.Sprintf("[%.4g,%.4g]", p[0], p[1])
	}
	return strings.Join(parts, "×")
}

// FormatFloats writes values comma-separated.
func FormatFloats(x []float64) string {
	parts := make([]string, len(x))
	for i, v := range x {
		parts[i] = fmt.Sprintf("%.6g", v)
	}
	return strings.Join(parts, ",")
}

// LogSumExp accumulates log Σ exp(v) without overflow.
type LogSumExp struct {
	max, sum float64 // sum of exp(v − max); max = −Inf when empty
	n        int
}

// Add adds v to the sum.
func (a *LogSumExp) Add(v float64) {
	if math.IsInf(v, -1) {
		return
	}
	switch {
	case a.n == 0:
		a.max, a.sum = v, 1
	case v <= a.max:
		a.sum += math.Exp(v - a.max)
	default:
		a.sum = a.sum*math.Exp(a.max-v) + 1
		a.max = v
	}
	a.n++
}

// Value returns log Σ exp(v) over the values added, −Inf if none.
func (a *LogSumExp) Value() float64 {
	if a.n == 0 {
		return math.Inf(-1)
	}
	return a.max + math.Log(a.sum)
}

// weightSum accumulates Σw and Σw² of importance weights w given by their
// logs, as multiples of the largest weight so far, so that neither
// overflows.
type weightSum struct {
	max    float64 // log of the largest weight
	s1, s2 float64 // Σ w/max and Σ (w/max)²; 0 while every weight is 0
}

func (a *weightSum) add(lw float64) {
	switch {
	case math.IsInf(lw, -1):
		return
	case a.s1 == 0:
		a.max = lw
	case lw > a.max:
		r := math.Exp(a.max - lw)
		a.s1 *= r
		a.s2 *= r * r
		a.max = lw
	}
	v := math.Exp(lw - a.max)
	a.s1 += v
	a.s2 += v * v
}

// importance estimates log Z by importance sampling from a Gaussian mixture
// fitted to the reference rows.
func (e *estimator) importance() (Result, error) {
	if err := e.reference("importance sampling (to fit its proposal)"); err != nil {
		return Result{}, err
	}
	var comps []Gaussian
	var desc []string
	for _, s := range e.sources {
		if s.end-s.start < 2 {
			return Result{}, fmt.Errorf("cannot fit the importance proposal to %s; need at least 2", s.name)
		}
		g := fitGaussian(e.ref, e.d, s.start, s.end)
		w := 1 / float64(len(e.sources))
		comps = append(comps, g.widened(1.2, 0.8*w), g.widened(2, 0.2*w))
		cov := "full"
		if g.chol == nil {
			cov = "diagonal"
		}
		desc = append(desc, fmt.Sprintf("Gaussian (%s covariance ×1.2², ×2²) fitted to %s", cov, s.name))
	}
	// Component choice by weight: cumulative probabilities.
	cum := make([]float64, len(comps))
	acc := 0.0
	for i, c := range comps {
		acc += math.Exp(c.logW)
		cum[i] = acc
	}
	n := e.o.Samples
	logQ := make([]float64, e.o.BatchSize)
	z := make([]float64, e.d)
	var w weightSum
	err := e.energies(n, func(x []float64, _, k int) {
		for r := range k {
			row := x[r*e.d : (r+1)*e.d]
			u := e.rng.Float64() * acc
			c := 0
			for c < len(cum)-1 && u >= cum[c] {
				c++
			}
			comps[c].sample(e.rng, row, z)
			var m LogSumExp
			for i := range comps {
				m.Add(comps[i].logPDF(row, z))
			}
			logQ[r] = m.Value()
		}
	}, func(_ int, en []float64) {
		for r, v := range en {
			w.add(-v - logQ[r])
		}
	})
	if err != nil {
		return Result{}, err
	}
	if w.s1 == 0 {
		return Result{}, errors.New("exp(−E) underflows to 0 at every importance sample: the proposal misses the model's mass")
	}
	fn := float64(n)
	mean := w.s1 / fn
	variance := max(0, (w.s2-fn*mean*mean)/(fn-1))
	res := Result{
		Value:    w.max + math.Log(mean),
		StdErr:   math.Sqrt(variance/fn) / mean,
		Method:   Importance,
		Evals:    n,
		ESS:      w.s1 * w.s1 / w.s2,
		Proposal: strings.Join(desc, "; ") + fmt.Sprintf("; %d components", len(comps)),
	}
	if res.ESS < max(100, fn/1000) {
		res.Notes = append(res.Notes, fmt.Sprintf("effective sample size %.0f of %d: the proposal fits the model poorly and the standard error may be far too small", res.ESS, n))
	}
	return res, nil
}
