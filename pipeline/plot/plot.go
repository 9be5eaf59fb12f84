package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/logz"

	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"

	"context"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/atomicfile"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/data"
	"github.com/ebmpipe/ebmpipe/train/metrics"
)

// Pictures Plot writes into Options.Out.
const (
	DensityFile = "density.png" // the energy's density on a grid, with the data
	SamplesFile = "samples.png" // generator samples beside the data
	CurvesFile  = "curves.png"  // training metrics over the steps
)

// Sizes of the pictures, in pixels.
const (
	plotDPI        = 96
	densityWidth   = 760 // the heat map and its colour bar
	densityHeight  = 640
	colorBarWidth  = 110
	scatterWidth   = 640
	scatterHeight  = 640
	curvesWidth    = 800
	curvePanelH    = 320 // height of one panel of curves.png
	imageGridCols  = 8   // images per row and column of an image grid
	imageTileMin   = 48  // smallest side, in pixels, an image is scaled up to
	imageGap       = 2   // pixels between the images of a grid
	imageMargin    = 16  // pixels around a grid
	imageTitleBand = 36  // pixels above a grid for its title
)

// Limits of the settings.
const (
	MaxPlotGrid    = 2000 // grid cells per axis of density.png
	maxPlotSamples = 1 << 20
	plotBatch      = 1024 // rows per model run
)

// Options are the settings of Plot. The JSON names are the flag names
// of `ebmpipe plot`; Dataset and Notice are set by callers.
type Options struct {
	// Run is the output directory of a training run: its energy.onnx,
	// generator.onnx and metrics.csv stand for Energy, Generator and
	// Metrics when those are empty (files the run has not written are
	// left out), it is the default Out, and the training data its
	// models' metadata name (export.Meta.Data) stand for Data when Data
	// is empty.
	Run string `json:"run"`

	Energy    string `json:"energy"`    // energy model for density.png
	Generator string `json:"generator"` // generator for samples.png
	Metrics   string `json:"metrics"`   // metrics.csv for curves.png
	// Data is "toy:NAME" or a row file (.csv, .npy, .jsonl) of the rows
	// the models were trained on, as they take them; DataRows is the
	// number of toy points drawn or leading rows read (0: logz.DefaultToyRows
	// toy points or the whole file; with Run, as in training). The rows
	// are drawn over the density and beside the samples, and set the box
	// of density.png unless Bounds is given.
	Data     string `json:"data"`
	DataRows int    `json:"data-rows"`

	Out      string    `json:"out"`       // directory of the pictures, created if need be
	GridSize int       `json:"grid-size"` // grid cells per axis of density.png
	Bounds   []float64 `json:"bounds"`    // box of density.png: LO,HI or LO0,HI0,LO1,HI1
	Margin   float64   `json:"margin"`    // widening of the data's range, as a fraction of it
	Samples  int       `json:"samples"`   // generator samples, and data points shown at most
	Seed     uint64    `json:"seed"`      // seed of the latent draws, the data subsample and toy data

	// Dataset, if not nil, holds the data already loaded, such as a
	// trainer's, and is used instead of Data. Standardised rows (Shift
	// set) are mapped back to the raw features the exported models take.
	Dataset *data.Dataset `json:"-"`

	// Notice, if not nil, is told of pictures skipped because their
	// inputs cannot be drawn, such as density.png for an energy of more
	// than two inputs, and of data that could not be found.
	Notice func(msg string) `json:"-"`
}

// DefaultOptions returns the options with the flag defaults.
func DefaultOptions() Options {
	return Options{GridSize: 200, Margin: 0.1, Samples: 2000, Seed: 1}
}

