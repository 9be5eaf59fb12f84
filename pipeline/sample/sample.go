package sample

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"

	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	langevinstep "github.com/ebmpipe/ebmpipe/internal/langevin" // the package; langevin is the type below
	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"github.com/ebmpipe/ebmpipe/internal/rows"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Options are the settings of a sampling run. The JSON names are the
// command-line flag names.
type Options struct {
	Generator     string  `json:"generator"`
	N             int     `json:"n"`
	Output        string  `json:"output"`
	Energy        string  `json:"energy"`
	LangevinSteps int     `json:"langevin-steps"`
	StepSize      float64 `json:"step-size"`
	NoiseScale    float64 `json:"noise-scale"`
	BatchSize     int     `json:"batch-size"`
	Seed          uint64  `json:"seed"`
	Engine        string  `json:"engine"`
	ORTLib        string  `json:"ort-lib"`

	// Progress, if not nil, is called after the generator has run on a
	// batch and after every Langevin step, with the work done so far and
	// the total, counted in row passes: each sample takes one generator
	// pass and one pass per Langevin step, so total = N·(1+LangevinSteps).
	Progress func(done, total int) `json:"-"`
	// Notice, if not nil, is told of choices made on the user's behalf,
	// such as falling back to the Go engine.
	Notice func(msg string) `json:"-"`
}

// DefaultOptions returns the options with the flag defaults.
func DefaultOptions() Options {
	return Options{StepSize: 0.01, NoiseScale: 1, BatchSize: 1024, Seed: 1, Engine: engine.Auto}
}

// Check reports every missing or invalid option.
func (o *Options) Check() error {
	var errs []error
	if o.Generator == "" {
		errs = append(errs, fielderr.Errorf("{Generator} is required"))
	}
	if o.N == 0 {
		errs = append(errs, fielderr.Errorf("{N} is required: the number of samples to draw"))
	}
	if o.N < 0 {
		errs = append(errs, fielderr.Errorf("{N} %d: must be at least 1", o.N))
	}
	if o.Output == "" {
		errs = append(errs, fielderr.Errorf("{Output} is required"))
	}
	if o.LangevinSteps < 0 {
		errs = append(errs, fielderr.Errorf("{LangevinSteps} %d: must be at least 0", o.LangevinSteps))
	}
	if o.LangevinSteps > 0 && o.Energy == "" {
		errs = append(errs, fielderr.Errorf("{LangevinSteps} %d needs {Energy}, the model whose gradient drives the steps", o.LangevinSteps))
	}
	if !(o.StepSize > 0) || math.IsInf(o.StepSize, 0) {
		errs = append(errs, fielderr.Errorf("{StepSize} %g: want a finite number > 0", o.StepSize))
	}
	if !(o.NoiseScale >= 0) || math.IsInf(o.NoiseScale, 0) {
		errs = append(errs, fielderr.Errorf("{NoiseScale} %g: want a finite number ≥ 0", o.NoiseScale))
	}
	if o.BatchSize < 1 {
		errs = append(errs, fielderr.Errorf("{BatchSize} %d: must be at least 1", o.BatchSize))
	}
	switch o.Engine {
	case engine.Auto, engine.ORT, engine.Go:
	default:
		errs = append(errs, fielderr.Errorf("{Engine} %q: want auto, ort or go", o.Engine))
	}
	return errors.Join(errs...)
}

// Stats describe a sampling run.
type Stats struct {
	Rows    int      // samples written
	Columns []string // the output's column names
	Engine  string   // the engine that ran the generator: "ort" or "go"

	// With an energy model: the mean energy of the generator's samples,
	// and of the samples written, after the Langevin steps (the same
	// without steps). NaN without an energy.
	EnergyBefore, EnergyAfter float64
}

