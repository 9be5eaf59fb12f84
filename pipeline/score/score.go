package score

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"github.com/ebmpipe/ebmpipe/internal/rows"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Options are the settings of one scoring run. The JSON names are the
// command-line flag names.
type Options struct {
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
	// Format is the row format (see rows.Formats) of an Input or Output
	// that is rows.Stdio (standard input or output) or has no extension;
	// "" means CSV for rows.Stdio.
	Format string `json:"format"`

	// Progress, if not nil, is called from one goroutine after each batch
	// written, with the rows written so far and the rows in the input if
	// known up front (NPY), else -1.
	Progress func(rows, total int) `json:"-"`
	// Notice, if not nil, is told of choices made on the user's behalf,
	// such as falling back to the Go engine.
	Notice func(msg string) `json:"-"`
}

// DefaultOptions returns the defaults of `ebmpipe score`.
func DefaultOptions() Options {
	return Options{Engine: engine.Auto, BatchSize: 1024, Device: "cpu"}
}

// Check reports every missing or invalid option.
func (o *Options) Check() error {
	var errs []error
	if o.Model == "" {
		errs = append(errs, fielderr.Errorf("{Model} is required"))
	}
	if o.Input == "" {
		errs = append(errs, fielderr.Errorf("{Input} is required"))
	}
	if o.Output == "" {
		errs = append(errs, fielderr.Errorf("{Output} is required"))
	}
	if o.Workers < 0 {
		errs = append(errs, fielderr.Errorf("{Workers} %d: must be at least 0", o.Workers))
	}
	if err := (rows.ReadOptions{Format: o.Format}).Check(); err != nil {
		errs = append(errs, err)
	}
	if o.Output == rows.Stdio && o.Format == "npy" {
		errs = append(errs, fielderr.Errorf("{Format} npy cannot go to standard output (its header holds the row count); use csv or jsonl"))
	}
	if o.SkipBadRows && o.Output == rows.Stdio {
		errs = append(errs, fielderr.Errorf("{SkipBadRows} writes the bad rows to OUTPUT.rejects: it needs an {Output} file, not standard output"))
	}
	if err := o.choice().Check(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// choice returns the engine o asks for.
func (o Options) choice() engine.Choice {
	return engine.Choice{Engine: o.Engine, BatchSize: o.BatchSize, Device: o.Device, ORTLib: o.ORTLib, Notice: o.Notice}
}

// readWorkers is the number of goroutines decoding CSV and JSONL input
// rows. Parsing on one goroutine is slower than the engines (about 4M rows
// of 2 values a second, against 14M for ONNX Runtime), so rows are decoded
// on up to 4. They share the CPUs with the engines, and the line splitter
// that feeds them caps their gain, so more would mostly take CPU from the
// engines. Benchmarks change it.
var readWorkers = min(runtime.NumCPU(), 4)

// float32Path lets a run whose input file holds float32 values and whose
// engine is an engine.Float32Engine take its rows from the reader through
// the engine to the writer as float32 (see Stats.Float32). Tests turn it
// off to compare with the float64 path.
var float32Path = true

// Stats counts the rows of a scoring run.
type Stats struct {
	Rows int // rows scored
	// NonFinite counts the NaN and ±Inf values written: the model's
	// outputs overflowed, or were undefined, for some rows.
	NonFinite int
	Rejected  int    // bad rows written to the rejects file
	Engine    string // the engine used: "ort" or "go"
	Workers   int    // the engines run side by side
	// Float32 is set if the rows went from the input file through the
	// engine to the output as float32 values, the file's and the model's
	// type, with no float64 stage: an NPY file of float32 rows on the ORT
	// engine. The output is the same either way.
	Float32 bool
}

// Score runs a model over every row of o.Input and writes o.Output.
//
// One goroutine reads batches of o.BatchSize rows, o.Workers goroutines
// each run their own engine on them, and the calling goroutine writes the
// results in input order; at most 2*o.Workers+1 batches are in memory at
// once, whatever the size of the input. The output, and the rejects file
// of o.SkipBadRows, appear only if the whole run succeeds: if ctx is
// canceled or an error occurs, they are removed and the target paths are
// left as they were.
func Score(ctx context.Context, o Options) (Stats, error) {
	var st Stats
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
	var newEngine func() (engine.Engine, error)
	newEngine, st.Engine, err = engine.Choose(o.choice(), m, data, workers)
	if err != nil {
		return st, err
	}
	engines := make([]engine.Engine, workers)
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
	ropt := rows.ReadOptions{SkipBadRows: o.SkipBadRows, Workers: readWorkers, Width: in.Width, Notice: o.Notice, Format: o.Format, Float32: in.Float32}
	if o.SkipBadRows {
		rejects = &rejectFile{path: o.Output + ".rejects"}
		defer rejects.abort()
		ropt.Reject = rejects.add
	}
	r, err := rows.OpenReader(o.Input, ropt)
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
		float32: float32Path && in.Float32 && r.HoldsFloat32() && allFloat32(engines),
	}
	st.Float32 = run.float32
	w, err := run.run(ctx)
	st.Rows, st.NonFinite = run.rows, run.nonFinite
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

// scoreRun is the state of one Score run once its input, engines
// and options are checked.
type scoreRun struct {
	o       Options
	r       *rows.Reader
	engines []engine.Engine
	width   int // values per input row
	logZ    float64
	hasLogZ bool
	total   int // rows in the input, or -1 if not known
	// float32 is set if rows go through as float32: the Reader's
	// Read32, the engines' Run32 and, without log densities, the
	// Writer's Write32.
	float32 bool

	rows      int // rows written
	nonFinite int // NaN and ±Inf values written
}

// scoreBatch is a batch of rows on its way through a run.
type scoreBatch struct {
	seq    int       // index of the batch in the input
	first  int       // rows read before this batch
	x      []float64 // input rows, or
	x32    []float32 // those of a float32 run
	n      int       // rows in x or x32
	out    []float64 // output rows, or
	out32  []float32 // those of a float32 run without log densities
	is32   bool      // whether out32 holds the output rows
	widths []int     // values per row of each model output
	err    error     // what went wrong reading or scoring this batch
}

// allFloat32 reports whether every engine is an engine.Float32Engine.
func allFloat32(engines []engine.Engine) bool {
	for _, e := range engines {
		if _, ok := e.(engine.Float32Engine); !ok {
			return false
		}
	}
	return true
}

// run reads, scores and writes every row, and returns the uncommitted
// Writer of the output: on error it may return a Writer to abort.
func (s *scoreRun) run(ctx context.Context) (*rows.Writer, error) {
	ctx, cancel := context.WithCancel(ctx)
	batch := s.o.BatchSize
	inFlight := 2*len(s.engines) + 1
	free := make(chan *scoreBatch, inFlight)
	for range inFlight {
		if s.float32 {
			free <- &scoreBatch{x32: make([]float32, batch*s.width)}
		} else {
			free <- &scoreBatch{x: make([]float64, batch*s.width)}
		}
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

	var w *rows.Writer
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
			if err := s.write(w, b); err != nil {
				return w, err
			}
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

// write writes the output rows of b to w and counts them.
func (s *scoreRun) write(w *rows.Writer, b *scoreBatch) error {
	s.rows += b.n
	if b.is32 {
		s.nonFinite += countNonFinite(b.out32)
		return w.Write32(b.out32)
	}
	s.nonFinite += countNonFinite(b.out)
	return w.Write(b.out)
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
		var n int
		var err error
		for n == 0 && err == nil {
			var read int
			if s.float32 {
				read, err = s.r.Read32(b.x32)
			} else {
				read, err = s.r.Read(b.x)
			}
			if errors.Is(err, io.EOF) {
				return
			}
			n = read
			b.first = rows
			rows += read
		}
		b.seq, b.n, b.err = seq, n, err
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
func (s *scoreRun) score(ctx context.Context, e engine.Engine, work <-chan *scoreBatch, done chan<- *scoreBatch) {
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

// scoreBatch runs e on the rows of b and fills in b.out or b.out32, and
// b.widths.
func (s *scoreRun) scoreBatch(e engine.Engine, b *scoreBatch) error {
	if s.float32 {
		outs, err := e.(engine.Float32Engine).Run32(b.x32[:b.n*s.width], b.n)
		if err != nil {
			return s.runError(b, err)
		}
		return outputRows(s, b, outs)
	}
	outs, err := e.Run(b.x[:b.n*s.width], b.n)
	if err != nil {
		return s.runError(b, err)
	}
	return outputRows(s, b, outs)
}

// runError is the error of an engine run on the rows of b that failed.
func (s *scoreRun) runError(b *scoreBatch, err error) error {
	return fmt.Errorf("%s: rows %d to %d: %w", s.o.Input, b.first+1, b.first+b.n, err)
}

// outputRows sets b.widths and b.out, or b.out32 if the outputs are float32
// and no log density is written, from the outputs outs of an engine run on
// b's rows.
func outputRows[T float32 | float64](s *scoreRun, b *scoreBatch, outs [][]T) error {
	b.widths = b.widths[:0]
	for _, o := range outs {
		b.widths = append(b.widths, len(o)/b.n)
	}
	var err error
	_, b.is32 = any(outs).([][]float32)
	if b.is32 && (s.o.Raw || !s.hasLogZ) {
		b.out32, err = rowsOf(b.out32[:0], outs, b.n, s.o.Raw, s.logZ, false)
	} else {
		b.is32 = false
		b.out, err = rowsOf(b.out[:0], outs, b.n, s.o.Raw, s.logZ, s.hasLogZ)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.o.Model, err)
	}
	return nil
}

// createScoreWriter opens o.Output with the columns of a scoring run: the
// flattened outputs with --raw, else energy and, with log Z, log_density.
// widths are the values per row of each output, from a first run, or nil
// for an empty input.
func createScoreWriter(o Options, ports []engine.Port, widths []int, hasLogZ bool) (*rows.Writer, error) {
	if !o.Raw {
		cols := Columns(hasLogZ)
		return rows.CreateWriterFormat(o.Output, o.Format, cols, len(cols))
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
	return rows.CreateWriterFormat(o.Output, o.Format, cols, len(cols))
}

// ModelLogZ returns the log Z that model m carries in its metadata, and
// whether it carries one. Unless raw (the model's outputs are wanted as
// they are), m must be an energy model.
func ModelLogZ(m *onnx.ModelProto, raw bool) (logZ float64, ok bool, err error) {
	meta, err := export.ReadMeta(m)
	if err != nil {
		return 0, false, err
	}
	if !raw && meta.Kind != "" && meta.Kind != export.KindEnergy {
		return 0, false, fielderr.Errorf("a %s model has no energies to score; use {Raw} for its outputs", meta.Kind)
	}
	if meta.LogZ == nil {
		return 0, false, nil
	}
	return meta.LogZ.Value, true, nil
}

// Columns returns the columns of the scores of an energy model: energy
// and, if the model carries log Z, log_density.
func Columns(hasLogZ bool) []string {
	if hasLogZ {
		return []string{"energy", "log_density"}
	}
	return []string{"energy"}
}

// Rows appends the output rows for n scored rows to dst: with raw, the
// outputs outs of an engine run, flattened, else the energy and, if
// hasLogZ, the log density −energy − logZ of each row.
func Rows(dst []float64, outs [][]float64, n int, raw bool, logZ float64, hasLogZ bool) ([]float64, error) {
	return rowsOf(dst, outs, n, raw, logZ, hasLogZ)
}

// rowsOf is Rows for outputs of float32 or float64 values, appended as
// float32 or float64 values. Log densities are float64 results: float32
// rows hold none.
func rowsOf[D, S float32 | float64](dst []D, outs [][]S, n int, raw bool, logZ float64, hasLogZ bool) ([]D, error) {
	if _, is32 := any(dst).([]float32); is32 && hasLogZ && !raw {
		return nil, errors.New("log densities in float32 rows")
	}
	if raw {
		if len(outs) == 1 { // rows as they are
			o := outs[0]
			return appendConverted(dst, o[:len(o)/n*n]), nil
		}
		for i := range n {
			for _, o := range outs {
				w := len(o) / n
				dst = appendConverted(dst, o[i*w:(i+1)*w])
			}
		}
		return dst, nil
	}
	if len(outs) != 1 || len(outs[0]) != n {
		return nil, fielderr.Errorf("an energy model has one output with one value per row; this one gives %d outputs (use {Raw})", len(outs))
	}
	if !hasLogZ {
		return appendConverted(dst, outs[0]), nil
	}
	for _, e := range outs[0] {
		dst = append(dst, D(e), D(-float64(e)-logZ))
	}
	return dst, nil
}

// appendConverted appends the values of src, converted, to dst.
func appendConverted[D, S float32 | float64](dst []D, src []S) []D {
	if d, ok := any(dst).([]S); ok {
		return any(append(d, src...)).([]D)
	}
	for _, v := range src {
		dst = append(dst, D(v))
	}
	return dst
}

// countNonFinite returns the number of NaN and ±Inf values in x.
func countNonFinite[T float32 | float64](x []T) int {
	n := 0
	for _, v := range x {
		if v-v != 0 {
			n++
		}
	}
	return n
}

// rejectFile collects bad rows into PATH (the output's name + ".rejects"),
// streaming them to a temporary file renamed on commit.
type rejectFile struct {
	path string
	w    *rows.Writer
	n    int
	err  error
}

func (f *rejectFile) add(b rows.BadRow) {
	f.n++
	if f.err != nil {
		return
	}
	if f.w == nil {
		f.w, f.err = rows.CreateTextWriter(f.path)
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
		// No bad rows: a rejects file of an earlier run would be taken
		// for this run's.
		if fi, err := os.Lstat(f.path); err == nil && !fi.IsDir() {
			if err := os.Remove(f.path); err != nil {
				return fmt.Errorf("removing the rejects file of an earlier run: %w", err)
			}
		}
		return nil
	}
	return f.w.Commit()
}

func (f *rejectFile) abort() {
	if f.w != nil {
		f.w.Abort()
	}
}
