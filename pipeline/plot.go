package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ebmpipe/ebmpipe/pipeline/logz"

	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"github.com/spf13/pflag"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/atomicfile"
	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/data"
	"github.com/ebmpipe/ebmpipe/train/metrics"
)

// Pictures Plot writes into PlotOptions.Out.
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
	maxPlotGrid    = 2000 // grid cells per axis of density.png
	maxPlotSamples = 1 << 20
	plotBatch      = 1024 // rows per model run
)

// PlotOptions are the settings of Plot. The JSON names are the flag names
// of `ebmpipe plot`; Dataset and Notice are set by callers.
type PlotOptions struct {
	// Run is the output directory of a training run: its energy.onnx,
	// generator.onnx and metrics.csv stand for Energy, Generator and
	// Metrics when those are empty (files the run has not written are
	// left out), it is the default Out, and its training data, read
	// from its latest checkpoint, stand for Data when Data is empty.
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

// DefaultPlotOptions returns the options with the flag defaults.
func DefaultPlotOptions() PlotOptions {
	return PlotOptions{GridSize: 200, Margin: 0.1, Samples: 2000, Seed: 1}
}

// AddFlags defines the options as flags on fs, with their defaults.
func (o *PlotOptions) AddFlags(fs *pflag.FlagSet) {
	d := DefaultPlotOptions()
	fs.StringVar(&o.Run, "run", d.Run, fmt.Sprintf("training output `DIR`: its %s, %s and %s unless given, --out DIR, and the training data unless --data", train.EnergyFile, train.GeneratorFile, train.MetricsFile))
	fs.StringVar(&o.Energy, "energy", d.Energy, "ONNX `FILE` of a 2-D energy model: writes "+DensityFile)
	fs.StringVar(&o.Generator, "generator", d.Generator, "ONNX `FILE` of a generator x = G(z), z ~ N(0, I): writes "+SamplesFile)
	fs.StringVar(&o.Metrics, "metrics", d.Metrics, "metrics.csv `FILE` of a training run: writes "+CurvesFile)
	fs.StringVar(&o.Data, "data", d.Data, "data drawn with the models: a row `FILE` (.csv, .npy, .jsonl) or toy:NAME")
	fs.IntVar(&o.DataRows, "data-rows", d.DataRows, fmt.Sprintf("read the first `N` rows of --data (0: a whole file, or %d toy points; with --run, as in training)", logz.DefaultToyRows))
	fs.StringVar(&o.Out, "out", d.Out, "`DIR` to write the pictures to, created if need be (default: --run's)")
	fs.IntVar(&o.GridSize, "grid-size", d.GridSize, fmt.Sprintf("grid cells `K` per axis of %s (2 to %d)", DensityFile, maxPlotGrid))
	o.Bounds = d.Bounds
	fs.Var((*logz.BoundsValue)(&o.Bounds), "bounds", "box of "+DensityFile+": `LO,HI` for both axes or LO0,HI0,LO1,HI1; default: the range of the data (else of generator samples) widened by --margin")
	fs.Float64Var(&o.Margin, "margin", d.Margin, "widen the range of the data by this `FRACTION` of it on each side")
	fs.IntVar(&o.Samples, "samples", d.Samples, "generator samples `N` to draw; also the most data points drawn")
	fs.Uint64Var(&o.Seed, "seed", d.Seed, "random `SEED` of the latent draws, of the data points shown and of toy data")
}

// Check reports the first missing or invalid option.
func (o *PlotOptions) Check() error {
	switch {
	case o.Run == "" && o.Energy == "" && o.Generator == "" && o.Metrics == "":
		return errors.New("nothing to plot: give --run, --energy, --generator or --metrics")
	case o.Out == "" && o.Run == "":
		return errors.New("--out is required (or --run)")
	case o.DataRows < 0:
		return fmt.Errorf("--data-rows %d: must be at least 0", o.DataRows)
	case o.DataRows > 0 && o.Data == "" && o.Run == "":
		return errors.New("--data-rows needs --data or --run")
	case o.GridSize < 2 || o.GridSize > maxPlotGrid:
		return fmt.Errorf("--grid-size %d: want 2 to %d", o.GridSize, maxPlotGrid)
	case !(o.Margin >= 0) || math.IsInf(o.Margin, 0):
		return fmt.Errorf("--margin %g: want a finite number of at least 0", o.Margin)
	case o.Samples < 1 || o.Samples > maxPlotSamples:
		return fmt.Errorf("--samples %d: want 1 to %d", o.Samples, maxPlotSamples)
	}
	switch len(o.Bounds) {
	case 0, 2, 4:
	default:
		return fmt.Errorf("--bounds %s: want LO,HI or LO0,HI0,LO1,HI1", logz.FormatFloats(o.Bounds))
	}
	for i := 0; i < len(o.Bounds); i += 2 {
		lo, hi := o.Bounds[i], o.Bounds[i+1]
		if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || !(lo < hi) {
			return fmt.Errorf("--bounds %s: pair %g,%g: want finite LO < HI", logz.FormatFloats(o.Bounds), lo, hi)
		}
	}
	if d := o.Dataset; d != nil && (d.Width < 1 || len(d.Data) != d.Rows*d.Width || shapeSize(d.RowShape) != d.Width) {
		return fmt.Errorf("data set of %d rows of shape %v (width %d) holds %d values", d.Rows, d.RowShape, d.Width, len(d.Data))
	}
	return nil
}

func shapeSize(shape []int) int {
	if len(shape) == 0 {
		return 0
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// curvePanels are the panels of curves.png, top to bottom: each draws
// the columns it names from metrics.csv over the steps.
var curvePanels = []struct {
	title   string
	columns []string
}{
	{"bounds on the NLL, nats per example", []string{metrics.ColLower, metrics.ColUpper}},
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
// returned with it.
func Plot(o PlotOptions) ([]string, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	p := &plotRun{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x706c6f74))} // "plot"
	if err := p.resolve(); err != nil {
		return nil, err
	}
	o = p.o
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

// PlotTrained draws the pictures of the training run whose output
// directory is dir into dir, with the rows d it trained on (nil: read as
// the run did), and returns the files written. It is Plot with the
// default options, Run dir and Dataset d.
func PlotTrained(dir string, d *data.Dataset, notice func(string)) ([]string, error) {
	o := DefaultPlotOptions()
	o.Run, o.Dataset, o.Notice = dir, d, notice
	return Plot(o)
}

// plotRun is the state of one Plot call.
type plotRun struct {
	o   PlotOptions
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
			return fmt.Errorf("--run: %w", err)
		} else if !st.IsDir() {
			return fmt.Errorf("--run %s: not a directory", o.Run)
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
			return fmt.Errorf("--run %s: holds none of %s, %s and %s; is it the --out of ebmpipe train?", o.Run, train.EnergyFile, train.GeneratorFile, train.MetricsFile)
		}
		if o.Out == "" {
			o.Out = o.Run
		}
		if spec == "" && o.Dataset == nil {
			to, err := runOptions(o.Run)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				p.notice(fmt.Sprintf("%s has no checkpoint to read the training options from: no data drawn (give --data)", o.Run))
			case err != nil:
				return err
			default:
				spec, seed = to.Data, to.Seed
				if rows == 0 {
					rows = to.DataRows
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
			return fmt.Errorf("--data: %w", err)
		}
	}
	if d != nil {
		p.data, p.dataShape, p.dataWidth, p.dataRows = d.Raw(), d.RowShape, d.Width, d.Rows
	}
	return nil
}

// runOptions returns the options of the training run whose output
// directory is dir, from its latest checkpoint. The error wraps
// fs.ErrNotExist if there is no checkpoint.
func runOptions(dir string) (train.Options, error) {
	var o train.Options
	ck, err := train.LoadCheckpoint(filepath.Join(dir, train.CheckpointDir))
	if err != nil {
		return o, err
	}
	s, ok := ck.Meta["options"]
	if !ok {
		return o, fmt.Errorf("%s: the checkpoint does not record the training options; give --data", dir)
	}
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		return o, fmt.Errorf("%s: the checkpoint's training options: %w", dir, err)
	}
	return o, nil
}

// generate draws o.Samples rows from the generator.
func (p *plotRun) generate() error {
	path := p.o.Generator
	m, err := export.LoadKind(path, export.KindGenerator, "--generator")
	if err != nil {
		return err
	}
	g, err := engine.NewGoEngine(m, plotBatch)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
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
	if p.gen, err = logz.Generate(g, n, width, plotBatch, p.rng); err != nil {
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

// ---- density.png ----

// densityGrid is the heat map's GridXYZ: values at the centres of the
// cells of a box, z[c*k+r] at column c and row r.
type densityGrid struct {
	k      int
	x0, y0 float64 // box's lower corner
	hx, hy float64 // cell size
	z      []float64
}

func (g *densityGrid) Dims() (int, int)   { return g.k, g.k }
func (g *densityGrid) Z(c, r int) float64 { return g.z[c*g.k+r] }
func (g *densityGrid) X(c int) float64    { return g.x0 + (float64(c)+0.5)*g.hx }
func (g *densityGrid) Y(r int) float64    { return g.y0 + (float64(r)+0.5)*g.hy }

// box returns the box of density.png.
func (p *plotRun) box() ([2][2]float64, error) {
	var b [2][2]float64
	switch o := p.o; {
	case len(o.Bounds) == 2:
		b[0] = [2]float64{o.Bounds[0], o.Bounds[1]}
		b[1] = b[0]
		return b, nil
	case len(o.Bounds) == 4:
		b[0] = [2]float64{o.Bounds[0], o.Bounds[1]}
		b[1] = [2]float64{o.Bounds[2], o.Bounds[3]}
		return b, nil
	}
	ref, what := p.data, "the data"
	if ref == nil {
		ref, what = p.gen, "the generator samples"
	}
	if ref == nil {
		return b, errors.New("no box to draw: give --bounds, data or a generator")
	}
	for j := range 2 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := j; i < len(ref); i += 2 {
			lo, hi = min(lo, ref[i]), max(hi, ref[i])
		}
		r := hi - lo
		if !(r > 0) {
			return b, fmt.Errorf("%s have no spread on axis %d (all %g); give --bounds", what, j, lo)
		}
		b[j] = [2]float64{lo - p.o.Margin*r, hi + p.o.Margin*r}
	}
	return b, nil
}

// density draws density.png.
func (p *plotRun) density() (*vgimg.Canvas, error) {
	path := p.o.Energy
	m, err := export.LoadKind(path, export.KindEnergy, "--energy")
	if err != nil {
		return nil, err
	}
	meta, err := export.ReadMeta(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	eng, err := engine.NewGoEngine(m, plotBatch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer eng.Close()
	in := eng.Input()
	if in.Width != 2 {
		return nil, errSkip{fmt.Sprintf("%s takes rows of %d values (shape %v); a density picture needs 2", path, in.Width, in.Shape)}
	}
	if outs := eng.Outputs(); len(outs) != 1 || outs[0].Width > 1 {
		return nil, fmt.Errorf("%s: an energy model has one output with one energy per row; this one has %s", path, engine.DescribePorts(outs))
	}
	if p.data != nil && p.dataWidth != 2 {
		return nil, fmt.Errorf("%s takes rows of 2 values, but the data rows have shape %v", path, p.dataShape)
	}
	b, err := p.box()
	if err != nil {
		return nil, err
	}
	k := p.o.GridSize
	g := &densityGrid{k: k, x0: b[0][0], y0: b[1][0], hx: (b[0][1] - b[0][0]) / float64(k), hy: (b[1][1] - b[1][0]) / float64(k)}
	g.z = make([]float64, k*k)
	err = logz.Energies(eng, k*k, 2, plotBatch, func(x []float64, first, rows int) {
		for r := range rows {
			i := first + r
			x[2*r], x[2*r+1] = g.X(i/k), g.Y(i%k)
		}
	}, func(first int, en []float64) { copy(g.z[first:], en) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	logZ, source := 0.0, "the model's "+export.MetaLogZ
	if meta.LogZ != nil {
		logZ = meta.LogZ.Value
	} else {
		var acc logz.LogSumExp
		for _, v := range g.z {
			acc.Add(-v)
		}
		logZ, source = acc.Value()+math.Log(g.hx*g.hy), "computed on this grid"
		if math.IsInf(logZ, -1) {
			return nil, fmt.Errorf("%s: exp(−E) underflows to 0 everywhere on the box %s", path, logz.FormatBox(b[:]))
		}
	}
	pmax := 0.0
	for i, v := range g.z {
		g.z[i] = math.Exp(-v - logZ)
		pmax = max(pmax, g.z[i])
	}
	if !(pmax > 0) || math.IsInf(pmax, 0) {
		return nil, fmt.Errorf("%s: the density is %g at most on the box %s with log Z = %g", path, pmax, logz.FormatBox(b[:]), logZ)
	}

	cmap := moreland.ExtendedBlackBody()
	cmap.SetMin(0)
	cmap.SetMax(pmax)
	heat := plotter.NewHeatMap(g, cmap.Palette(256))
	heat.Min, heat.Max = 0, pmax
	heat.Rasterized = true
	xl, yl := featureNames(meta)
	pl := titled(fmt.Sprintf("p(x) = exp(−E(x)) / Z,  log Z = %.4g (%s)", logZ, source), xl, yl)
	pl.Add(heat)
	if p.data != nil {
		x, n := p.subsample(p.data, 2, p.o.Samples)
		s, err := plotter.NewScatter(xys(x, 2))
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		s.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(0.9), Color: color.NRGBA{R: 80, G: 200, B: 255, A: 110}}
		pl.Add(s)
		pl.Title.Text += fmt.Sprintf("\ndots: %d of the %d data points", n, p.dataRows)
	}
	p.logZ, p.densityTitle = logZ, pl.Title.Text
	pl.X.Min, pl.X.Max = b[0][0], b[0][1]
	pl.Y.Min, pl.Y.Max = b[1][0], b[1][1]

	bar := plot.New()
	bar.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true})
	bar.HideX()
	bar.Y.Tick.Marker = shortTicks{}
	bar.Y.Label.Text = "p(x)"
	bar.Y.Padding = 0

	c := newCanvas(densityWidth, densityHeight)
	dc := draw.New(c)
	px := vg.Length(colorBarWidth) * vg.Inch / plotDPI
	main := draw.Crop(dc, 0, -px, 0, 0)
	pl.Draw(main)
	// The bar spans the heat map's height.
	data := pl.DataCanvas(main)
	p.heatArea = data.Rectangle
	bc := draw.Crop(dc, dc.Max.X-dc.Min.X-px+vg.Points(12), -vg.Points(4), data.Min.Y-dc.Min.Y, data.Max.Y-dc.Max.Y)
	bar.Draw(bc)
	return c, nil
}

// ---- samples.png ----

// samples draws samples.png.
func (p *plotRun) samples() (*vgimg.Canvas, error) {
	shape := p.genShape
	width := shapeSize(shape)
	switch {
	case isImage(shape):
		return p.imageGrids()
	case width < 2:
		return nil, errSkip{fmt.Sprintf("%s gives rows of %d value; a scatter plot needs 2", p.o.Generator, width)}
	case len(shape) > 1:
		return nil, errSkip{fmt.Sprintf("%s gives rows of shape %v: neither points nor images of 1 or 3 channels", p.o.Generator, shape)}
	}
	if width > 2 && p.o.Notice != nil {
		p.o.Notice(fmt.Sprintf("%s: rows of %d values; %s shows their first two", p.o.Generator, width, SamplesFile))
	}
	pl := titled("generator samples G(z), z ~ N(0, I), and data", "x₀", "x₁")
	pl.Legend.Top = true
	pl.Legend.TextStyle.Font.Size = vg.Points(11)
	if p.data != nil {
		x, n := p.subsample(p.data, width, p.o.Samples)
		s, err := plotter.NewScatter(xys(x, width))
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		s.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(1.5), Color: color.NRGBA{R: 40, G: 90, B: 200, A: 110}}
		pl.Add(s)
		pl.Legend.Add(fmt.Sprintf("data (%d of %d)", n, p.dataRows), legendDot{s.GlyphStyle})
	}
	s, err := plotter.NewScatter(xys(p.gen, width))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.o.Generator, err)
	}
	s.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(1.5), Color: color.NRGBA{R: 230, G: 90, B: 20, A: 140}}
	pl.Add(s)
	pl.Legend.Add(fmt.Sprintf("G(z) (%d)", len(p.gen)/width), legendDot{s.GlyphStyle})
	// Room above the points for the legend.
	_, _, ymin, ymax := plotter.XYRange(xys(p.gen, width))
	if p.data != nil {
		_, _, dmin, dmax := plotter.XYRange(xys(p.data, width))
		ymin, ymax = min(ymin, dmin), max(ymax, dmax)
	}
	pl.Y.Max = ymax + 0.12*(ymax-ymin)
	c := newCanvas(scatterWidth, scatterHeight)
	pl.Draw(draw.New(c))
	return c, nil
}