// Check reports every missing or invalid option.
func (o *Options) Check() error {
	var errs []error
	if o.Run == "" && o.Energy == "" && o.Generator == "" && o.Metrics == "" {
		errs = append(errs, fielderr.Errorf("nothing to plot: give {Run}, {Energy}, {Generator} or {Metrics}"))
	}
	if o.Out == "" && o.Run == "" {
		errs = append(errs, fielderr.Errorf("{Out} is required (or {Run})"))
	}
	if o.DataRows < 0 {
		errs = append(errs, fielderr.Errorf("{DataRows} %d: must be at least 0", o.DataRows))
	}
	if o.DataRows > 0 && o.Data == "" && o.Run == "" {
		errs = append(errs, fielderr.Errorf("{DataRows} needs {Data} or {Run}"))
	}
	if o.GridSize < 2 || o.GridSize > MaxPlotGrid {
		errs = append(errs, fielderr.Errorf("{GridSize} %d: want 2 to %d", o.GridSize, MaxPlotGrid))
	}
	if !(o.Margin >= 0) || math.IsInf(o.Margin, 0) {
		errs = append(errs, fielderr.Errorf("{Margin} %g: want a finite number of at least 0", o.Margin))
	}
	if o.Samples < 1 || o.Samples > maxPlotSamples {
		errs = append(errs, fielderr.Errorf("{Samples} %d: want 1 to %d", o.Samples, maxPlotSamples))
	}
	switch len(o.Bounds) {
	case 0, 2, 4:
	default:
		errs = append(errs, fielderr.Errorf("{Bounds} %s: want LO,HI or LO0,HI0,LO1,HI1", logz.FormatFloats(o.Bounds)))
	}
	for i := 0; i+1 < len(o.Bounds); i += 2 {
		lo, hi := o.Bounds[i], o.Bounds[i+1]
		if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || !(lo < hi) {
			errs = append(errs, fielderr.Errorf("{Bounds} %s: pair %g,%g: want finite LO < HI", logz.FormatFloats(o.Bounds), lo, hi))
		}
	}
	if d := o.Dataset; d != nil && (d.Width < 1 || len(d.Data) != d.Rows*d.Width || len(d.RowShape) == 0 || onnx.ShapeSize(d.RowShape) != d.Width) {
		errs = append(errs, fmt.Errorf("data set of %d rows of shape %v (width %d) holds %d values", d.Rows, d.RowShape, d.Width, len(d.Data)))
	}
	return errors.Join(errs...)
}

// curvePanels are the panels of curves.png, top to bottom: each draws
// the columns it names from metrics.csv over the steps.
var curvePanels = []struct {
	title   string
	columns []string
}{
	{"bounds on the NLL, nats per example", []string{metrics.ColLower, metrics.ColUpper, metrics.ColBracketLower, metrics.ColBracketUpper}},
	{"training losses", []string{metrics.ColLossEnergy, metrics.ColLossGenerator}},
}

// errSkip marks a picture whose inputs cannot be drawn.
type errSkip struct{ msg string }

func (e errSkip) Error() string { return e.msg }

// Plot draws the pictures o's inputs allow into the directory o.Out and
// returns the paths written:
//
//   - density.png, with Energy: the density p(x) = exp(−E(x)) / Z of a
//     2-D energy model as a heat map over a box (Bounds, or the range of
//     the data, else of generator samples, widened by Margin on each
//     side), evaluated at the centres of GridSize × GridSize cells, with
//     up to Samples data points drawn over it. log Z is the model's
//     ebmpipe.log_z metadata if it has one, else the log-sum-exp of −E on
//     the grid plus the log of a cell's area (the mass outside the box is
//     left out), and the title shows it.
//   - samples.png, with Generator: Samples draws G(z), z ~ N(0, I), as a
//     scatter plot over up to Samples data points for 2-D rows (the first
//     two features of wider flat rows); for images, rows of shape
//     (C, H, W) with C = 1 or 3 or (H, W), an 8 × 8 grid of samples
//     beside one of data rows, on the data's value range (else [−1, 1],
//     [0, 1] or [0, 255] if the samples lie within one, else theirs).
//   - curves.png, with Metrics: the lower and upper bounds, and the
//     energy's and the generator's losses, over the steps, on two panels;
//     empty and NaN cells are skipped. The vertical axis of a panel leaves
//     out values far from those after the first tenth of the steps, such
//     as a bound in the millions at the start, and says so in its title.
//
// A picture whose inputs cannot be drawn, such as density.png for an
// energy of more than two inputs, is skipped and o.Notice told why; it is
// an error if no picture is left. The models run on the Go engine. Each
// file is written to a temporary file and renamed into place, so that no
// picture is ever half written. On error, the paths already written are
// returned with it. Plot stops between pictures when ctx is done,
// returning ctx's error.
func Plot(ctx context.Context, o Options) ([]string, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	p := &plotRun{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x706c6f74))} // "plot"
	if err := p.resolve(); err != nil {
		return nil, err
	}
	o = p.o
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.Generator != "" {
		if err := p.generate(); err != nil {
			return nil, err
		}
	}
	var files []string
	var skipped []string
	for _, pic := range []struct {
		want bool
		name string
		draw func() (*vgimg.Canvas, error)
	}{
		{o.Energy != "", DensityFile, p.density},
		{o.Generator != "", SamplesFile, p.samples},
		{o.Metrics != "", CurvesFile, p.curves},
	} {
		if !pic.want {
			continue
		}
		if err := ctx.Err(); err != nil {
			return files, err
		}
		c, err := pic.draw()
		var skip errSkip
		if errors.As(err, &skip) {
			skipped = append(skipped, fmt.Sprintf("%s skipped: %s", pic.name, skip.msg))
			continue
		}
		if err != nil {
			return files, fmt.Errorf("%s: %w", pic.name, err)
		}
		// The directory is made only for a picture to go in: a failed
		// run leaves none behind.
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			return files, err
		}
		path := filepath.Join(o.Out, pic.name)
		if err := writePNG(path, c); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	if len(files) == 0 {
		return nil, errors.New(strings.Join(skipped, "; "))
	}
	for _, msg := range skipped {
		p.notice(msg)
	}
	return files, nil
}

