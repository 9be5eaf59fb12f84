package logz

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"context"
	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// DefaultToyRows is the number of points drawn from a toy data set for
// reference data (FileOptions.Data, plots) when no row count is given.
const DefaultToyRows = 10000

// FileOptions are the settings of `ebmpipe logz`: the model file whose
// log Z is estimated and written to its metadata, the reference data and
// generator, the engine, and the estimate's own settings. The JSON names
// are the flag names.
type FileOptions struct {
	Model     string `json:"model"`
	Data      string `json:"data"`
	DataRows  int    `json:"data-rows"`
	Generator string `json:"generator"`
	Output    string `json:"output"`
	Engine    string `json:"engine"`
	ORTLib    string `json:"ort-lib"`

	// Estimate holds the settings of the estimate itself (flags method,
	// grid-size, bounds, margin, samples, seed, batch-size). Its Data and
	// Generator are filled in by EstimateFile from the fields above.
	Estimate Options `json:"estimate"`

	// Notice, if not nil, is told of choices made on the user's behalf,
	// such as falling back to the Go engine.
	Notice func(msg string) `json:"-"`
}

// DefaultFileOptions returns the options with the flag defaults.
func DefaultFileOptions() FileOptions {
	return FileOptions{Engine: engine.Auto, Estimate: DefaultOptions()}
}

// Check reports every missing or invalid option.
func (o *FileOptions) Check() error {
	var errs []error
	if o.Model == "" {
		errs = append(errs, fielderr.Errorf("{Model} is required"))
	}
	if o.DataRows < 0 {
		errs = append(errs, fielderr.Errorf("{DataRows} %d: must be at least 0", o.DataRows))
	}
	if o.DataRows > 0 && o.Data == "" {
		errs = append(errs, fielderr.Errorf("{DataRows} needs {Data}"))
	}
	switch o.Engine {
	case engine.Auto, engine.ORT, engine.Go:
	default:
		errs = append(errs, fielderr.Errorf("{Engine} %q: want auto, ort or go", o.Engine))
	}
	return errors.Join(append(errs, o.Estimate.Check())...)
}

// EstimateFile estimates log Z of the energy model o.Model (see LogZ) and
// writes the estimate, its error and the method into the model's metadata
// (export.SetLogZ): into o.Output if set, else into o.Model, rewritten in
// place. Either file is written atomically. It returns the estimate and
// the file written.
func EstimateFile(ctx context.Context, o FileOptions) (Result, string, error) {
	var res Result
	if err := o.Check(); err != nil {
		return res, "", err
	}
	m, err := export.LoadKind(o.Model, export.KindEnergy, "Model")
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
		g, err := export.LoadKind(o.Generator, export.KindGenerator, "Generator")
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
		d, err := data.LoadData(o.Data, n, est.Seed)
		if err != nil {
			return res, "", fielderr.Errorf("{Data}: %w", err)
		}
		if d.Width != width {
			return res, "", fmt.Errorf("%s: rows of %d values (shape %v), but %s takes %d (shape %v)",
				o.Data, d.Width, d.RowShape, o.Model, width, eng.Input().Shape)
		}
		est.Data = d.Data
	}

	res, err = Estimate(ctx, eng, est)
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
func (o *FileOptions) newEngine(m *onnx.ModelProto) (engine.Engine, error) {
	data, err := onnx.Encode(m)
	if err != nil {
		return nil, err
	}
	newEngine, _, err := engine.Choose(engine.Choice{Engine: o.Engine, ORTLib: o.ORTLib, BatchSize: o.Estimate.BatchSize, Notice: o.Notice}, m, data, 1)
	if err != nil {
		return nil, err
	}
	return newEngine()
}

// String formats an estimate on one line, such as
// "log Z = 1.8378771 ± 1e-08 (grid, 513×513 points on [-4.8,4.8]×[-5,5])".
func (r Result) String() string {
	s := fmt.Sprintf("log Z = %.8g ± %.2g (%s", r.Value, r.StdErr, r.Method)
	switch r.Method {
	case Grid:
		pts := fmt.Sprint(r.GridSize + 1)
		box := make([]string, len(r.Bounds))
		for i, b := range r.Bounds {
			box[i] = fmt.Sprintf("[%.4g,%.4g]", b[0], b[1])
		}
		if len(r.Bounds) == 2 {
			pts += "×" + pts
		}
		s += fmt.Sprintf(", %s points on %s", pts, strings.Join(box, "×"))
	case Importance:
		s += fmt.Sprintf(", %d samples, effective sample size %.0f", r.Evals, r.ESS)
	}
	return s + ")"
}