// legendDot is a legend thumbnail: one opaque, larger glyph of a style.
type legendDot struct{ sty draw.GlyphStyle }

func (l legendDot) Thumbnail(c *draw.Canvas) {
	sty := l.sty
	sty.Radius = vg.Points(3.5)
	opaque := color.NRGBAModel.Convert(sty.Color).(color.NRGBA)
	opaque.A = 255
	sty.Color = opaque
	c.DrawGlyph(sty, c.Center())
}

// isImage reports whether rows of shape are images: (C, H, W) with C = 1
// or 3, or (H, W), at least 2 pixels on a side.
func isImage(shape []int) bool {
	switch len(shape) {
	case 2:
		return shape[0] > 1 && shape[1] > 1
	case 3:
		return (shape[0] == 1 || shape[0] == 3) && shape[1] > 1 && shape[2] > 1
	}
	return false
}

// imageGrids draws samples.png for image rows: a grid of generator
// samples, and one of data rows beside it.
func (p *plotRun) imageGrids() (*vgimg.Canvas, error) {
	shape := p.genShape
	width := shapeSize(shape)
	lo, hi := pixelRange(p.gen)
	if p.data != nil {
		lo, hi = pixelRange(p.data)
	}
	n := imageGridCols * imageGridCols
	grids := []*image.NRGBA{tileImages(p.gen, shape, n, lo, hi)}
	titles := []string{"G(z), z ~ N(0, I)"}
	if p.data != nil {
		x, _ := p.subsample(p.data, width, n)
		grids = append(grids, tileImages(x, shape, n, lo, hi))
		titles = append(titles, "data")
	}
	gw, gh := grids[0].Bounds().Dx(), grids[0].Bounds().Dy()
	w := len(grids)*(gw+2*imageMargin) + imageMargin
	h := gh + 2*imageMargin + imageTitleBand
	c := newCanvas(w, h)
	dc := draw.New(c)
	px := func(n int) vg.Length { return vg.Length(n) * vg.Inch / plotDPI }
	sty := draw.TextStyle{
		Color:   color.Black,
		Font:    plot.DefaultFont,
		Handler: plot.DefaultTextHandler,
		XAlign:  draw.XCenter,
	}
	sty.Font.Size = vg.Points(13)
	for i, g := range grids {
		x0 := imageMargin + i*(gw+2*imageMargin) + imageMargin/2
		rect := vg.Rectangle{
			Min: vg.Point{X: px(x0), Y: px(imageMargin)},
			Max: vg.Point{X: px(x0 + gw), Y: px(imageMargin + gh)},
		}
		dc.DrawImage(rect, g)
		dc.FillText(sty, vg.Point{X: px(x0 + gw/2), Y: px(h - imageTitleBand + 8)}, titles[i])
	}
	return c, nil
}