// Trained draws the pictures of the training run whose output
// directory is dir into dir, with the rows d it trained on (nil: read as
// the run did), and returns the files written. It is Plot with the
// default options, Run dir and Dataset d.
func Trained(ctx context.Context, dir string, d *data.Dataset, notice func(string)) ([]string, error) {
	o := DefaultOptions()
	o.Run, o.Dataset, o.Notice = dir, d, notice
	return Plot(ctx, o)
}

// plotRun is the state of one Plot call.
type plotRun struct {
	o   Options
	rng *rand.Rand

	// The data, as the models take them; nil if none.
	data      []float64
	dataShape []int
	dataWidth int
	dataRows  int

	// Generator samples, drawn once for both pictures that use them.
	gen      []float64
	genShape []int

	// heatArea is where density drew its heat map, in the canvas's
	// coordinates (points from the lower left corner), for tests.
	heatArea vg.Rectangle
	// logZ and densityTitle are the log Z of density.png and its title.
	logZ         float64
	densityTitle string
}

func (p *plotRun) notice(msg string) {
	if p.o.Notice != nil {
		p.o.Notice(msg)
	}
}

// resolve fills in the files of p.o.Run and loads the data.
func (p *plotRun) resolve() error {
	o := &p.o
	spec, rows, seed := o.Data, o.DataRows, o.Seed
	if o.Run != "" {
		if st, err := os.Stat(o.Run); err != nil {
			return fielderr.Errorf("{Run}: %w", err)
		} else if !st.IsDir() {
			return fielderr.Errorf("{Run} %s: not a directory", o.Run)
		}
		found := 0
		for _, f := range []struct {
			field *string
			name  string
		}{
			{&o.Energy, train.EnergyFile},
			{&o.Generator, train.GeneratorFile},
			{&o.Metrics, train.MetricsFile},
		} {
			path := filepath.Join(o.Run, f.name)
			if _, err := os.Stat(path); err == nil {
				found++
				if *f.field == "" {
					*f.field = path
				}
			}
		}
		if found == 0 {
			return fielderr.Errorf("{Run} %s: holds none of %s, %s and %s; is it the {Out} of ebmpipe train?", o.Run, train.EnergyFile, train.GeneratorFile, train.MetricsFile)
		}
		if o.Out == "" {
			o.Out = o.Run
		}
		if spec == "" && o.Dataset == nil {
			meta, err := trainingData(o.Energy, o.Generator)
			switch {
			case err != nil:
				return err
			case meta.Data == "":
				p.notice(fmt.Sprintf("the models of %s do not name their training data: no data drawn (give the data to draw it)", o.Run))
			default:
				spec, seed = meta.Data, meta.Seed
				if rows == 0 {
					rows = meta.DataRows
				}
			}
		}
	}
	d := o.Dataset
	if d == nil && spec != "" {
		if rows == 0 && strings.HasPrefix(spec, "toy:") {
			rows = logz.DefaultToyRows
		}
		var err error
		if d, err = data.LoadData(spec, rows, seed); err != nil {
			return fielderr.Errorf("{Data}: %w", err)
		}
	}
	if d != nil {
		p.data, p.dataShape, p.dataWidth, p.dataRows = d.Raw(), d.RowShape, d.Width, d.Rows
	}
	return nil
}

