package beamscore

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/ebmpipe/ebmpipe/internal/rows"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"
	"github.com/ebmpipe/ebmpipe/pipeline/score"
)

func init() {
	register.DoFn3x1[context.Context, FileTask, func(BadRow), error](&scoreFn{})
	register.DoFn3x1[context.Context, int, func(*BadRow) bool, error](&rejectsFn{})
	register.Emitter1[BadRow]()
	register.Iter1[BadRow]()
}

// Counter namespace and names of the Beam metrics of a run.
const (
	MetricsNamespace = "ebmpipe"
	MetricRows       = "rows_scored"
	MetricRejected   = "rows_rejected"
)

var (
	rowsScored   = beam.NewCounter(MetricsNamespace, MetricRows)
	rowsRejected = beam.NewCounter(MetricsNamespace, MetricRejected)
)

// A FileTask is one input file of a run: the element a scoring DoFn
// processes.
type FileTask struct {
	Index int    // the file's shard number
	Path  string // the file, as the filesystem names it
}

// A BadRow is a row that was not scored.
type BadRow struct {
	Index  int    // the file's shard number, to sort rejects by
	File   string // the file
	Line   int    // 1-based line (CSV, JSONL) or 0-based row index (NPY)
	Text   string // the line, or the row's values for NPY
	Reason string // what is wrong, naming the file and line
	// Fatal marks an error that makes the whole file unreadable as rows
	// for the model; Line and Text are then empty.
	Fatal bool
}

// scoreFn reads, scores and writes one input file per element. Its
// exported fields travel to the workers with the pipeline.
type scoreFn struct {
	Model       []byte // the ONNX model
	ModelName   string // the model's path, for messages
	Engine      string // engine.ORT or EngineGo, already chosen
	BatchSize   int
	Device      string
	ORTLib      string
	LogZ        float64
	HasLogZ     bool
	SkipBadRows bool
	Output      string // output prefix
	Shards      int    // number of output shards
	RunID       string // names the temporary files of this run

	engine engine.Engine
	x      []float64 // a batch of input rows
	out    []float64 // a batch of output rows
	line   []byte
}

// Setup makes the DoFn instance's engine.
func (f *scoreFn) Setup(ctx context.Context) error {
	m, err := onnx.Decode(f.Model)
	if err != nil {
		return fmt.Errorf("%s: %w", f.ModelName, err)
	}
	newEngine, _, err := engine.Choose(engine.Choice{
		Engine: f.Engine, Device: f.Device, ORTLib: f.ORTLib, BatchSize: f.BatchSize,
	}, m, f.Model, 2) // engines side by side: one thread each
	if err != nil {
		return err
	}
	if f.engine, err = newEngine(); err != nil {
		return fmt.Errorf("%s: %w", f.ModelName, err)
	}
	return nil
}

// Teardown closes the engine.
func (f *scoreFn) Teardown() error {
	if f.engine == nil {
		return nil
	}
	err := f.engine.Close()
	f.engine = nil
	return err
}

// ProcessElement scores the rows of the file t into the temporary file of
// its shard, and emits its bad rows. Without SkipBadRows it stops at the
// file's first bad row, which Run then reports. A file that cannot be read
// as rows for the model is emitted as a fatal BadRow, so that Run fails
// with its message rather than Beam's account of a failed bundle, and a
// runner does not retry it; errors of the engine or in writing fail the
// bundle.
func (f *scoreFn) ProcessElement(ctx context.Context, t FileTask, reject func(BadRow)) error {
	err := f.scoreFile(ctx, t, reject)
	var fe fileError
	if errors.As(err, &fe) {
		reject(BadRow{Index: t.Index, File: t.Path, Fatal: true, Reason: fe.Error()})
		return nil
	}
	return err
}

// fileError marks the errors of scoreFile that are about the input file.
type fileError struct{ error }

