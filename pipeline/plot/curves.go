package plot

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/ebmpipe/ebmpipe/train/metrics"
)

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
