package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline"
	"github.com/ebmpipe/ebmpipe/train"
)

// toyRows is the number of points drawn for --data toy:NAME by default.
const toyRows = 10000

var logzCommand = command{
	name: "logz",
	summary: `Estimate log Z of an energy model and store it in the model's metadata.

log Z = log ∫ exp(−E(x)) dx makes the energy a density, log p(x) = −E(x) −
log Z; score then writes log_density. The estimate, its error and the method
go to the metadata ebmpipe.log_z, ebmpipe.log_z_stderr and
ebmpipe.log_z_method of the --model file, rewritten in place (atomically), or
of a copy written to --output.

--method grid (the default for inputs of 1 or 2 values) integrates exp(−E)
with the trapezoid rule on a grid of --grid-size intervals per axis over
--bounds, or over the range of --data and generator samples widened by
--margin on each side. Its error is the Richardson estimate from the grid of
every other point plus an estimate of the mass outside the box.

--method importance (the default for wider inputs) samples from a mixture of
Gaussians fitted to --data and/or samples of --generator (z ~ N(0, I)),
widened for safety, and reports the delta-method standard error of the log of
the mean importance weight. A generator's samples have no density, so they
only shape the proposal.`,
	setup: func(fs *pflag.FlagSet, out, errw io.Writer) func([]string) error {
		var c logzFlags
		c.addFlags(fs)
		o := pipeline.DefaultLogZOptions()
		o.AddFlags(fs)
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			if err := c.check(); err != nil {
				return usageError{err}
			}
			if err := o.Check(); err != nil {
				return usageError{err}
			}
			notice := func(msg string) { fmt.Fprintf(errw, "ebmpipe logz: %s\n", msg) }
			res, path, err := runLogZ(c, o, notice)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, describeLogZ(res))
			for _, n := range res.Notes {
				notice("warning: " + n)
			}
			fmt.Fprintf(errw, "wrote log Z to %s\n", path)
			return nil
		}
	},
}

// logzFlags are the logz command's files and engine; pipeline.LogZOptions
// holds the estimate's settings.
type logzFlags struct {
	Model     string `json:"model"`
	Data      string `json:"data"`
	DataRows  int    `json:"data-rows"`
	Generator string `json:"generator"`
	Output    string `json:"output"`
	Engine    string `json:"engine"`
	ORTLib    string `json:"ort-lib"`
}

func (c *logzFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Model, "model", "", "ONNX `FILE` of the energy model (required)")
	fs.StringVar(&c.Data, "data", "", "training data: a row `FILE` (.csv, .npy, .jsonl) or toy:NAME; sets the grid box and fits the importance proposal")
	fs.IntVar(&c.DataRows, "data-rows", 0, fmt.Sprintf("read the first `N` rows of --data (0: a whole file, or %d toy points)", toyRows))
	fs.StringVar(&c.Generator, "generator", "", "ONNX `FILE` of a generator x = G(z), z ~ N(0, I), whose samples shape the proposal or box")
	fs.StringVar(&c.Output, "output", "", "write the model with its log Z to `FILE` instead of rewriting --model")
	fs.StringVar(&c.Engine, "engine", pipeline.EngineAuto, "`ENGINE` running the models: ort (ONNX Runtime), go (pure-Go Gorgonia graph) or auto (ort if its library loads, else go)")
	fs.StringVar(&c.ORTLib, "ort-lib", "", "ONNX Runtime shared library `PATH` (default $"+pipeline.ORTLibEnv+", then the install location)")
}

func (c *logzFlags) check() error {
	switch {
	case c.Model == "":
		return errors.New("--model is required")
	case c.DataRows < 0:
		return fmt.Errorf("--data-rows %d: must be at least 0", c.DataRows)
	case c.DataRows > 0 && c.Data == "":
		return errors.New("--data-rows needs --data")
	}
	switch c.Engine {
	case pipeline.EngineAuto, pipeline.EngineORT, pipeline.EngineGo:
	default:
		return fmt.Errorf("--engine %q: want auto, ort or go", c.Engine)
	}
	return nil
}