// scoreFile does the work of ProcessElement.
func (f *scoreFn) scoreFile(ctx context.Context, t FileTask, reject func(BadRow)) error {
	fsys, err := filesystem.New(ctx, t.Path)
	if err != nil {
		return fileError{err}
	}
	defer fsys.Close()
	src, err := fsys.OpenRead(ctx, t.Path)
	if err != nil {
		return fileError{fmt.Errorf("%s: %w", t.Path, err)}
	}
	defer src.Close()
	bad := false
	in := f.engine.Input()
	r, err := rows.NewReader(src, t.Path, rows.ReadOptions{
		SkipBadRows: true,
		Float32:     in.Float32, // values beyond the model's float32 input are bad rows
		Reject: func(b rows.BadRow) {
			bad = true
			rowsRejected.Inc(ctx, 1)
			reject(BadRow{Index: t.Index, File: t.Path, Line: b.Line, Text: b.Text, Reason: b.Err.Error()})
		},
	})
	if err != nil {
		return fileError{err}
	}
	defer r.Close()
	if r.Width() != in.Width {
		return fileError{fmt.Errorf("%s: rows of %d values (shape %v), but %s wants %d (shape %v)",
			t.Path, r.Width(), r.RowShape(), f.ModelName, in.Width, in.Shape)}
	}
	tmp := tempName(shardName(f.Output, t.Index, f.Shards), f.RunID)
	dst, err := fsys.OpenWrite(ctx, tmp)
	if err != nil {
		return fmt.Errorf("%s: %w", tmp, err)
	}
	w := bufio.NewWriterSize(dst, 256<<10)
	err = writeHeader(w, score.Columns(f.HasLogZ))
	for err == nil {
		var n int
		n, err = r.Read(f.batch(in.Width))
		if bad && !f.SkipBadRows {
			err = io.EOF // the run fails; the rest of the file is not needed
		}
		if err != nil && !errors.Is(err, io.EOF) {
			err = fileError{err}
		}
		if err == nil {
			err = f.score(w, t, n, in.Width)
			rowsScored.Inc(ctx, int64(n))
		}
	}
	if !errors.Is(err, io.EOF) {
		dst.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		dst.Close()
		return fmt.Errorf("%s: %w", tmp, err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("%s: %w", tmp, err)
	}
	return nil
}

// batch returns the buffer for a batch of rows of width values.
func (f *scoreFn) batch(width int) []float64 {
	if len(f.x) != f.BatchSize*width {
		f.x = make([]float64, f.BatchSize*width)
	}
	return f.x
}

// score runs the engine on the n rows in f.x and writes their scores.
func (f *scoreFn) score(w *bufio.Writer, t FileTask, n, width int) error {
	outs, err := f.engine.Run(f.x[:n*width], n)
	if err != nil {
		return fmt.Errorf("%s: a batch of %d rows: %w", t.Path, n, err)
	}
	if f.out, err = score.Rows(f.out[:0], outs, n, false, f.LogZ, f.HasLogZ); err != nil {
		return fmt.Errorf("%s: %w", f.ModelName, err)
	}
	k := len(f.out) / n
	for i := range n {
		f.line = rows.AppendCSVRow(f.line[:0], f.out[i*k:(i+1)*k])
		if _, err := w.Write(f.line); err != nil {
			return err
		}
	}
	return nil
}

// writeHeader writes the CSV header line of columns.
func writeHeader(w io.Writer, columns []string) error {
	cw := csv.NewWriter(w)
	cw.Write(columns)
	cw.Flush()
	return cw.Error()
}

// rejectsFn writes all bad rows, sorted by file and line, to the
// temporary rejects file of a run, and the fatal errors, sorted by file, to
// its temporary errors file. It writes neither if there is nothing to
// write, so that Run can tell from them how the run went whatever the
// runner's support for metrics.
type rejectsFn struct {
	Rejects string // the temporary rejects file
	Errors  string // the temporary file of fatal errors
}

// ProcessElement writes the bad rows, all under one key: rows as lines of
// file, line, text and reason separated by tabs, fatal errors as one line
// each.
func (f *rejectsFn) ProcessElement(ctx context.Context, _ int, rows func(*BadRow) bool) error {
	var all []BadRow
	var b BadRow
	for rows(&b) {
		all = append(all, b)
	}
	slices.SortFunc(all, func(a, b BadRow) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.Line, b.Line))
	})
	var rejects, fatal strings.Builder
	for _, b := range all {
		if b.Fatal {
			fatal.WriteString(strings.ReplaceAll(b.Reason, "\n", "; ") + "\n")
		} else {
			rejects.WriteString(b.File + "\t" + strconv.Itoa(b.Line) + "\t" + b.Text + "\t" + b.Reason + "\n")
		}
	}
	if err := writeFile(ctx, f.Rejects, rejects.String()); err != nil {
		return err
	}
	return writeFile(ctx, f.Errors, fatal.String())
}

// writeFile writes text to path on its filesystem, unless text is empty.
func writeFile(ctx context.Context, path, text string) error {
	if text == "" {
		return nil
	}
	fsys, err := filesystem.New(ctx, path)
	if err != nil {
		return err
	}
	defer fsys.Close()
	return filesystem.Write(ctx, fsys, path, []byte(text))
}

// shardName is the name of output shard i of n.
func shardName(prefix string, i, n int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.csv", prefix, i, n)
}

// tempName is the temporary file that run writes in place of path.
func tempName(path, run string) string {
	return path + ".tmp-" + run
}