// trainingData returns the metadata of the first of the models energy
// and generator (paths, "" for none) that names its training data, or of
// none (a zero Meta).
func trainingData(energy, generator string) (export.Meta, error) {
	for _, f := range []struct{ path, kind, field string }{
		{energy, export.KindEnergy, "Energy"},
		{generator, export.KindGenerator, "Generator"},
	} {
		if f.path == "" {
			continue
		}
		m, err := export.LoadKind(f.path, f.kind, f.field)
		if err != nil {
			return export.Meta{}, fielderr.Errorf("{"+f.field+"}: %w", err)
		}
		meta, err := export.ReadMeta(m)
		if err != nil {
			return export.Meta{}, fielderr.Errorf("{"+f.field+"} %s: %w", f.path, err)
		}
		if meta.Data != "" {
			return meta, nil
		}
	}
	return export.Meta{}, nil
}

// generate draws o.Samples rows from the generator.
func (p *plotRun) generate() error {
	path := p.o.Generator
	m, err := export.LoadKind(path, export.KindGenerator, "Generator")
	if err != nil {
		return err
	}
	g, err := engine.NewGoEngine(m, plotBatch)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	engine.NoteFixedBatch(m, p.notice)
	defer g.Close()
	outs := g.Outputs()
	if len(outs) != 1 {
		return fmt.Errorf("%s: a generator has one output, x = G(z); this one has %s", path, engine.DescribePorts(outs))
	}
	shape, width := outs[0].Shape, outs[0].Width
	if width == 0 { // not declared: run one row to find it
		res, err := g.Run(make([]float64, g.Input().Width), 1)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		width = len(res[0])
		shape = []int{width}
		if p.dataWidth == width {
			shape = p.dataShape
		}
	}
	if p.data != nil && p.dataWidth != width {
		return fmt.Errorf("%s gives rows of shape %v, but the data rows have shape %v", path, shape, p.dataShape)
	}
	n := p.o.Samples
	if isImage(shape) { // only a grid's worth is shown
		n = min(n, imageGridCols*imageGridCols)
	}
	if p.gen, err = logz.Generate(context.Background(), g, n, width, plotBatch, p.rng); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	p.genShape = shape
	return nil
}

// subsample returns up to n rows of x (rows of width values), picked at
// random without replacement and kept in order, and how many there are.
func (p *plotRun) subsample(x []float64, width, n int) ([]float64, int) {
	rows := len(x) / width
	if rows <= n {
		return x, rows
	}
	keep := make([]bool, rows)
	for _, i := range p.rng.Perm(rows)[:n] {
		keep[i] = true
	}
	out := make([]float64, 0, n*width)
	for i, k := range keep {
		if k {
			out = append(out, x[i*width:(i+1)*width]...)
		}
	}
	return out, n
}

// newCanvas returns a white canvas of w×h pixels.
func newCanvas(w, h int) *vgimg.Canvas {
	px := func(n int) vg.Length { return vg.Length(n) * vg.Inch / plotDPI }
	return vgimg.NewWith(vgimg.UseWH(px(w), px(h)), vgimg.UseDPI(plotDPI), vgimg.UseBackgroundColor(color.White))
}

// writePNG writes c as a PNG file at path, atomically.
func writePNG(path string, c *vgimg.Canvas) error {
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("%s: cannot create: %w", path, err)
	}
	return nil
}

// titled returns a new plot with a title and axis labels.
func titled(title, x, y string) *plot.Plot {
	pl := plot.New()
	pl.Title.Text = title
	pl.Title.Padding = vg.Points(6)
	pl.Title.TextStyle.Font.Size = vg.Points(13)
	pl.X.Label.Text = x
	pl.Y.Label.Text = y
	pl.X.Tick.Marker = shortTicks{}
	pl.Y.Tick.Marker = shortTicks{}
	return pl
}

// shortTicks are gonum's default ticks labelled with the shortest
// decimals, such as 25 and 0 rather than 25.00 and 0.00.
type shortTicks struct{}

func (shortTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ts {
		if t.Label != "" {
			ts[i].Label = strconv.FormatFloat(t.Value, 'g', 6, 64)
		}
	}
	return ts
}

// featureNames names the two axes of 2-D rows: the model's
// ebmpipe.features metadata if it names two, else x₀ and x₁.
func featureNames(meta export.Meta) (string, string) {
	if len(meta.Features) == 2 {
		return meta.Features[0], meta.Features[1]
	}
	return "x₀", "x₁"
}

// xys turns the first two values of rows of width values into points.
func xys(x []float64, width int) plotter.XYs {
	pts := make(plotter.XYs, len(x)/width)
	for i := range pts {
		pts[i] = plotter.XY{X: x[i*width], Y: x[i*width+1]}
	}
	return pts
}