// Sample draws o.N samples from the generator o.Generator and writes them
// to o.Output, one flattened row each. Sample i is
//
//	x₀ = G(z),  z ~ N(0, I)
//	x_{k+1} = x_k − (η/2) ∇E(x_k) + s √η ξ_k,  ξ_k ~ N(0, I),  k = 0 … K−1
//
// with η = o.StepSize, s = o.NoiseScale, K = o.LangevinSteps, and E the
// energy model o.Energy. With s = 1 this is the unadjusted Langevin
// algorithm, whose samples follow p(x) ∝ exp(−E(x)) as η → 0 and K → ∞,
// with a bias of order η for a fixed η (for E = ½‖x − μ‖²/σ² the chain
// settles at N(μ, σ²/(1 − η/(4σ²)) I)); there is no Metropolis correction.
// With s = 0 it is gradient descent on E with step η/2.
//
// The generator runs on o.Engine; ∇E always runs on the Go engine, which
// differentiates the imported graph (ONNX Runtime computes no input
// gradients), in float64. Exported models take and give raw features, so
// the generator's samples go to the energy as they are. A model whose
// ebmpipe.kind metadata says it is an energy is refused as the generator
// and vice versa, and the generator's rows must be as wide as the
// energy's input.
//
// The random draws of sample i (its z, then its ξ₀ … ξ_{K−1}) come from a
// stream of its own, derived from o.Seed and i: on one engine, the same
// seed gives the same samples whatever o.BatchSize, and the first n
// samples of a larger run are those of a run of n.
//
// The columns are named by the generator's ebmpipe.features metadata if it
// names one per value, else x0, x1, …. The output is written to a
// temporary file and moved into place only when every sample is written:
// if ctx is canceled, or on any error, o.Output is left as it was.
func Sample(ctx context.Context, o Options) (Stats, error) {
	st := Stats{EnergyBefore: math.NaN(), EnergyAfter: math.NaN()}
	if err := o.Check(); err != nil {
		return st, err
	}
	gm, err := export.LoadKind(o.Generator, export.KindGenerator, "Generator")
	if err != nil {
		return st, err
	}
	features, err := sampleFeatures(gm)
	if err != nil {
		return st, fmt.Errorf("%s: %w", o.Generator, err)
	}
	data, err := os.ReadFile(o.Generator)
	if err != nil {
		return st, fmt.Errorf("onnx: load: %w", err)
	}
	batch := min(o.BatchSize, o.N)
	newEngine, name, err := engine.Choose(engine.Choice{Engine: o.Engine, ORTLib: o.ORTLib, BatchSize: batch, Notice: o.Notice}, gm, data, 1)
	if err != nil {
		return st, err
	}
	st.Engine = name
	gen, err := newEngine()
	if err != nil {
		return st, fmt.Errorf("%s: %w", o.Generator, err)
	}
	defer gen.Close()
	outs := gen.Outputs()
	if len(outs) != 1 {
		return st, fmt.Errorf("%s: a generator has one output, x = G(z); this one has %s", o.Generator, engine.DescribePorts(outs))
	}

	s := &sampler{o: o, gen: gen, width: outs[0].Width, features: features}
	if o.Energy != "" {
		em, err := export.LoadKind(o.Energy, export.KindEnergy, "Energy")
		if err != nil {
			return st, err
		}
		if s.lv, err = newLangevin(em); err != nil {
			return st, fmt.Errorf("%s: %w", o.Energy, err)
		}
		engine.NoteFixedBatch(em, o.Notice)
		if err := s.checkWidth(s.width); err != nil {
			return st, err
		}
	}
	err = s.run(ctx)
	st.Rows, st.Columns = s.rows, s.columns
	if err != nil {
		if s.w != nil {
			s.w.Abort()
		}
		return st, err
	}
	if s.lv != nil {
		st.EnergyBefore, st.EnergyAfter = s.before/float64(s.rows), s.after/float64(s.rows)
	}
	return st, s.w.Commit()
}

// sampleFeatures returns the feature names in a generator's metadata, or
// nil.
func sampleFeatures(m *onnx.ModelProto) ([]string, error) {
	meta, err := export.ReadMeta(m)
	if err != nil {
		return nil, err
	}
	return meta.Features, nil
}

// sampler is the state of one Sample run once its models are loaded.
type sampler struct {
	o        Options
	gen      engine.Engine
	lv       *langevin // nil without an energy
	width    int       // values per sample; 0 until known
	features []string

	w       *rows.Writer
	columns []string
	rows    int     // samples written
	before  float64 // sum of the energies of the generator's samples
	after   float64 // sum of the energies of the samples written
}

// Random streams: each sample's stream is seeded with the user's seed and
// a hash of the sample's index and this tag.
const sampleStream = 0x73616d706c65 // "sample"

