package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/train"
)

// DefaultToyRows is the number of points drawn from a toy data set for
// reference data (LogZFileOptions.Data, plots) when no row count is given.
const DefaultToyRows = 10000

// LogZFileOptions are the settings of `ebmpipe logz`: the model file whose
// log Z is estimated and written to its metadata, the reference data and
// generator, the engine, and the estimate's own settings. The JSON names
// are the flag names.
type LogZFileOptions struct {
	Model     string `json:"model"`
	Data      string `json:"data"`
	DataRows  int    `json:"data-rows"`
	Generator string `json:"generator"`
	Output    string `json:"output"`
	Engine    string `json:"engine"`
	ORTLib    string `json:"ort-lib"`

	// Estimate holds the settings of the estimate itself (flags method,
	// grid-size, bounds, margin, samples, seed, batch-size). Its Data and
	// Generator are filled in by LogZFile from the fields above.
	Estimate LogZOptions `json:"estimate"`

	// Notice, if not nil, is told of choices made on the user's behalf,
	// such as falling back to the Go engine.
	Notice func(msg string) `json:"-"`
}

// DefaultLogZFileOptions returns the options with the flag defaults.
func DefaultLogZFileOptions() LogZFileOptions {
	return LogZFileOptions{Engine: EngineAuto, Estimate: DefaultLogZOptions()}
}

// AddFlags defines the options as flags on fs, with their defaults: the
// files and engine first, then the estimate's settings.
func (o *LogZFileOptions) AddFlags(fs *pflag.FlagSet) {
	d := DefaultLogZFileOptions()
	fs.StringVar(&o.Model, "model", d.Model, "ONNX `FILE` of the energy model (required)")
	fs.StringVar(&o.Data, "data", d.Data, "training data: a row `FILE` (.csv, .npy, .jsonl) or toy:NAME; sets the grid box and fits the importance proposal")
	fs.IntVar(&o.DataRows, "data-rows", d.DataRows, fmt.Sprintf("read the first `N` rows of --data (0: a whole file, or %d toy points)", DefaultToyRows))
	fs.StringVar(&o.Generator, "generator", d.Generator, "ONNX `FILE` of a generator x = G(z), z ~ N(0, I), whose samples shape the proposal or box")
	fs.StringVar(&o.Output, "output", d.Output, "write the model with its log Z to `FILE` instead of rewriting --model")
	fs.StringVar(&o.Engine, "engine", d.Engine, "`ENGINE` running the models: ort (ONNX Runtime), go (pure-Go Gorgonia graph) or auto (ort if its library loads, else go)")
	fs.StringVar(&o.ORTLib, "ort-lib", d.ORTLib, "ONNX Runtime shared library `PATH` (default $"+ORTLibEnv+", then the install location)")
	o.Estimate.AddFlags(fs)
}

// Check reports the first missing or invalid option.
func (o *LogZFileOptions) Check() error {
	switch {
	case o.Model == "":
		return errors.New("--model is required")
	case o.DataRows < 0:
		return fmt.Errorf("--data-rows %d: must be at least 0", o.DataRows)
	case o.DataRows > 0 && o.Data == "":
		return errors.New("--data-rows needs --data")
	}
	switch o.Engine {
	case EngineAuto, EngineORT, EngineGo:
	default:
		return fmt.Errorf("--engine %q: want auto, ort or go", o.Engine)
	}
	return o.Estimate.Check()
}

// LogZFile estimates log Z of the energy model o.Model (see LogZ) and
// writes the estimate, its error and the method into the model's metadata
// (export.SetLogZ): into o.Output if set, else into o.Model, rewritten in
// place. Either file is written atomically. It returns the estimate and
// the file written.
func LogZFile(o LogZFileOptions) (LogZResult, string, error) {
	var res LogZResult
	if err := o.Check(); err != nil {
		return res, "", err
	}
	m, err := export.LoadKind(o.Model, export.KindEnergy, "--model")
	if err != nil {
		return res, "", err
	}
	eng, err := o.newEngine(m)
	if err != nil {
		return res, "", fmt.Errorf("%s: %w", o.Model, err)
	}
	defer eng.Close()
	width := eng.Input().Width

	est := o.Estimate
	if o.Generator != "" {
		g, err := export.LoadKind(o.Generator, export.KindGenerator, "--generator")
		if err != nil {
			return res, "", err
		}
		ge, err := o.newEngine(g)
		if err != nil {
			return res, "", fmt.Errorf("%s: %w", o.Generator, err)
		}
		defer ge.Close()
		est.Generator = ge
	}
	if o.Data != "" {
		n := o.DataRows
		if n == 0 && strings.HasPrefix(o.Data, "toy:") {
			n = DefaultToyRows
		}
		d, err := train.LoadData(o.Data, n, est.Seed)
		if err != nil {
			return res, "", fmt.Errorf("--data: %w", err)
		}
		if d.Width != width {
			return res, "", fmt.Errorf("%s: rows of %d values (shape %v), but %s takes %d (shape %v)",
				o.Data, d.Width, d.RowShape, o.Model, width, eng.Input().Shape)
		}
		est.Data = d.Data
	}

	res, err = LogZ(eng, est)
	if err != nil {
		return res, "", fmt.Errorf("%s: %w", o.Model, err)
	}
	export.SetLogZ(m, export.LogZ{Value: res.Value, StdErr: res.StdErr, Method: res.Method})
	path := o.Model
	if o.Output != "" {
		path = o.Output
	}
	if err := onnx.Save(path, m); err != nil {
		return res, "", err
	}
	return res, path, nil
}

// newEngine returns the engine o.Engine asks for, running m on up to
// o.Estimate.BatchSize rows; auto falls back to the Go engine, telling
// o.Notice why.
func (o *LogZFileOptions) newEngine(m *onnx.ModelProto) (Engine, error) {
	data, err := onnx.Encode(m)
	if err != nil {
		return nil, err
	}
	newEngine, _, err := ChooseEngine(ScoreOptions{Engine: o.Engine, ORTLib: o.ORTLib, BatchSize: o.Estimate.BatchSize, Notice: o.Notice}, m, data, 1)
	if err != nil {
		return nil, err
	}
	return newEngine()
}

// String formats an estimate on one line, such as
// "log Z = 1.8378771 ± 1e-08 (grid, 513×513 points on [-4.8,4.8]×[-5,5])".
func (r LogZResult) String() string {
	s := fmt.Sprintf("log Z = %.8g ± %.2g (%s", r.Value, r.StdErr, r.Method)
	switch r.Method {
	case LogZGrid:
		pts := fmt.Sprint(r.GridSize + 1)
		box := make([]string, len(r.Bounds))
		for i, b := range r.Bounds {
			box[i] = fmt.Sprintf("[%.4g,%.4g]", b[0], b[1])
		}
		if len(r.Bounds) == 2 {
			pts += "×" + pts
		}
		s += fmt.Sprintf(", %s points on %s", pts, strings.Join(box, "×"))
	case LogZImportance:
		s += fmt.Sprintf(", %d samples, effective sample size %.0f", r.Evals, r.ESS)
	}
	return s + ")"
}
