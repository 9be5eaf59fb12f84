package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/table"
)

// Metadata keys ebmpipe reads from a model's metadata_props; package export
// defines them and their format.
const (
	MetaKind = export.MetaKind // "energy" or "generator"
	MetaLogZ = export.MetaLogZ // log normalising constant of an energy model
)

// ScoreOptions are the settings of one scoring run. The JSON names are the
// command-line flag names.
type ScoreOptions struct {
	Model       string `json:"model"`
	Input       string `json:"input"`
	Output      string `json:"output"`
	Engine      string `json:"engine"`
	BatchSize   int    `json:"batch-size"`
	Workers     int    `json:"workers"`
	Device      string `json:"device"`
	Raw         bool   `json:"raw"`
	SkipBadRows bool   `json:"skip-bad-rows"`
	ORTLib      string `json:"ort-lib"`

	// Progress, if not nil, is called from one goroutine after each batch
	// written, with the rows written so far and the rows in the input if
	// known up front (NPY), else -1.
	Progress func(rows, total int) `json:"-"`
	// Notice, if not nil, is told of choices made on the user's behalf,
	// such as falling back to the Go engine.
	Notice func(msg string) `json:"-"`
}

// Engine names for ScoreOptions.Engine.
const (
	EngineAuto = "auto" // ONNX Runtime if its library loads, else Go
	EngineORT  = "ort"  // ONNX Runtime
	EngineGo   = "go"   // the pure-Go Gorgonia graph
)

// AddFlags defines the options as flags on fs, with their defaults.
func (o *ScoreOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Model, "model", "", "ONNX `FILE` of the model to run (required)")
	fs.StringVar(&o.Input, "input", "", "row `FILE` to score: .csv, .npy or .jsonl (required)")
	fs.StringVar(&o.Output, "output", "", "`FILE` to write, format by extension: .csv, .npy or .jsonl (required)")
	fs.StringVar(&o.Engine, "engine", EngineAuto, "scoring `ENGINE`: ort (ONNX Runtime), go (pure-Go Gorgonia graph) or auto (ort if its library loads, else go)")
	fs.IntVar(&o.BatchSize, "batch-size", 1024, "rows per model run; bounds memory use")
	fs.IntVar(&o.Workers, "workers", 0, "`N` goroutines running the model, each with its own engine (0: one per CPU)")
	fs.StringVar(&o.Device, "device", "cpu", "`DEVICE` for the ort engine: cpu or cuda (needs a GPU build of ONNX Runtime)")
	fs.BoolVar(&o.Raw, "raw", false, "write the model's outputs as they are, flattened, instead of energies")
	fs.BoolVar(&o.SkipBadRows, "skip-bad-rows", false, "write bad input rows to OUTPUT.rejects and go on, instead of failing")
	fs.StringVar(&o.ORTLib, "ort-lib", "", "ONNX Runtime shared library `PATH` (default $"+ORTLibEnv+", then "+defaultORTLibShown+")")
}

// defaultORTLibShown is DefaultORTLib as the flag help shows it.
const defaultORTLibShown = "${XDG_CACHE_HOME:-~/.cache}/ebmpipe/onnxruntime-" + ORTVersion + "/libonnxruntime.so.1"

// Check reports the first missing or invalid option.
func (o *ScoreOptions) Check() error {
	switch {
	case o.Model == "":
		return errors.New("--model is required")
	case o.Input == "":
		return errors.New("--input is required")
	case o.Output == "":
		return errors.New("--output is required")
	case o.BatchSize < 1:
		return fmt.Errorf("--batch-size %d: must be at least 1", o.BatchSize)
	case o.Workers < 0:
		return fmt.Errorf("--workers %d: must be at least 0", o.Workers)
	}
	switch o.Engine {
	case EngineAuto, EngineORT, EngineGo:
	default:
		return fmt.Errorf("--engine %q: want auto, ort or go", o.Engine)
	}
	switch o.Device {
	case "", "cpu":
	case "cuda":
		if o.Engine == EngineGo {
			return errors.New("--device cuda: the go engine runs on the CPU only; use --engine ort")
		}
	default:
		return fmt.Errorf("--device %q: want cpu or cuda", o.Device)
	}
	return nil
}

// readWorkers is the number of goroutines decoding CSV and JSONL input
// rows. Parsing on one goroutine is slower than the engines (about 4M rows
// of 2 values a second, against 14M for ONNX Runtime), so rows are decoded
// on up to 4. They share the CPUs with the engines, and the line splitter
// that feeds them caps their gain, so more would mostly take CPU from the
// engines. Benchmarks change it.
var readWorkers = min(runtime.NumCPU(), 4)