// pixelRange returns the range of values mapped to black and white: [−1,
// 1], [0, 1] or [0, 255] if x lies within one, else x's range.
func pixelRange(x []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	const eps = 1e-6
	switch {
	case lo >= -eps && hi <= 1+eps:
		return 0, 1
	case lo >= -1-eps && hi <= 1+eps:
		return -1, 1
	case lo >= -eps && hi <= 255+eps:
		return 0, 255
	case !(hi > lo):
		return lo - 1, lo + 1
	}
	return lo, hi
}

// tileImages lays out up to n images of shape (C, H, W) or (H, W) from x in
// a square grid, each scaled up by a whole factor to at least imageTileMin
// pixels a side, values in [lo, hi] mapped to black to white.
func tileImages(x []float64, shape []int, n int, lo, hi float64) *image.NRGBA {
	ch, ih, iw := 1, shape[0], shape[1]
	if len(shape) == 3 {
		ch, ih, iw = shape[0], shape[1], shape[2]
	}
	width := ch * ih * iw
	n = min(n, len(x)/width)
	cols := imageGridCols
	s := max(1, (imageTileMin+max(ih, iw)-1)/max(ih, iw))
	th, tw := ih*s, iw*s
	img := image.NewNRGBA(image.Rect(0, 0, cols*(tw+imageGap)-imageGap, imageGridCols*(th+imageGap)-imageGap))
	for i := range img.Pix {
		img.Pix[i] = 255 // white gaps and empty cells
	}
	level := func(v float64) uint8 {
		return uint8(math.Round(255 * min(1, max(0, (v-lo)/(hi-lo)))))
	}
	for k := range n {
		row := x[k*width : (k+1)*width]
		ox, oy := (k%cols)*(tw+imageGap), (k/cols)*(th+imageGap)
		for y := range th {
			for xx := range tw {
				i, j := y/s, xx/s
				var c color.NRGBA
				if ch == 1 {
					v := level(row[i*iw+j])
					c = color.NRGBA{R: v, G: v, B: v, A: 255}
				} else {
					c = color.NRGBA{
						R: level(row[i*iw+j]),
						G: level(row[ih*iw+i*iw+j]),
						B: level(row[2*ih*iw+i*iw+j]),
						A: 255,
					}
				}
				img.SetNRGBA(ox+xx, oy+y, c)
			}
		}
	}
	return img
}

