package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/spf13/pflag"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/table"
)

// SampleOptions are the settings of a sampling run. The JSON names are the
// command-line flag names.
type SampleOptions struct {
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

// DefaultSampleOptions returns the options with the flag defaults.
func DefaultSampleOptions() SampleOptions {
	return SampleOptions{StepSize: 0.01, NoiseScale: 1, BatchSize: 1024, Seed: 1, Engine: EngineAuto}
}

// AddFlags defines the options as flags on fs, with their defaults.
func (o *SampleOptions) AddFlags(fs *pflag.FlagSet) {
	d := DefaultSampleOptions()
	fs.StringVar(&o.Generator, "generator", d.Generator, "ONNX `FILE` of the generator x = G(z), z ~ N(0, I) (required)")
	fs.IntVarP(&o.N, "n", "n", d.N, "number `N` of samples to draw (required)")
	fs.StringVar(&o.Output, "output", d.Output, "`FILE` to write, format by extension: .csv, .npy or .jsonl (required)")
	fs.StringVar(&o.Energy, "energy", d.Energy, "ONNX `FILE` of the energy E(x) whose Langevin dynamics refine the samples")
	fs.IntVar(&o.LangevinSteps, "langevin-steps", d.LangevinSteps, "Langevin steps `K` on the energy from each generator sample (0: none; needs --energy)")
	fs.Float64Var(&o.StepSize, "step-size", d.StepSize, "Langevin step size `ETA`, η in x ← x − (η/2) ∇E(x) + s √η ξ")
	fs.Float64Var(&o.NoiseScale, "noise-scale", d.NoiseScale, "Langevin noise scale `S`, s in the step (1: Langevin dynamics, which samples exp(−E)/Z as η → 0; 0: gradient descent)")
	fs.IntVar(&o.BatchSize, "batch-size", d.BatchSize, "rows per model run; bounds memory use")
	fs.Uint64Var(&o.Seed, "seed", d.Seed, "random `SEED`: the same seed draws the same samples")
	fs.StringVar(&o.Engine, "engine", d.Engine, "`ENGINE` running the generator: ort (ONNX Runtime), go (pure-Go Gorgonia graph) or auto (ort if its library loads, else go); Langevin gradients always run on the go engine")
	fs.StringVar(&o.ORTLib, "ort-lib", d.ORTLib, "ONNX Runtime shared library `PATH` (default $"+ORTLibEnv+", then "+defaultORTLibShown+")")
}

// Check reports the first missing or invalid option.
func (o *SampleOptions) Check() error {
	switch {
	case o.Generator == "":
		return errors.New("--generator is required")
	case o.N == 0:
		return errors.New("-n is required: the number of samples to draw")
	case o.N < 0:
		return fmt.Errorf("-n %d: must be at least 1", o.N)
	case o.Output == "":
		return errors.New("--output is required")
	case o.LangevinSteps < 0:
		return fmt.Errorf("--langevin-steps %d: must be at least 0", o.LangevinSteps)
	case o.LangevinSteps > 0 && o.Energy == "":
		return fmt.Errorf("--langevin-steps %d needs --energy, the model whose gradient drives the steps", o.LangevinSteps)
	case !(o.StepSize > 0) || math.IsInf(o.StepSize, 0):
		return fmt.Errorf("--step-size %g: want a finite number > 0", o.StepSize)
	case !(o.NoiseScale >= 0) || math.IsInf(o.NoiseScale, 0):
		return fmt.Errorf("--noise-scale %g: want a finite number ≥ 0", o.NoiseScale)
	case o.BatchSize < 1:
		return fmt.Errorf("--batch-size %d: must be at least 1", o.BatchSize)
	}
	switch o.Engine {
	case EngineAuto, EngineORT, EngineGo:
	default:
		return fmt.Errorf("--engine %q: want auto, ort or go", o.Engine)
	}
	return nil
}

// SampleStats describe a sampling run.
type SampleStats struct {
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
func Sample(ctx context.Context, o SampleOptions) (SampleStats, error) {
	st := SampleStats{EnergyBefore: math.NaN(), EnergyAfter: math.NaN()}
	if err := o.Check(); err != nil {
		return st, err
	}
	gm, err := export.LoadKind(o.Generator, export.KindGenerator, "--generator")
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
	newEngine, name, err := ChooseEngine(ScoreOptions{Engine: o.Engine, ORTLib: o.ORTLib, BatchSize: batch, Notice: o.Notice}, gm, data, 1)
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
		return st, fmt.Errorf("%s: a generator has one output, x = G(z); this one has %s", o.Generator, describePorts(outs))
	}

	s := &sampler{o: o, gen: gen, width: outs[0].Width, features: features}
	if o.Energy != "" {
		em, err := export.LoadKind(o.Energy, export.KindEnergy, "--energy")
		if err != nil {
			return st, err
		}
		if s.lv, err = newLangevin(em); err != nil {
			return st, fmt.Errorf("%s: %w", o.Energy, err)
		}
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
	if _, ok := Metadata(m)[export.MetaFeatures]; !ok {
		return nil, nil
	}
	meta, err := export.ReadMeta(m)
	if err != nil {
		return nil, err
	}
	return meta.Features, nil
}

// sampler is the state of one Sample run once its models are loaded.
type sampler struct {
	o        SampleOptions
	gen      Engine
	lv       *langevin // nil without an energy
	width    int       // values per sample; 0 until known
	features []string

	w       *table.Writer
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
	w, err := table.CreateWriter(s.o.Output, cols)
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
	half := o.StepSize / 2
	noise := o.NoiseScale * math.Sqrt(o.StepSize)
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
			rng := rngs[r]
			for j := r * d; j < (r+1)*d; j++ {
				x[j] += -half*grad[j] + noise*rng.NormFloat64()
			}
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
	return fmt.Errorf("%s: sample %d after %d Langevin steps: %s; the dynamics diverged, try a smaller --step-size than %g",
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
	in    Port
	progs map[int]*gradProg
}

// gradProg computes E(x) and ∇E(x) for a fixed number of rows.
type gradProg struct {
	x, e, grad *G.Node
	vm         G.VM
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
	in, err := rowPort(ins[0])
	if err != nil {
		return nil, err
	}
	outs := net.Outputs()
	if len(outs) != 1 {
		ps := make([]Port, len(outs))
		for i, p := range outs {
			ps[i] = Port{Name: p.Name}
			if q, err := rowPort(p); err == nil {
				ps[i] = q
			}
		}
		return nil, fmt.Errorf("an energy model has one output with one energy per row; this one has %s", describePorts(ps))
	}
	return &langevin{net: net, in: in, progs: map[int]*gradProg{}}, nil
}

// prog returns the program for batches of rows rows.
func (l *langevin) prog(rows int) (*gradProg, error) {
	if p, ok := l.progs[rows]; ok {
		return p, nil
	}
	g := G.NewGraph()
	t := importers.NewTape(g, tensor.Float64)
	x := t.Input(l.net.Inputs()[0].Name, append([]int{rows}, l.in.Shape...)...)
	outs, err := l.net.Apply(t, l.net.NewParams(t), importers.ApplyOptions{}, x)
	if err != nil {
		return nil, err
	}
	e := outs[0]
	if n := e.Shape().TotalSize(); n != rows {
		return nil, fmt.Errorf("output %q has shape %v for %d rows; an energy model gives one value per row", l.net.Outputs()[0].Name, e.Shape(), rows)
	}
	grad := t.InputGradient(t.Sum(e), x)
	if err := t.Err(); err != nil {
		return nil, fmt.Errorf("gradient: %w", err)
	}
	p := &gradProg{x: x, e: e, grad: grad, vm: G.NewTapeMachine(g)}
	l.progs[rows] = p
	return p, nil
}

// run returns E(x) and ∇E(x), valid until the next run.
func (p *gradProg) run(x []float64) (e, grad []float64, err error) {
	if err := importers.CopyIn(p.x, x); err != nil {
		return nil, nil, err
	}
	defer p.vm.Reset()
	if err := p.vm.RunAll(); err != nil {
		return nil, nil, err
	}
	if p.eBuf, err = importers.CopyOut(p.eBuf, p.e); err != nil {
		return nil, nil, err
	}
	if p.gBuf, err = importers.CopyOut(p.gBuf, p.grad); err != nil {
		return nil, nil, err
	}
	return p.eBuf, p.gBuf, nil
}