// ScoreStats counts the rows of a scoring run.
type ScoreStats struct {
	Rows     int    // rows scored
	Rejected int    // bad rows written to the rejects file
	Engine   string // the engine used: "ort" or "go"
	Workers  int    // the engines run side by side
}

// Score runs a model over every row of o.Input and writes o.Output. It is
// ScoreContext with a context that is never canceled.
func Score(o ScoreOptions) (ScoreStats, error) {
	return ScoreContext(context.Background(), o)
}

// ScoreContext runs a model over every row of o.Input and writes o.Output.
//
// One goroutine reads batches of o.BatchSize rows, o.Workers goroutines
// each run their own engine on them, and the calling goroutine writes the
// results in input order; at most 2*o.Workers+1 batches are in memory at
// once, whatever the size of the input. The output, and the rejects file
// of o.SkipBadRows, appear only if the whole run succeeds: if ctx is
// canceled or an error occurs, they are removed and the target paths are
// left as they were.
func ScoreContext(ctx context.Context, o ScoreOptions) (ScoreStats, error) {
	var st ScoreStats
	if err := o.Check(); err != nil {
		return st, err
	}
	m, err := onnx.Load(o.Model)
	if err != nil {
		return st, err
	}
	// ONNX Runtime takes the model as bytes; read them again rather than
	// re-encode m.
	data, err := os.ReadFile(o.Model)
	if err != nil {
		return st, fmt.Errorf("onnx: load: %w", err)
	}
	logZ, hasLogZ, err := ModelLogZ(m, o.Raw)
	if err != nil {
		return st, fmt.Errorf("%s: %w", o.Model, err)
	}

	workers := o.Workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	st.Workers = workers
	var newEngine func() (Engine, error)
	newEngine, st.Engine, err = ChooseEngine(o, m, data, workers)
	if err != nil {
		return st, err
	}
	engines := make([]Engine, workers)
	defer func() {
		for _, e := range engines {
			if e != nil {
				e.Close()
			}
		}
	}()
	for i := range engines {
		if engines[i], err = newEngine(); err != nil {
			return st, fmt.Errorf("%s: %w", o.Model, err)
		}
	}
	in := engines[0].Input()

	var rejects *rejectFile
	ropt := table.ReadOptions{SkipBadRows: o.SkipBadRows, Workers: readWorkers}
	if o.SkipBadRows {
		rejects = &rejectFile{path: o.Output + ".rejects"}
		defer rejects.abort()
		ropt.Reject = rejects.add
	}
	r, err := table.OpenReader(o.Input, ropt)
	if err != nil {
		return st, err
	}
	defer r.Close()
	if r.Width() != in.Width {
		return st, fmt.Errorf("%s: rows of %d values (shape %v), but %s wants %d (shape %v)",
			o.Input, r.Width(), r.RowShape(), o.Model, in.Width, in.Shape)
	}

	run := scoreRun{
		o: o, r: r, engines: engines, width: in.Width,
		logZ: logZ, hasLogZ: hasLogZ, total: r.Rows(),
	}
	w, err := run.run(ctx)
	st.Rows = run.rows
	if err != nil {
		if w != nil {
			w.Abort()
		}
		return st, err
	}
	if run.rows == 0 && (rejects == nil || rejects.n == 0) {
		w.Abort()
		return st, fmt.Errorf("%s: no rows to score", o.Input)
	}
	if rejects != nil {
		st.Rejected = rejects.n
		if err := rejects.commit(); err != nil {
			w.Abort()
			return st, err
		}
	}
	return st, w.Commit()
}

// ModelLogZ returns the log Z that model m carries in its metadata, and
// whether it carries one. Unless raw (the model's outputs are wanted as
// they are), m must be an energy model.
func ModelLogZ(m *onnx.ModelProto, raw bool) (logZ float64, ok bool, err error) {
	meta := Metadata(m)
	if !raw && meta[MetaKind] != "" && meta[MetaKind] != "energy" {
		return 0, false, fmt.Errorf("a %s model has no energies to score; use --raw for its outputs", meta[MetaKind])
	}
	return metaFloat(meta, MetaLogZ)
}

