package plot

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/ebmpipe/ebmpipe/onnx"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// samples draws samples.png.
func (p *plotRun) samples() (*vgimg.Canvas, error) {
	shape := p.genShape
	width := onnx.ShapeSize(shape)
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
	width := onnx.ShapeSize(shape)
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
