package plot

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testmodel"

	"gonum.org/v1/plot/plotter"
	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/data"
)

const torchFixtures = "../../testdata/torch"

// saveModel writes m into dir as name and returns its path.
func saveModel(t *testing.T, dir, name string, m *onnx.ModelProto) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := onnx.Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// decodePNG reads the PNG file at path.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// luminance returns the brightness of the pixel at (x, y), 0 to 1.
func luminance(img image.Image, x, y int) float64 {
	r, g, b, _ := img.At(x, y).RGBA()
	return (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
}

// colours counts the distinct colours of img.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

// imageRows returns n rows of images of shape (c, h, w), values in [0, 1],
// each a bright square on a dark background.
func imageRows(n, c, h, w int) []float64 {
	x := make([]float64, n*c*h*w)
	for i := range n {
		for ch := range c {
			for y := range h {
				for xx := range w {
					v := 0.1
					if y >= h/4 && y < 3*h/4 && xx >= w/4 && xx < 3*w/4 {
						v = 0.2 + 0.8*float64((i+ch)%5)/4
					}
					x[((i*c+ch)*h+y)*w+xx] = v
				}
			}
		}
	}
	return x
}

// writeMetrics writes a metrics file like train's, with an empty column
// and an off-scale first value.
func writeMetrics(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "metrics.csv")
	text := "step,loss_energy,loss_generator,lower_bound,upper_bound,wall_seconds\n" +
		"100,-0.36,2.78,-3.05,1493877.2,9.0\n" +
		"200,-0.53,-1.67,0.76,19.77,16.6\n" +
		"300,0.81,-5.66,4.97,6.31,24.0\n" +
		"400,-1.13,-3.63,4.09,NaN,32.8\n" +
		"500,-1.02,-1.01,2.56,3.01,40.1\n" +
		"600,0.05,-1.08,2.68,2.78,47.9\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// dataset holds rows x of the given shape.
func dataset(x []float64, shape ...int) *data.Dataset {
	w := onnx.ShapeSize(shape)
	return &data.Dataset{Rows: len(x) / w, Width: w, RowShape: shape, Data: x, Source: "test"}
}

// TestPlot draws every picture from known models and checks that each
// file decodes as a PNG of the expected size that is not a flat colour.
func TestPlot(t *testing.T) {
	dir := t.TempDir()
	mu, sigma := []float64{0.75, -0.5}, []float64{0.5, 0.25}
	energy := saveModel(t, dir, "energy.onnx", testmodel.Energy{Mu: mu, Sigma: sigma}.Model())
	gen2 := saveModel(t, dir, "gen2.onnx", testmodel.Generator(mu, sigma))
	gen3 := saveModel(t, dir, "gen3.onnx", testmodel.Generator([]float64{0, 1, 2}, []float64{1, 1, 1}))
	dcgan := filepath.Join(torchFixtures, "generator_dcgan.onnx")
	metrics := writeMetrics(t, dir)
	data := testmodel.Energy{Mu: mu, Sigma: sigma}.Sample(5000, 7)

	// The image grid of the 3×16×16 DCGAN fixture: 16-pixel images scaled
	// 3 times, 8 to a side with gaps, one grid for samples and one for data.
	side := imageGridCols*(3*16+imageGap) - imageGap
	gridW, gridH := 2*(side+2*imageMargin)+imageMargin, side+2*imageMargin+imageTitleBand

	type picture struct {
		name string
		w, h int
	}
	for _, c := range []struct {
		name string
		o    Options
		want []picture
	}{
		{"density with data", Options{Energy: energy, Dataset: dataset(data, 2)},
			[]picture{{DensityFile, densityWidth, densityHeight}}},
		{"density with generator box", Options{Energy: energy, Generator: gen2},
			[]picture{{DensityFile, densityWidth, densityHeight}, {SamplesFile, scatterWidth, scatterHeight}}},
		{"density with bounds", Options{Energy: energy, Bounds: []float64{-3, 3}},
			[]picture{{DensityFile, densityWidth, densityHeight}}},
		{"scatter", Options{Generator: gen2, Dataset: dataset(data, 2)},
			[]picture{{SamplesFile, scatterWidth, scatterHeight}}},
		{"scatter of wide rows", Options{Generator: gen3},
			[]picture{{SamplesFile, scatterWidth, scatterHeight}}},
		{"image grid", Options{Generator: dcgan, Dataset: dataset(imageRows(100, 3, 16, 16), 3, 16, 16)},
			[]picture{{SamplesFile, gridW, gridH}}},
		{"curves", Options{Metrics: metrics},
			[]picture{{CurvesFile, curvesWidth, 2 * curvePanelH}}},
		{"toy data", Options{Energy: energy, Data: "toy:8gaussians", DataRows: 300},
			[]picture{{DensityFile, densityWidth, densityHeight}}},
		{"all", Options{Energy: energy, Generator: gen2, Metrics: metrics, Dataset: dataset(data, 2)},
			[]picture{{DensityFile, densityWidth, densityHeight}, {SamplesFile, scatterWidth, scatterHeight}, {CurvesFile, curvesWidth, 2 * curvePanelH}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Energy, o.Generator, o.Metrics = c.o.Energy, c.o.Generator, c.o.Metrics
			o.Data, o.DataRows, o.Dataset, o.Bounds = c.o.Data, c.o.DataRows, c.o.Dataset, c.o.Bounds
			o.GridSize, o.Samples = 60, 500
			o.Out = filepath.Join(t.TempDir(), "pictures")
			var notes []string
			o.Notice = func(msg string) { notes = append(notes, msg) }
			files, err := Plot(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, p := range c.want {
				want = append(want, filepath.Join(o.Out, p.name))
			}
			if !slices.Equal(files, want) {
				t.Fatalf("files %q, want %q", files, want)
			}
			for _, p := range c.want {
				img := decodePNG(t, filepath.Join(o.Out, p.name))
				if b := img.Bounds(); b.Dx() != p.w || b.Dy() != p.h {
					t.Errorf("%s is %d×%d, want %d×%d", p.name, b.Dx(), b.Dy(), p.w, p.h)
				}
				if n := colours(img); n < 10 {
					t.Errorf("%s has %d colours", p.name, n)
				}
			}
			// Only the pictures are left: no temporary files.
			entries, err := os.ReadDir(o.Out)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(c.want) {
				t.Errorf("%s holds %d files, want %d", o.Out, len(entries), len(c.want))
			}
			if c.o.Generator == gen3 && (len(notes) != 1 || !strings.Contains(notes[0], "first two")) {
				t.Errorf("notes %q, want one about the first two of 3 values", notes)
			}
		})
	}
}

// TestPlotDensityMode checks that the brightest point of the heat map is at
// the mode of a Gaussian energy, on an asymmetric box, and that the density
// is normalised on the grid.
func TestPlotDensityMode(t *testing.T) {
	for _, c := range []struct {
		mu, sigma []float64
		bounds    []float64
	}{
		{[]float64{0.75, -0.5}, []float64{0.5, 0.25}, []float64{-2, 2}},
		{[]float64{-1.5, 2}, []float64{0.3, 0.6}, []float64{-3, 1, -1, 4}},
	} {
		dir := t.TempDir()
		te := testmodel.Energy{Mu: c.mu, Sigma: c.sigma}
		o := DefaultOptions()
		o.Energy = saveModel(t, dir, "energy.onnx", te.Model())
		o.Bounds, o.Out, o.GridSize = c.bounds, dir, 80
		p := &plotRun{o: o}
		canvas, err := p.density()
		if err != nil {
			t.Fatal(err)
		}
		img := canvas.Image()
		// The heat map's area in pixels, y downwards.
		px := func(l float64) int { return int(math.Round(l * plotDPI / 72)) }
		a := p.heatArea
		x0, x1 := px(float64(a.Min.X)), px(float64(a.Max.X))
		y0, y1 := densityHeight-px(float64(a.Max.Y)), densityHeight-px(float64(a.Min.Y))
		bx, by, best := 0, 0, -1.0
		for y := y0 + 1; y < y1-1; y++ {
			for x := x0 + 1; x < x1-1; x++ {
				if l := luminance(img, x, y); l > best {
					bx, by, best = x, y, l
				}
			}
		}
		lo0, hi0, lo1, hi1 := c.bounds[0], c.bounds[1], c.bounds[0], c.bounds[1]
		if len(c.bounds) == 4 {
			lo1, hi1 = c.bounds[2], c.bounds[3]
		}
		gotX := lo0 + (float64(bx)+0.5-float64(x0))/float64(x1-x0)*(hi0-lo0)
		gotY := hi1 - (float64(by)+0.5-float64(y0))/float64(y1-y0)*(hi1-lo1)
		// Within two grid cells.
		if math.Abs(gotX-c.mu[0]) > 2*(hi0-lo0)/80 || math.Abs(gotY-c.mu[1]) > 2*(hi1-lo1)/80 {
			t.Errorf("mode %v: brightest pixel (%d, %d) is at (%.3f, %.3f)", c.mu, bx, by, gotX, gotY)
		}
		// The colour at the box's corner, far from the mode, is dark.
		if l := luminance(img, x0+2, y1-3); l > 0.1 {
			t.Errorf("mode %v: luminance %.2f at the box's corner", c.mu, l)
		}
	}
}

// TestPlotLogZ checks the log Z the density is normalised with: the
// grid's, close to the analytic value when the box holds the mass, or the
// model's metadata.
func TestPlotLogZ(t *testing.T) {
	te := testmodel.Energy{Mu: []float64{0.5, -0.25}, Sigma: []float64{0.5, 0.75}}
	withMeta := te.Model()
	export.SetLogZ(withMeta, export.LogZ{Value: 3.25, StdErr: 0.01, Method: "test"})
	dir := t.TempDir()
	for _, c := range []struct {
		name, title string
		m           *onnx.ModelProto
		want, tol   float64
	}{
		{"grid", "computed on this grid", te.Model(), te.LogZ(), 1e-3},
		{"metadata", "the model's ebmpipe.log_z", withMeta, 3.25, 0},
	} {
		o := DefaultOptions()
		o.Energy = saveModel(t, dir, c.name+".onnx", c.m)
		o.Bounds, o.Out, o.GridSize = []float64{-5, 5}, dir, 200
		p := &plotRun{o: o}
		var title string
		if _, err := p.density(); err != nil {
			t.Fatal(err)
		}
		title = p.densityTitle
		if !strings.Contains(title, c.title) {
			t.Errorf("%s: title %q does not say %q", c.name, title, c.title)
		}
		if math.Abs(p.logZ-c.want) > c.tol {
			t.Errorf("%s: log Z %.6f, want %.6f ± %g", c.name, p.logZ, c.want, c.tol)
		}
	}
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	energy := saveModel(t, dir, "energy.onnx", testmodel.Energy{Mu: []float64{0, 0}, Sigma: []float64{1, 1}}.Model())
	wide := saveModel(t, dir, "wide.onnx", testmodel.Energy{Mu: []float64{0, 0, 0}, Sigma: []float64{1, 1, 1}}.Model())
	gen2 := saveModel(t, dir, "gen2.onnx", testmodel.Generator([]float64{0, 0}, []float64{1, 1}))
	tagged := testmodel.Generator([]float64{0, 0}, []float64{1, 1})
	tagged.MetadataProps = append(tagged.MetadataProps, &onnx.StringStringEntryProto{Key: proto.String(export.MetaKind), Value: proto.String(export.KindGenerator)})
	taggedGen := saveModel(t, dir, "tagged.onnx", tagged)
	metrics := writeMetrics(t, dir)
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("step,lower_bound\n1,2\n2,abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.csv")
	noCurves := filepath.Join(dir, "nocurves.csv")
	noSteps := filepath.Join(dir, "nosteps.csv")
	for path, text := range map[string]string{empty: "", noCurves: "step,entropy,upper_bound\n1,2,\n", noSteps: "lower_bound\n1\n"} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "empty-run"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"nothing", Options{Out: out}, "nothing to plot"},
		{"no out", Options{Energy: energy}, "Out is required"},
		{"grid size", Options{Energy: energy, Out: out, GridSize: 1}, "GridSize 1"},
		{"bounds", Options{Energy: energy, Out: out, Bounds: []float64{1, 0}}, "want finite LO < HI"},
		{"bounds count", Options{Energy: energy, Out: out, Bounds: []float64{1, 2, 3}}, "want LO,HI or LO0,HI0,LO1,HI1"},
		{"data set", Options{Energy: energy, Out: out, Dataset: &data.Dataset{Rows: 2, Width: 2, RowShape: []int{2}, Data: []float64{1, 2, 3}}}, "holds 3 values"},
		{"data rows", Options{Energy: energy, Out: out, DataRows: 5}, "DataRows needs Data or Run"},
		{"bad toy", Options{Energy: energy, Out: out, Data: "toy:nope"}, "Data: "},
		{"missing run", Options{Run: filepath.Join(dir, "nope")}, "Run: "},
		{"run of nothing", Options{Run: dir + "/empty-run"}, "holds none of energy.onnx, generator.onnx and metrics.csv"},
		{"missing energy", Options{Energy: filepath.Join(dir, "nope.onnx"), Out: out}, "nope.onnx"},
		{"wide energy", Options{Energy: wide, Out: out, Bounds: []float64{0, 1}}, "density.png skipped: " + wide + " takes rows of 3 values"},
		{"no box", Options{Energy: energy, Out: out}, "no box to draw"},
		{"data for another width", Options{Energy: energy, Out: out, Dataset: dataset(make([]float64, 6), 3)}, "the data rows have shape [3]"},
		{"generator for other data", Options{Generator: gen2, Out: out, Dataset: dataset(make([]float64, 6), 3)}, "gives rows of shape [2], but the data rows have shape [3]"},
		{"generator as energy", Options{Energy: taggedGen, Out: out, Bounds: []float64{0, 1}}, `is "generator", but Energy takes an energy model`},
		{"bad metrics", Options{Metrics: bad, Out: out}, `bad.csv:3: column "lower_bound": "abc" is not a number`},
		{"empty metrics", Options{Metrics: empty, Out: out}, "empty file"},
		{"no curves", Options{Metrics: noCurves, Out: out}, "no values in the columns lower_bound, upper_bound, bracket_lower, bracket_upper, loss_energy, loss_generator"},
		{"no steps", Options{Metrics: noSteps, Out: out}, `no column "step"`},
		{"unwritable", Options{Metrics: metrics, Out: filepath.Join(file, "sub")}, "not a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Run, o.Energy, o.Generator, o.Metrics, o.Out = c.o.Run, c.o.Energy, c.o.Generator, c.o.Metrics, c.o.Out
			o.Data, o.DataRows, o.Dataset, o.Bounds = c.o.Data, c.o.DataRows, c.o.Dataset, c.o.Bounds
			if c.o.GridSize != 0 {
				o.GridSize = c.o.GridSize
			}
			files, err := Plot(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
			if len(files) != 0 {
				t.Errorf("wrote %q", files)
			}
		})
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		t.Errorf("%s holds %d files after failures", out, len(entries))
	}
}