// rowSeed mixes a sample's index into a PCG seed (SplitMix64's finaliser),
// so that the streams of neighbouring samples are unrelated.
func rowSeed(i int) uint64 {
	z := uint64(i) ^ sampleStream
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// checkWidth checks that samples of width values fit the energy's input.
func (s *sampler) checkWidth(width int) error {
	if width == 0 || s.lv == nil || width == s.lv.in.Width {
		return nil
	}
	return fmt.Errorf("%s gives rows of %d values, but the energy %s takes %d (shape %v)",
		s.o.Generator, width, s.o.Energy, s.lv.in.Width, s.lv.in.Shape)
}

// create opens the output, with a column per value of a sample.
func (s *sampler) create() error {
	cols := s.features
	if len(cols) != s.width {
		cols = make([]string, s.width)
		for j := range cols {
			cols[j] = "x" + strconv.Itoa(j)
		}
	}
	w, err := rows.CreateWriter(s.o.Output, cols)
	if err != nil {
		return err
	}
	s.w, s.columns = w, cols
	return nil
}

// run draws, refines and writes every sample. The output is created as
// soon as the width of a sample is known: before any work if the
// generator declares it, else after the generator's first batch.
func (s *sampler) run(ctx context.Context) error {
	o := s.o
	if s.width > 0 {
		if err := s.create(); err != nil {
			return err
		}
	}
	dz := s.gen.Input().Width
	batch := min(o.BatchSize, o.N)
	z := make([]float64, batch*dz)
	rngs := make([]*rand.Rand, batch)
	srcs := make([]*rand.PCG, batch)
	for i := range srcs {
		srcs[i] = rand.NewPCG(0, 0)
		rngs[i] = rand.New(srcs[i])
	}
	steps := o.LangevinSteps
	total := o.N * (1 + steps)
	done := 0
	for first := 0; first < o.N; first += batch {
		n := min(batch, o.N-first)
		for r := range n {
			srcs[r].Seed(o.Seed, rowSeed(first+r))
			for j := range dz {
				z[r*dz+j] = rngs[r].NormFloat64()
			}
		}
		res, err := s.gen.Run(z[:n*dz], n)
		if err != nil {
			return fmt.Errorf("%s: samples %d to %d: %w", o.Generator, first+1, first+n, err)
		}
		x := res[0]
		if len(x) == 0 || len(x)%n != 0 {
			return fmt.Errorf("%s: %d rows gave %d values", o.Generator, n, len(x))
		}
		if s.width == 0 {
			s.width = len(x) / n
			if err := s.checkWidth(s.width); err != nil {
				return err
			}
			if err := s.create(); err != nil {
				return err
			}
		}
		if len(x) != n*s.width {
			return fmt.Errorf("%s: %d rows gave %d values, want %d per row", o.Generator, n, len(x), s.width)
		}
		if err := s.finite(x, first, -1); err != nil {
			return err
		}
		done += n
		s.progress(done, total)
		if err := ctx.Err(); err != nil {
			return s.canceled(ctx)
		}
		if s.lv != nil {
			x = append([]float64(nil), x...) // the engine may reuse res
			if done, err = s.refine(ctx, x, first, n, rngs, done, total); err != nil {
				return err
			}
		}
		if err := s.w.Write(x); err != nil {
			return err
		}
		s.rows += n
	}
	return nil
}

// refine runs the Langevin steps on the n samples x, numbered from first,
// drawing their noise from rngs, and adds their energies before and after
// to s's sums.
func (s *sampler) refine(ctx context.Context, x []float64, first, n int, rngs []*rand.Rand, done, total int) (int, error) {
	o := s.o
	p, err := s.lv.prog(n)
	if err != nil {
		return done, fmt.Errorf("%s: %w", o.Energy, err)
	}
	step := langevinstep.NewStep(o.StepSize, o.NoiseScale)
	d := s.width
	for k := 0; ; k++ {
		e, grad, err := p.run(x)
		if err != nil {
			return done, fmt.Errorf("%s: samples %d to %d: %w", o.Energy, first+1, first+n, err)
		}
		for r, v := range e {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return done, s.diverged(first+r, k, fmt.Sprintf("energy %g", v))
			}
		}
		for _, v := range e {
			if k == 0 {
				s.before += v
			}
			if k == o.LangevinSteps {
				s.after += v
			}
		}
		if k == o.LangevinSteps {
			return done, nil
		}
		for r := range n {
			step.Move(x[r*d:(r+1)*d], grad[r*d:(r+1)*d], rngs[r])
		}
		if err := s.finite(x, first, k+1); err != nil {
			return done, err
		}
		done += n
		s.progress(done, total)
		if ctx.Err() != nil {
			return done, s.canceled(ctx)
		}
	}
}