// ChooseEngine returns a constructor of the engines o asks for, and the
// engine's name. With EngineAuto it picks ONNX Runtime if the library
// loads, else the Go engine, telling o.Notice why.
func ChooseEngine(o ScoreOptions, m *onnx.ModelProto, data []byte, workers int) (func() (Engine, error), string, error) {
	name := o.Engine
	if name == EngineAuto || name == EngineORT {
		err := InitORT(o.ORTLib)
		switch {
		case err == nil:
			name = EngineORT
		case name == EngineORT || o.Device == "cuda":
			return nil, "", fmt.Errorf("--engine %s: %w", name, err)
		default:
			if o.Notice != nil {
				o.Notice(fmt.Sprintf("--engine auto: %v; using the go engine instead", err))
			}
			name = EngineGo
		}
	}
	if name == EngineGo {
		return func() (Engine, error) { return NewGoEngine(m, o.BatchSize) }, name, nil
	}
	opt := ORTOptions{Lib: o.ORTLib, Device: o.Device}
	if err := CheckORTDevice(opt); err != nil {
		return nil, "", err
	}
	if workers > 1 {
		// Side-by-side sessions, one thread each, rather than threads
		// competing for the cores.
		opt.Threads = 1
	}
	return func() (Engine, error) { return NewORTEngine(data, o.BatchSize, opt) }, name, nil
}

// scoreRun is the state of one ScoreContext run once its input, engines
// and options are checked.
type scoreRun struct {
	o       ScoreOptions
	r       *table.Reader
	engines []Engine
	width   int // values per input row
	logZ    float64
	hasLogZ bool
	total   int // rows in the input, or -1 if not known

	rows int // rows written
}

// scoreBatch is a batch of rows on its way through a run.
type scoreBatch struct {
	seq    int       // index of the batch in the input
	first  int       // rows read before this batch
	x      []float64 // input rows
	n      int       // rows in x
	out    []float64 // output rows
	widths []int     // values per row of each model output
	err    error     // what went wrong reading or scoring this batch
}

