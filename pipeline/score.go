package pipeline

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/onnx"
)

// Metadata keys ebmpipe reads from and writes to a model's metadata_props.
const (
	MetaKind = "ebmpipe.kind"  // "energy" or "generator"
	MetaLogZ = "ebmpipe.log_z" // log normalising constant of an energy model
)

// ScoreOptions are the settings of one scoring run. The JSON names are the
// command-line flag names.
type ScoreOptions struct {
	Model       string `json:"model"`
	Input       string `json:"input"`
	Output      string `json:"output"`
	Engine      string `json:"engine"`
	BatchSize   int    `json:"batch-size"`
	Raw         bool   `json:"raw"`
	SkipBadRows bool   `json:"skip-bad-rows"`
}

// AddFlags defines the options as flags on fs, with their defaults.
func (o *ScoreOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Model, "model", "", "ONNX `FILE` of the model to run (required)")
	fs.StringVar(&o.Input, "input", "", "row `FILE` to score: .csv, .npy or .jsonl (required)")
	fs.StringVar(&o.Output, "output", "", "`FILE` to write, format by extension: .csv, .npy or .jsonl (required)")
	fs.StringVar(&o.Engine, "engine", "go", "scoring `ENGINE`: go (pure-Go Gorgonia graph)")
	fs.IntVar(&o.BatchSize, "batch-size", 1024, "rows per model run; bounds memory use")
	fs.BoolVar(&o.Raw, "raw", false, "write the model's outputs as they are, flattened, instead of energies")
	fs.BoolVar(&o.SkipBadRows, "skip-bad-rows", false, "write bad input rows to OUTPUT.rejects and go on, instead of failing")
}

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
	}
	switch o.Engine {
	case "go":
	default:
		return fmt.Errorf("--engine %q: want go", o.Engine)
	}
	return nil
}

// ScoreStats counts the rows of a scoring run.
type ScoreStats struct {
	Rows     int // rows scored
	Rejected int // bad rows written to the rejects file
}

// Score runs a model over every row of o.Input and writes o.Output.
func Score(o ScoreOptions) (ScoreStats, error) {
	var st ScoreStats
	if err := o.Check(); err != nil {
		return st, err
	}
	m, err := onnx.Load(o.Model)
	if err != nil {
		return st, err
	}
	meta := Metadata(m)
	if !o.Raw && meta[MetaKind] != "" && meta[MetaKind] != "energy" {
		return st, fmt.Errorf("%s: a %s model has no energies to score; use --raw for its outputs", o.Model, meta[MetaKind])
	}
	eng, err := NewGoEngine(m, o.BatchSize)
	if err != nil {
		return st, fmt.Errorf("%s: %w", o.Model, err)
	}
	defer eng.Close()

	var rejects *rejectFile
	ropt := ReadOptions{SkipBadRows: o.SkipBadRows}
	if o.SkipBadRows {
		rejects = &rejectFile{path: o.Output + ".rejects"}
		defer rejects.abort()
		ropt.Reject = rejects.add
	}
	r, err := OpenReader(o.Input, ropt)
	if err != nil {
		return st, err
	}
	defer r.Close()
	in := eng.Input()
	if r.Width() != in.Width {
		return st, fmt.Errorf("%s: rows of %d values (shape %v), but %s wants %d (shape %v)",
			o.Input, r.Width(), r.RowShape(), o.Model, in.Width, in.Shape)
	}

	logZ, hasLogZ, err := metaFloat(meta, MetaLogZ)
	if err != nil {
		return st, fmt.Errorf("%s: %w", o.Model, err)
	}
	var w *Writer
	defer func() {
		if w != nil {
			w.Abort()
		}
	}()
	x := make([]float64, o.BatchSize*in.Width)
	var row []float64
	for {
		n, err := r.Read(x)
		if n > 0 {
			outs, err := eng.Run(x[:n*in.Width], n)
			if err != nil {
				return st, fmt.Errorf("%s: rows %d to %d: %w", o.Input, st.Rows+1, st.Rows+n, err)
			}
			if w == nil {
				if w, err = createScoreWriter(o, eng.Outputs(), outs, n, hasLogZ); err != nil {
					return st, err
				}
			}
			if row, err = scoreRows(row[:0], outs, n, o.Raw, logZ, hasLogZ); err != nil {
				return st, fmt.Errorf("%s: %w", o.Model, err)
			}
			if err := w.Write(row); err != nil {
				return st, err
			}
			st.Rows += n
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, err
		}
	}
	if w == nil { // empty input
		if w, err = createScoreWriter(o, eng.Outputs(), nil, 0, hasLogZ); err != nil {
			return st, err
		}
	}
	if rejects != nil {
		st.Rejected = rejects.n
		if err := rejects.commit(); err != nil {
			return st, err
		}
	}
	err = w.Commit()
	w = nil
	return st, err
}

// createScoreWriter opens o.Output with the columns of a scoring run: the
// flattened outputs with --raw, else energy and, with log Z, log_density.
func createScoreWriter(o ScoreOptions, ports []Port, outs [][]float64, rows int, hasLogZ bool) (*Writer, error) {
	if !o.Raw {
		cols := []string{"energy"}
		if hasLogZ {
			cols = append(cols, "log_density")
		}
		return CreateWriter(o.Output, cols)
	}
	var cols []string
	for k, p := range ports {
		width := p.Width
		if outs != nil {
			width = len(outs[k]) / rows
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
	return CreateWriter(o.Output, cols)
}

// scoreRows appends the output rows for n scored rows to dst.
func scoreRows(dst []float64, outs [][]float64, n int, raw bool, logZ float64, hasLogZ bool) ([]float64, error) {
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
	w    *Writer
	n    int
	err  error
}

func (f *rejectFile) add(b BadRow) {
	f.n++
	if f.err != nil {
		return
	}
	if f.w == nil {
		f.w, f.err = createTextWriter(f.path)
		if f.err != nil {
			return
		}
	}
	f.err = f.w.writeLine(fmt.Sprintf("%d\t%s\t%v", b.Line, b.Text, b.Err))
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