// runLogZ estimates log Z of c.Model and writes it to the model's metadata.
// It returns the estimate and the file written.
func runLogZ(c logzFlags, o pipeline.LogZOptions, notice func(string)) (pipeline.LogZResult, string, error) {
	var res pipeline.LogZResult
	m, err := loadModelKind(c.Model, export.KindEnergy, "--model")
	if err != nil {
		return res, "", err
	}
	eng, err := newLogZEngine(c, m, o.BatchSize, notice)
	if err != nil {
		return res, "", fmt.Errorf("%s: %w", c.Model, err)
	}
	defer eng.Close()
	width := eng.Input().Width

	if c.Generator != "" {
		g, err := loadModelKind(c.Generator, export.KindGenerator, "--generator")
		if err != nil {
			return res, "", err
		}
		ge, err := newLogZEngine(c, g, o.BatchSize, notice)
		if err != nil {
			return res, "", fmt.Errorf("%s: %w", c.Generator, err)
		}
		defer ge.Close()
		o.Generator = ge
	}
	if c.Data != "" {
		n := c.DataRows
		if n == 0 && strings.HasPrefix(c.Data, "toy:") {
			n = toyRows
		}
		d, err := train.LoadData(c.Data, n, o.Seed)
		if err != nil {
			return res, "", fmt.Errorf("--data: %w", err)
		}
		if d.Width != width {
			return res, "", fmt.Errorf("%s: rows of %d values (shape %v), but %s takes %d (shape %v)",
				c.Data, d.Width, d.RowShape, c.Model, width, eng.Input().Shape)
		}
		o.Data = d.Data
	}

	res, err = pipeline.LogZ(eng, o)
	if err != nil {
		return res, "", fmt.Errorf("%s: %w", c.Model, err)
	}
	export.SetLogZ(m, export.LogZ{Value: res.Value, StdErr: res.StdErr, Method: res.Method})
	path := c.Model
	if c.Output != "" {
		path = c.Output
	}
	if err := onnx.Save(path, m); err != nil {
		return res, "", err
	}
	return res, path, nil
}

// loadModelKind loads the model at path and checks that its ebmpipe.kind
// metadata, if any, is kind.
func loadModelKind(path, kind, flag string) (*onnx.ModelProto, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	got := pipeline.Metadata(m)[export.MetaKind]
	if got != "" && got != kind {
		article := "a"
		if strings.ContainsRune("aeiou", rune(kind[0])) {
			article = "an"
		}
		return nil, fmt.Errorf("%s: %s is %q, but %s takes %s %s model", path, export.MetaKind, got, flag, article, kind)
	}
	return m, nil
}

// newLogZEngine returns the engine c.Engine asks for, running m on up to batch
// rows. auto picks ONNX Runtime if its library loads, else the Go engine,
// telling notice why.
func newLogZEngine(c logzFlags, m *onnx.ModelProto, batch int, notice func(string)) (pipeline.Engine, error) {
	name := c.Engine
	if name != pipeline.EngineGo {
		err := pipeline.InitORT(c.ORTLib)
		switch {
		case err == nil:
			name = pipeline.EngineORT
		case name == pipeline.EngineORT:
			return nil, fmt.Errorf("--engine ort: %w", err)
		default:
			notice(fmt.Sprintf("%v; using the go engine", err))
			name = pipeline.EngineGo
		}
	}
	if name == pipeline.EngineGo {
		return pipeline.NewGoEngine(m, batch)
	}
	data, err := onnx.Encode(m)
	if err != nil {
		return nil, err
	}
	return pipeline.NewORTEngine(data, batch, pipeline.ORTOptions{Lib: c.ORTLib})
}

// describeLogZ formats an estimate on one line, such as
// "log Z = 1.8378771 ± 1e-08 (grid, 513×513 points on [-4.8,4.8]×[-5,5])".
func describeLogZ(r pipeline.LogZResult) string {
	s := fmt.Sprintf("log Z = %.8g ± %.2g (%s", r.Value, r.StdErr, r.Method)
	switch r.Method {
	case pipeline.LogZGrid:
		pts := fmt.Sprint(r.GridSize + 1)
		box := make([]string, len(r.Bounds))
		for i, b := range r.Bounds {
			box[i] = fmt.Sprintf("[%.4g,%.4g]", b[0], b[1])
		}
		if len(r.Bounds) == 2 {
			pts += "×" + pts
		}
		s += fmt.Sprintf(", %s points on %s", pts, strings.Join(box, "×"))
	case pipeline.LogZImportance:
		s += fmt.Sprintf(", %d samples, effective sample size %.0f", r.Evals, r.ESS)
	}
	return s + ")"
}