// run reads, scores and writes every row, and returns the uncommitted
// Writer of the output: on error it may return a Writer to abort.
func (s *scoreRun) run(ctx context.Context) (*table.Writer, error) {
	ctx, cancel := context.WithCancel(ctx)
	batch := s.o.BatchSize
	inFlight := 2*len(s.engines) + 1
	free := make(chan *scoreBatch, inFlight)
	for range inFlight {
		free <- &scoreBatch{x: make([]float64, batch*s.width)}
	}
	work := make(chan *scoreBatch, inFlight)
	done := make(chan *scoreBatch, inFlight)

	var wg sync.WaitGroup
	wg.Go(func() { s.read(ctx, free, work) })
	for _, e := range s.engines {
		wg.Go(func() { s.score(ctx, e, work, done) })
	}
	// On return, stop the reader and the engines, and wait for them before
	// the caller closes the Reader and the engines.
	defer func() {
		cancel()
		wg.Wait()
	}()
	go func() {
		wg.Wait()
		close(done)
	}()

	var w *table.Writer
	pending := map[int]*scoreBatch{}
	next := 0
	for {
		var b *scoreBatch
		select {
		case b = <-done:
		case <-ctx.Done():
			return w, s.canceled(ctx)
		}
		if b == nil {
			break
		}
		pending[b.seq] = b
		for b = pending[next]; b != nil; b = pending[next] {
			delete(pending, next)
			next++
			if b.err != nil {
				return w, b.err
			}
			if w == nil {
				var err error
				if w, err = createScoreWriter(s.o, s.engines[0].Outputs(), b.widths, s.hasLogZ); err != nil {
					return nil, err
				}
			}
			if err := w.Write(b.out); err != nil {
				return w, err
			}
			s.rows += b.n
			free <- b
			if s.o.Progress != nil {
				s.o.Progress(s.rows, s.total)
			}
			if ctx.Err() != nil {
				return w, s.canceled(ctx)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return w, s.canceled(ctx)
	}
	if w == nil { // empty input
		return createScoreWriter(s.o, s.engines[0].Outputs(), nil, s.hasLogZ)
	}
	return w, nil
}

// canceled returns the error for a run stopped by its context.
func (s *scoreRun) canceled(ctx context.Context) error {
	return fmt.Errorf("%s: stopped after %d rows, nothing written: %w", s.o.Input, s.rows, context.Cause(ctx))
}

// read reads batches into buffers from free and sends them to work, ending
// with a batch holding the error if reading fails.
func (s *scoreRun) read(ctx context.Context, free <-chan *scoreBatch, work chan<- *scoreBatch) {
	defer close(work)
	rows := 0
	for seq := 0; ; seq++ {
		var b *scoreBatch
		select {
		case b = <-free:
		case <-ctx.Done():
			return
		}
		n, err := s.r.Read(b.x)
		if errors.Is(err, io.EOF) {
			return
		}
		b.seq, b.first, b.n, b.err = seq, rows, n, err
		rows += n
		select {
		case work <- b:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// score runs e on the batches from work and sends them on to done.
func (s *scoreRun) score(ctx context.Context, e Engine, work <-chan *scoreBatch, done chan<- *scoreBatch) {
	for b := range work {
		if b.err == nil {
			b.err = s.scoreBatch(e, b)
		}
		select {
		case done <- b:
		case <-ctx.Done():
			return
		}
	}
}

// scoreBatch runs e on the rows of b and fills in b.out and b.widths.
func (s *scoreRun) scoreBatch(e Engine, b *scoreBatch) error {
	outs, err := e.Run(b.x[:b.n*s.width], b.n)
	if err != nil {
		return fmt.Errorf("%s: rows %d to %d: %w", s.o.Input, b.first+1, b.first+b.n, err)
	}
	b.widths = b.widths[:0]
	for _, o := range outs {
		b.widths = append(b.widths, len(o)/b.n)
	}
	if b.out, err = ScoreRows(b.out[:0], outs, b.n, s.o.Raw, s.logZ, s.hasLogZ); err != nil {
		return fmt.Errorf("%s: %w", s.o.Model, err)
	}
	return nil
}

// createScoreWriter opens o.Output with the columns of a scoring run: the
// flattened outputs with --raw, else energy and, with log Z, log_density.
// widths are the values per row of each output, from a first run, or nil
// for an empty input.
func createScoreWriter(o ScoreOptions, ports []Port, widths []int, hasLogZ bool) (*table.Writer, error) {
	if !o.Raw {
		return table.CreateWriter(o.Output, ScoreColumns(hasLogZ))
	}
	var cols []string
	for k, p := range ports {
		width := p.Width
		if widths != nil {
			width = widths[k]
		}
		if width == 1 {
			cols = append(cols, p.Name)
			continue
		}
		for i := range width {
			cols = append(cols, p.Name+"_"+strconv.Itoa(i))
		}
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%s: cannot tell the output width of an empty input", o.Input)
	}
	return table.CreateWriter(o.Output, cols)
}

// ScoreColumns returns the columns of the scores of an energy model:
// energy and, if the model carries log Z, log_density.
func ScoreColumns(hasLogZ bool) []string {
	if hasLogZ {
		return []string{"energy", "log_density"}
	}
	return []string{"energy"}
}

// ScoreRows appends the output rows for n scored rows to dst: with raw,
// the outputs outs of an engine run, flattened, else the energy and, if
// hasLogZ, the log density −energy − logZ of each row.
func ScoreRows(dst []float64, outs [][]float64, n int, raw bool, logZ float64, hasLogZ bool) ([]float64, error) {
	if raw {
		for i := range n {
			for _, o := range outs {
				w := len(o) / n
				dst = append(dst, o[i*w:(i+1)*w]...)
			}
		}
		return dst, nil
	}
	if len(outs) != 1 || len(outs[0]) != n {
		return nil, fmt.Errorf("an energy model has one output with one value per row; this one gives %d outputs (use --raw)", len(outs))
	}
	for _, e := range outs[0] {
		dst = append(dst, e)
		if hasLogZ {
			dst = append(dst, -e-logZ)
		}
	}
	return dst, nil
}

// Metadata returns a model's metadata_props as a map.
func Metadata(m *onnx.ModelProto) map[string]string {
	meta := make(map[string]string, len(m.GetMetadataProps()))
	for _, p := range m.GetMetadataProps() {
		meta[p.GetKey()] = p.GetValue()
	}
	return meta
}

// metaFloat reads a finite number from the metadata.
func metaFloat(meta map[string]string, key string) (float64, bool, error) {
	s, ok := meta[key]
	if !ok {
		return 0, false, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, fmt.Errorf("metadata %s = %q: not a finite number", key, s)
	}
	return v, true, nil
}

// rejectFile collects bad rows into PATH (the output's name + ".rejects"),
// streaming them to a temporary file renamed on commit.
type rejectFile struct {
	path string
	w    *table.Writer
	n    int
	err  error
}

func (f *rejectFile) add(b table.BadRow) {
	f.n++
	if f.err != nil {
		return
	}
	if f.w == nil {
		f.w, f.err = table.CreateTextWriter(f.path)
		if f.err != nil {
			return
		}
	}
	f.err = f.w.WriteLine(fmt.Sprintf("%d\t%s\t%v", b.Line, b.Text, b.Err))
}

func (f *rejectFile) commit() error {
	if f.err != nil {
		return f.err
	}
	if f.w == nil {
		return nil
	}
	return f.w.Commit()
}

func (f *rejectFile) abort() {
	if f.w != nil {
		f.w.Abort()
	}
}