// TestPlotSkip checks that a picture that cannot be drawn is skipped with a
// notice when others are written.
func TestPlotSkip(t *testing.T) {
	dir := t.TempDir()
	o := DefaultOptions()
	o.Energy = saveModel(t, dir, "wide.onnx", testmodel.Energy{Mu: []float64{0, 0, 0}, Sigma: []float64{1, 1, 1}}.Model())
	o.Metrics = writeMetrics(t, dir)
	o.Out = filepath.Join(dir, "out")
	var notes []string
	o.Notice = func(msg string) { notes = append(notes, msg) }
	files, err := Plot(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(o.Out, CurvesFile)}; !slices.Equal(files, want) {
		t.Errorf("files %q, want %q", files, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "density.png skipped") {
		t.Errorf("notes %q", notes)
	}
}

func TestCurveRange(t *testing.T) {
	line := func(ys ...float64) plotter.XYs {
		pts := make(plotter.XYs, len(ys))
		for i, y := range ys {
			pts[i] = plotter.XY{X: float64(100 * (i + 1)), Y: y}
		}
		return pts
	}
	for _, c := range []struct {
		name        string
		curves      []plotter.XYs
		lo, hi      float64 // before the 5 % padding; the second half of the steps (600 to 1100) sets the core range
		wantClipped bool
	}{
		{"steady", []plotter.XYs{line(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)}, 1, 11, false},
		{"early spike", []plotter.XYs{line(1e6, 20, 6, 4, 3, 2.8, 2.7, 2.7, 2.6, 2.6, 2.6)}, 2.6, 4, true},
		{"spike of the other curve", []plotter.XYs{line(-3, 0.8, 5, 4, 2.6, 2.7, 2.6, 2.6, 2.6, 2.6, 2.6), line(1e6, 20, 6, 4, 3, 2.8, 2.7, 2.7, 2.6, 2.6, 2.6)}, 0.8, 4, true},
		{"mid-run spike", []plotter.XYs{line(2, 3, 4e5, 1.4e6, 8e6, 3.5, 3.3, 3.2, 3.1, 3.2, 3.3), line(-2, 1, 2.5, 2.6, 2.6, 2.7, 2.7, 2.6, 2.6, 2.5, 2.5)}, -2, 3.5, true},
		{"falling", []plotter.XYs{line(10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)}, 0, 10, false},
		{"one point", []plotter.XYs{line(4)}, 4, 4, false},
	} {
		lo, hi, clipped := curveRange(c.curves)
		pad := 0.05 * (c.hi - c.lo)
		if c.hi == c.lo {
			pad = 0.2 // half of 10 % of |4|
		}
		if math.Abs(lo-(c.lo-pad)) > 1e-9 || math.Abs(hi-(c.hi+pad)) > 1e-9 || clipped != c.wantClipped {
			t.Errorf("%s: range [%g, %g] clipped %v, want [%g, %g] clipped %v", c.name, lo, hi, clipped, c.lo-pad, c.hi+pad, c.wantClipped)
		}
	}
}

func TestPixelRange(t *testing.T) {
	for _, c := range []struct {
		x      []float64
		lo, hi float64
	}{
		{[]float64{0, 0.5, 1}, 0, 1},
		{[]float64{-0.9, 0.2, 0.99}, -1, 1},
		{[]float64{0, 17, 254}, 0, 255},
		{[]float64{-3, 2}, -3, 2},
		{[]float64{7, 7}, 0, 255},
		{[]float64{300, 300}, 299, 301},
	} {
		if lo, hi := pixelRange(c.x); lo != c.lo || hi != c.hi {
			t.Errorf("pixelRange(%v) = %g, %g, want %g, %g", c.x, lo, hi, c.lo, c.hi)
		}
	}
}

// TestPlotRun plots a training run's directory: its files, and the data
// that its models' metadata name.
func TestPlotRun(t *testing.T) {
	mu, sigma := []float64{0, 0}, []float64{1, 1}
	newRun := func(t *testing.T, named bool) string {
		dir := t.TempDir()
		e := testmodel.Energy{Mu: mu, Sigma: sigma}.Model()
		if named {
			for _, kv := range [][2]string{{export.MetaData, "toy:25gaussians"}, {export.MetaDataRows, "500"}, {export.MetaSeed, "3"}} {
				e.MetadataProps = append(e.MetadataProps, &onnx.StringStringEntryProto{Key: proto.String(kv[0]), Value: proto.String(kv[1])})
			}
		}
		saveModel(t, dir, train.EnergyFile, e)
		saveModel(t, dir, train.GeneratorFile, testmodel.Generator(mu, sigma))
		writeMetrics(t, dir)
		return dir
	}
	want := func(dir string) []string {
		return []string{filepath.Join(dir, DensityFile), filepath.Join(dir, SamplesFile), filepath.Join(dir, CurvesFile)}
	}

	t.Run("named data", func(t *testing.T) {
		dir := newRun(t, true)
		o := DefaultOptions()
		o.Run, o.GridSize = dir, 40
		p := &plotRun{o: o}
		if err := p.resolve(); err != nil {
			t.Fatal(err)
		}
		toy, err := data.LoadData("toy:25gaussians", 500, 3)
		if err != nil {
			t.Fatal(err)
		}
		if p.dataRows != 500 || !slices.Equal(p.data, toy.Data) {
			t.Errorf("data: %d rows, want the run's 500 toy points of seed 3", p.dataRows)
		}
		files, err := Plot(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(files, want(dir)) {
			t.Errorf("files %q, want %q", files, want(dir))
		}
	})
	t.Run("no data named", func(t *testing.T) {
		dir := newRun(t, false)
		out := filepath.Join(t.TempDir(), "pictures")
		var notes []string
		o := DefaultOptions()
		o.Run, o.Out, o.GridSize = dir, out, 40
		o.Notice = func(msg string) { notes = append(notes, msg) }
		files, err := Plot(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(files, want(out)) {
			t.Errorf("files %q, want %q", files, want(out))
		}
		if len(notes) != 1 || !strings.Contains(notes[0], "do not name their training data") {
			t.Errorf("notes %q, want one about the data the models do not name", notes)
		}
	})
	t.Run("trained", func(t *testing.T) {
		// A trainer's data set holds standardised rows; the pictures
		// show them as the models take them.
		dir := newRun(t, false)
		raw := []float64{1, 10, 3, 30, 5, 20}
		d := dataset(slices.Clone(raw), 2)
		d.Standardize()
		o := DefaultOptions()
		o.Run, o.Dataset = dir, d
		p := &plotRun{o: o}
		if err := p.resolve(); err != nil {
			t.Fatal(err)
		}
		for i := range raw {
			if math.Abs(p.data[i]-raw[i]) > 1e-12 {
				t.Fatalf("data %v, want the raw rows %v", p.data, raw)
			}
		}
		files, err := Trained(context.Background(), dir, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(files, want(dir)) {
			t.Errorf("files %q, want %q", files, want(dir))
		}
	})
}

// ExamplePlot draws the training curves of a short run and samples of a
// DCGAN-style image generator.
func ExamplePlot() {
	dir, err := os.MkdirTemp("", "plot")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	metrics := filepath.Join(dir, "metrics.csv")
	err = os.WriteFile(metrics, []byte(
		"step,loss_energy,loss_generator,lower_bound,upper_bound\n"+
			"100,-0.36,2.78,-3.05,\n"+
			"200,-0.53,-1.67,0.76,19.77\n"+
			"300,0.81,-5.66,4.97,6.31\n"), 0o644)
	if err != nil {
		log.Fatal(err)
	}

	o := DefaultOptions()
	o.Metrics = metrics
	o.Generator = "../../testdata/torch/generator_dcgan.onnx" // 16 → 3×16×16
	o.Out = filepath.Join(dir, "pictures")
	files, err := Plot(context.Background(), o)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output:
	// samples.png
	// curves.png
}