// finite checks the samples x, numbered from first, after Langevin step
// (−1: from the generator).
func (s *sampler) finite(x []float64, first, step int) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			row := first + i/s.width
			if step < 0 {
				return fmt.Errorf("%s: sample %d, value %d is %g", s.o.Generator, row+1, i%s.width, v)
			}
			return s.diverged(row, step, fmt.Sprintf("value %d is %g", i%s.width, v))
		}
	}
	return nil
}

// diverged is the error for a Langevin chain gone to infinity.
func (s *sampler) diverged(row, step int, what string) error {
	return fielderr.Errorf("%s: sample %d after %d Langevin steps: %s; the dynamics diverged, try a smaller {StepSize} than %g",
		s.o.Energy, row+1, step, what, s.o.StepSize)
}

func (s *sampler) progress(done, total int) {
	if s.o.Progress != nil {
		s.o.Progress(done, total)
	}
}

// canceled returns the error for a run stopped by its context.
func (s *sampler) canceled(ctx context.Context) error {
	return fmt.Errorf("%s: stopped after %d samples, nothing written: %w", s.o.Output, s.rows, context.Cause(ctx))
}

// langevin computes energies and their input gradients with the imported
// energy graph. It builds one program per number of rows it is given and
// keeps them.
type langevin struct {
	net   *importers.Network
	in    engine.Port
	progs map[int]*gradProg
}

// gradProg computes E(x) and ∇E(x) for a fixed number of rows.
type gradProg struct {
	x, e, grad *autodiff.Node
	vm         *autodiff.Machine
	eBuf, gBuf []float64
}

// newLangevin prepares the energy model m: one float input with a batch
// axis, one output with one energy per row.
func newLangevin(m *onnx.ModelProto) (*langevin, error) {
	net, err := importers.New(m)
	if err != nil {
		return nil, err
	}
	ins := net.Inputs()
	if len(ins) != 1 {
		return nil, fmt.Errorf("the model has %d inputs; an energy model has one, x", len(ins))
	}
	if ins[0].Elem == onnx.TensorProto_INT64 {
		return nil, fmt.Errorf("input %q is int64; Langevin dynamics needs a floating-point input", ins[0].Name)
	}
	in, err := engine.RowPort(ins[0])
	if err != nil {
		return nil, err
	}
	outs := net.Outputs()
	if len(outs) != 1 {
		ps := make([]engine.Port, len(outs))
		for i, p := range outs {
			ps[i] = engine.Port{Name: p.Name}
			if q, err := engine.RowPort(p); err == nil {
				ps[i] = q
			}
		}
		return nil, fmt.Errorf("an energy model has one output with one energy per row; this one has %s", engine.DescribePorts(ps))
	}
	return &langevin{net: net, in: in, progs: map[int]*gradProg{}}, nil
}

// prog returns the program for batches of rows rows.
func (l *langevin) prog(rows int) (*gradProg, error) {
	if p, ok := l.progs[rows]; ok {
		return p, nil
	}
	t := autodiff.NewTape(autodiff.Float64)
	x := t.Input(l.net.Inputs()[0].Name, append([]int{rows}, l.in.Shape...)...)
	outs, err := l.net.ApplyRows(t, l.net.NewParams(t), importers.ApplyOptions{}, x)
	if err != nil {
		return nil, err
	}
	e := outs[0]
	if n := autodiff.Size(e.Shape()); n != rows {
		return nil, fmt.Errorf("output %q has shape %v for %d rows; an energy model gives one value per row", l.net.Outputs()[0].Name, e.Shape(), rows)
	}
	grad := t.InputGradient(t.Sum(e), x)
	if err := t.Err(); err != nil {
		return nil, fmt.Errorf("gradient: %w", err)
	}
	p := &gradProg{x: x, e: e, grad: grad, vm: autodiff.NewMachine(t)}
	l.progs[rows] = p
	return p, nil
}

// run returns E(x) and ∇E(x), valid until the next run.
func (p *gradProg) run(x []float64) (e, grad []float64, err error) {
	if err := autodiff.CopyIn(p.x, x); err != nil {
		return nil, nil, err
	}
	defer p.vm.Reset()
	if err := p.vm.Run(); err != nil {
		return nil, nil, err
	}
	if p.eBuf, err = autodiff.CopyOut(p.eBuf, p.e); err != nil {
		return nil, nil, err
	}
	if p.gBuf, err = autodiff.CopyOut(p.gBuf, p.grad); err != nil {
		return nil, nil, err
	}
	return p.eBuf, p.gBuf, nil
}
