package plot

import (
	"fmt"
	"image/color"
	"math"

	"github.com/ebmpipe/ebmpipe/pipeline/logz"

	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"context"
	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
)

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
		return b, fielderr.Errorf("no box to draw: give {Bounds}, data or a generator")
	}
	for j := range 2 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := j; i < len(ref); i += 2 {
			lo, hi = min(lo, ref[i]), max(hi, ref[i])
		}
		r := hi - lo
		if !(r > 0) {
			return b, fielderr.Errorf("%s have no spread on axis %d (all %g); give {Bounds}", what, j, lo)
		}
		b[j] = [2]float64{lo - p.o.Margin*r, hi + p.o.Margin*r}
	}
	return b, nil
}

// density draws density.png.
func (p *plotRun) density() (*vgimg.Canvas, error) {
	path := p.o.Energy
	m, err := export.LoadKind(path, export.KindEnergy, "Energy")
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
	engine.NoteFixedBatch(m, p.notice)
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
	g, logZ, source, pmax, err := densityValues(path, eng, meta, b, p.o.GridSize)
	if err != nil {
		return nil, err
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

// densityValues evaluates the density of the energy model eng on a grid of
// k×k cells over the box b: it returns the grid, log Z with where it comes
// from (the model's metadata, else this grid), and the largest density.
func densityValues(path string, eng engine.Engine, meta export.Meta, b [2][2]float64, k int) (g *densityGrid, logZ float64, source string, pmax float64, err error) {
	g = &densityGrid{k: k, x0: b[0][0], y0: b[1][0], hx: (b[0][1] - b[0][0]) / float64(k), hy: (b[1][1] - b[1][0]) / float64(k)}
	g.z = make([]float64, k*k)
	err = logz.Energies(context.Background(), eng, k*k, 2, plotBatch, func(x []float64, first, rows int) {
		for r := range rows {
			i := first + r
			x[2*r], x[2*r+1] = g.X(i/k), g.Y(i%k)
		}
	}, func(first int, en []float64) { copy(g.z[first:], en) })
	if err != nil {
		return nil, 0, "", 0, fmt.Errorf("%s: %w", path, err)
	}
	logZ, source = 0.0, "the model's "+export.MetaLogZ
	if meta.LogZ != nil {
		logZ = meta.LogZ.Value
	} else {
		var acc logz.LogSumExp
		for _, v := range g.z {
			acc.Add(-v)
		}
		logZ, source = acc.Value()+math.Log(g.hx*g.hy), "computed on this grid"
		if math.IsInf(logZ, -1) {
			return nil, 0, "", 0, fmt.Errorf("%s: exp(−E) underflows to 0 everywhere on the box %s", path, logz.FormatBox(b[:]))
		}
	}
	pmax = 0.0
	for i, v := range g.z {
		g.z[i] = math.Exp(-v - logZ)
		pmax = max(pmax, g.z[i])
	}
	if !(pmax > 0) || math.IsInf(pmax, 0) {
		return nil, 0, "", 0, fmt.Errorf("%s: the density is %g at most on the box %s with log Z = %g", path, pmax, logz.FormatBox(b[:]), logZ)
	}
	return g, logZ, source, pmax, nil
}