// ---- curves.png ----

// curves draws curves.png.
func (p *plotRun) curves() (*vgimg.Canvas, error) {
	t, err := metrics.Read(p.o.Metrics)
	if err != nil {
		return nil, err
	}
	steps := t.Column(metrics.ColStep)
	if steps == nil {
		return nil, fmt.Errorf("%s: no column %q", p.o.Metrics, metrics.ColStep)
	}
	var plots []*plot.Plot
	var names []string
	for _, panel := range curvePanels {
		pl, ok, err := curvePanel(panel.title, panel.columns, steps, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.o.Metrics, err)
		}
		if ok {
			plots = append(plots, pl)
		}
		names = append(names, panel.columns...)
	}
	if len(plots) == 0 {
		return nil, fmt.Errorf("%s: no values in the columns %s", p.o.Metrics, strings.Join(names, ", "))
	}
	c := newCanvas(curvesWidth, curvePanelH*len(plots))
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(10), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(10), PadRight: vg.Points(12)}
	grid := make([][]*plot.Plot, len(plots))
	for i, pl := range plots {
		grid[i] = []*plot.Plot{pl}
	}
	for i, row := range plot.Align(grid, tiles, dc) {
		plots[i].Draw(row[0])
	}
	return c, nil
}

// curvePanel draws columns of t over steps. ok is false if none of the
// columns has a value.
func curvePanel(title string, columns []string, steps []float64, t *metrics.Table) (pl *plot.Plot, ok bool, err error) {
	pl = titled(title, metrics.ColStep, "")
	pl.Legend.Top = true
	pl.Legend.TextStyle.Font.Size = vg.Points(11)
	pl.Add(plotter.NewGrid())
	var all []plotter.XYs
	for i, name := range columns {
		col := t.Column(name)
		var pts plotter.XYs
		for r, v := range col {
			if !math.IsNaN(v) && !math.IsInf(v, 0) && !math.IsNaN(steps[r]) {
				pts = append(pts, plotter.XY{X: steps[r], Y: v})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, false, fmt.Errorf("column %q: %w", name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		pl.Add(l)
		if len(pts) <= 60 {
			s, _ := plotter.NewScatter(pts) // pts are finite: NewLine took them
			s.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(2), Color: l.Color}
			pl.Add(s)
			pl.Legend.Add(name, l, s)
		} else {
			pl.Legend.Add(name, l)
		}
		all = append(all, pts)
	}
	if len(all) == 0 {
		return nil, false, nil
	}
	lo, hi, clipped := curveRange(all)
	if clipped {
		pl.Title.Text += "  (off-scale values not shown)"
	}
	// Room at the top for the legend.
	pl.Y.Min, pl.Y.Max = lo, hi+0.2*(hi-lo)
	return pl, true, nil
}

// curveRange returns the range of a panel's vertical axis: the range of
// the values of the second half of the steps, extended to every value
// within ten times that span of it, and widened by 5 % on each side;
// clipped reports whether some value is left out. Bounds spike by orders
// of magnitude while training settles, and a linear axis scaled to a
// spike shows the rest as a flat line.
func curveRange(curves []plotter.XYs) (lo, hi float64, clipped bool) {
	smin, smax := math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		for _, p := range c {
			smin, smax = min(smin, p.X), max(smax, p.X)
		}
	}
	cut := smin + 0.5*(smax-smin)
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		for _, p := range c {
			if p.X >= cut {
				lo, hi = min(lo, p.Y), max(hi, p.Y)
			}
		}
	}
	span := hi - lo
	if span == 0 {
		span = max(math.Abs(hi)*0.1, 1e-9)
	}
	wlo, whi := lo-10*span, hi+10*span
	for _, c := range curves {
		for _, p := range c {
			if p.Y < wlo || p.Y > whi {
				clipped = true
				continue
			}
			lo, hi = min(lo, p.Y), max(hi, p.Y)
		}
	}
	pad := 0.05 * (hi - lo)
	if pad == 0 {
		pad = span / 2
	}
	return lo - pad, hi + pad, clipped
}
