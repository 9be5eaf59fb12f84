package autodiff

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Max pooling is two prims over the same windows: poolSelect(x, h) reads h
// at the position where x is largest in each window, and poolScatter(x, g)
// adds g back at those positions. Both are linear in their second input
// and adjoint to each other there; the argmax positions are piecewise
// constant in x, which gets no gradient. MaxPool(x) is poolSelect(x, x).
//
// Average pooling is linear: poolAvg sums each window and multiplies by a
// constant reciprocal count, and poolAvgAdj, its adjoint, spreads each
// output's gradient over its window with the same weight. Dedicated prims
// (rather than a depthwise convolution with a ones kernel) keep the weight
// out of the graph, so no gradient is ever computed for it.

// PoolGeometry describes ONNX MaxPool/AveragePool windows over the spatial axes of (N, C, D...).
type PoolGeometry struct {
	Kernel, Strides, Dilations []int
	PadsBegin, PadsEnd         []int
	CeilMode                   bool
}

// poolGeo is a PoolGeometry with every field filled in.
type poolGeo struct {
	kernel, strides, dilations, padsBegin, padsEnd []int
	ceil                                           bool
}

func (g poolGeo) String() string {
	return fmt.Sprintf("k%v,s%v,d%v,p%v%v,ceil=%v", g.kernel, g.strides, g.dilations, g.padsBegin, g.padsEnd, g.ceil)
}

// normalize fills in g's defaults for k spatial axes and checks its values.
func (g PoolGeometry) normalize(k int) (poolGeo, error) {
	out := poolGeo{ceil: g.CeilMode}
	var err error
	if g.Kernel == nil {
		return out, fmt.Errorf("no kernel shape")
	}
	if out.kernel, err = axisInts("kernel shape", g.Kernel, k, 1, 1); err != nil {
		return out, err
	}
	if out.strides, out.dilations, out.padsBegin, out.padsEnd, err = normWindow(k, g.Strides, g.Dilations, g.PadsBegin, g.PadsEnd); err != nil {
		return out, err
	}
	return out, nil
}

// outShape returns the pooled shape of x (N, C, D...). In ceil mode the
// output length is ceil((D + pb + pe - dil*(K-1) - 1)/s) + 1, less one if the
// last window would start past the input and its leading padding, as ONNX
// and PyTorch count.
func (g poolGeo) outShape(x []int) (tensor.Shape, error) {
	k := len(g.kernel)
	if len(x) != k+2 {
		return nil, fmt.Errorf("input %v: want rank %d for %d spatial axes", x, k+2, k)
	}
	out := tensor.Shape{x[0], x[1]}
	for i := 0; i < k; i++ {
		s := g.strides[i]
		span := g.dilations[i]*(g.kernel[i]-1) + 1
		free := x[i+2] + g.padsBegin[i] + g.padsEnd[i] - span
		if free < 0 {
			return nil, fmt.Errorf("spatial axis %d: kernel %d with dilation %d does not fit padded input %d", i, g.kernel[i], g.dilations[i], free+span)
		}
		n := free/s + 1
		if g.ceil {
			n = (free+s-1)/s + 1
			if (n-1)*s >= x[i+2]+g.padsBegin[i] {
				n--
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// poolPlan holds the sizes of one pooling and its window table.
type poolPlan struct {
	planes     int // N·C
	dp, kp, op int // elements of one input plane, window, output plane
	// idx[q*op+o] is the offset in an input plane of window position q of
	// output o, or -1 where it falls in the padding or past it.
	idx []int32
}

func newPoolPlan(g poolGeo, x, y []int) *poolPlan {
	return &poolPlan{
		planes: x[0] * x[1],
		dp:     Size(x[2:]), kp: Size(g.kernel), op: Size(y[2:]),
		idx: windowTable(x[2:], g.kernel, y[2:], g.strides, g.dilations, g.padsBegin),
	}
}

// poolArgmax returns, for every output position of every plane, the offset
// in its input plane of the window's largest x (the first of equals, or a
// NaN), or -1 for a window that covers no input.
func poolArgmax[T float](p *poolPlan, x []T) []int32 {
	arg := make([]int32, p.planes*p.op)
	best := make([]T, p.op)
	for pl := 0; pl < p.planes; pl++ {
		xs := x[pl*p.dp:][:p.dp]
		a := arg[pl*p.op:][:p.op]
		for o := range a {
			a[o] = -1
		}
		for q := 0; q < p.kp; q++ {
			for o, j := range p.idx[q*p.op:][:p.op] {
				if j < 0 {
					continue
				}
				if v := xs[j]; a[o] < 0 || v > best[o] || v != v {
					a[o], best[o] = j, v
				}
			}
		}
	}
	return arg
}

// poolSelect(x, h) reads h at the argmax of x in every window (0 for a
// window that covers no input).
type poolSelect struct{ geo poolGeo }

func (p poolSelect) String() string { return "PoolSelect(" + p.geo.String() + ")" }

func (p poolSelect) shape(in []tensor.Shape) (tensor.Shape, error) {
	if !sameShape(in[0], in[1]) {
		return nil, fmt.Errorf("argument %v and values %v differ in shape", in[0], in[1])
	}
	return p.geo.outShape(in[0])
}

func (p poolSelect) do(in []array) (array, error) {
	x, h := in[0], in[1]
	s, err := p.shape([]tensor.Shape{x.shape, h.shape})
	if err != nil {
		return array{}, err
	}
	out := h.like(s)
	pl := newPoolPlan(p.geo, x.shape, s)
	if x.isF32() {
		poolSelectLoop(pl, floats[float32](out), floats[float32](x), floats[float32](h))
	} else {
		poolSelectLoop(pl, floats[float64](out), floats[float64](x), floats[float64](h))
	}
	return out, nil
}

func poolSelectLoop[T float](p *poolPlan, out, x, h []T) {
	arg := poolArgmax(p, x)
	for pl := 0; pl < p.planes; pl++ {
		hs := h[pl*p.dp:][:p.dp]
		dst := out[pl*p.op:][:p.op]
		for o, j := range arg[pl*p.op:][:p.op] {
			if j >= 0 {
				dst[o] = hs[j]
			}
		}
	}
}

func (p poolSelect) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	return []*Node{nil, t.apply(poolScatter(p), in[0], g)}
}

// poolScatter(x, g) adds g at the argmax of x in every window: the adjoint
// of poolSelect(x, ·).
type poolScatter struct{ geo poolGeo }

func (p poolScatter) String() string { return "PoolScatter(" + p.geo.String() + ")" }

func (p poolScatter) shape(in []tensor.Shape) (tensor.Shape, error) {
	s, err := p.geo.outShape(in[0])
	if err != nil {
		return nil, err
	}
	if !sameShape(s, in[1]) {
		return nil, fmt.Errorf("argument %v pools to %v, gradient has shape %v", in[0], s, in[1])
	}
	return in[0].Clone(), nil
}

func (p poolScatter) do(in []array) (array, error) {
	x, g := in[0], in[1]
	if _, err := p.shape([]tensor.Shape{x.shape, g.shape}); err != nil {
		return array{}, err
	}
	out := g.like(x.shape)
	pl := newPoolPlan(p.geo, x.shape, g.shape)
	if x.isF32() {
		poolScatterLoop(pl, floats[float32](out), floats[float32](x), floats[float32](g))
	} else {
		poolScatterLoop(pl, floats[float64](out), floats[float64](x), floats[float64](g))
	}
	return out, nil
}

func poolScatterLoop[T float](p *poolPlan, out, x, g []T) {
	arg := poolArgmax(p, x)
	for pl := 0; pl < p.planes; pl++ {
		dst := out[pl*p.dp:][:p.dp]
		gs := g[pl*p.op:][:p.op]
		for o, j := range arg[pl*p.op:][:p.op] {
			if j >= 0 {
				dst[j] += gs[o]
			}
		}
	}
}

func (p poolScatter) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	return []*Node{nil, t.apply(poolSelect(p), in[0], g)}
}

// poolAvg averages every window of x: its sum times a reciprocal count
// (see avgPoolWeights).
type poolAvg struct {
	geo     poolGeo
	inclPad bool
}

func (p poolAvg) String() string { return fmt.Sprintf("AvgPool(%s,inclPad=%v)", p.geo, p.inclPad) }

func (p poolAvg) shape(in []tensor.Shape) (tensor.Shape, error) { return p.geo.outShape(in[0]) }

func (p poolAvg) do(in []array) (array, error) {
	x := in[0]
	s, err := p.geo.outShape(x.shape)
	if err != nil {
		return array{}, err
	}
	out := x.like(s)
	pl := newPoolPlan(p.geo, x.shape, s)
	wt := avgPoolWeights(p.geo, x.shape[2:], s[2:], p.inclPad)
	if x.isF32() {
		poolAvgLoop(pl, floats[float32](out), floats[float32](x), wt)
	} else {
		poolAvgLoop(pl, floats[float64](out), floats[float64](x), wt)
	}
	return out, nil
}

func poolAvgLoop[T float](p *poolPlan, out, x []T, wt []float64) {
	for pl := 0; pl < p.planes; pl++ {
		xs := x[pl*p.dp:][:p.dp]
		dst := out[pl*p.op:][:p.op]
		for q := 0; q < p.kp; q++ {
			for o, j := range p.idx[q*p.op:][:p.op] {
				if j >= 0 {
					dst[o] += xs[j]
				}
			}
		}
		for o := range dst {
			dst[o] *= T(wt[o])
		}
	}
}

func (p poolAvg) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	return []*Node{t.apply(poolAvgAdj{geo: p.geo, inclPad: p.inclPad, in: spatialDims(in[0].Shape())}, g)}
}

// poolAvgAdj is the adjoint of poolAvg for inputs of spatial shape in.
type poolAvgAdj struct {
	geo     poolGeo
	inclPad bool
	in      []int
}

func (p poolAvgAdj) String() string {
	return fmt.Sprintf("AvgPoolAdj(%s,inclPad=%v,in%v)", p.geo, p.inclPad, p.in)
}

func (p poolAvgAdj) shape(in []tensor.Shape) (tensor.Shape, error) {
	g := in[0]
	if len(g) != len(p.in)+2 {
		return nil, fmt.Errorf("gradient %v: want rank %d", g, len(p.in)+2)
	}
	x := append(tensor.Shape{g[0], g[1]}, p.in...)
	s, err := p.geo.outShape(x)
	if err != nil {
		return nil, err
	}
	if !sameShape(s, g) {
		return nil, fmt.Errorf("input %v pools to %v, gradient has shape %v", x, s, g)
	}
	return x, nil
}

func (p poolAvgAdj) do(in []array) (array, error) {
	g := in[0]
	s, err := p.shape([]tensor.Shape{g.shape})
	if err != nil {
		return array{}, err
	}
	out := g.like(s)
	pl := newPoolPlan(p.geo, s, g.shape)
	wt := avgPoolWeights(p.geo, p.in, g.shape[2:], p.inclPad)
	if g.isF32() {
		poolAvgAdjLoop(pl, floats[float32](out), floats[float32](g), wt)
	} else {
		poolAvgAdjLoop(pl, floats[float64](out), floats[float64](g), wt)
	}
	return out, nil
}

func poolAvgAdjLoop[T float](p *poolPlan, out, g []T, wt []float64) {
	gw := make([]T, p.op)
	for pl := 0; pl < p.planes; pl++ {
		dst := out[pl*p.dp:][:p.dp]
		for o, v := range g[pl*p.op:][:p.op] {
			gw[o] = v * T(wt[o])
		}
		for q := 0; q < p.kp; q++ {
			for o, j := range p.idx[q*p.op:][:p.op] {
				if j >= 0 {
					dst[j] += gw[o]
				}
			}
		}
	}
}

func (p poolAvgAdj) vjp(t *Tape, _ []*Node, _, g *Node) []*Node {
	return []*Node{t.apply(poolAvg{geo: p.geo, inclPad: p.inclPad}, g)}
}

// avgPoolWeights returns, for every output position, 1 over the number of
// window positions that count: those inside the input, and with inclPad
// those in its padding too — but never those past the end padding, where
// ceil mode lets the last window run. A window with nothing to count gets
// weight 0.
func avgPoolWeights(g poolGeo, in, out []int, inclPad bool) []float64 {
	k := len(in)
	counts := make([][]int, k)
	for a := 0; a < k; a++ {
		lo, hi := 0, in[a]
		if inclPad {
			lo, hi = -g.padsBegin[a], in[a]+g.padsEnd[a]
		}
		counts[a] = make([]int, out[a])
		for o := range counts[a] {
			for q := 0; q < g.kernel[a]; q++ {
				if p := o*g.strides[a] - g.padsBegin[a] + q*g.dilations[a]; p >= lo && p < hi {
					counts[a][o]++
				}
			}
		}
	}
	wt := make([]float64, Size(out))
	oo := make([]int, k)
	for i := range wt {
		n := 1
		for a, o := range oo {
			n *= counts[a][o]
		}
		if n > 0 {
			wt[i] = 1 / float64(n)
		}
		nextIndex(oo, out)
	}
	return wt
}

// poolSetup checks x and geo for a pooling op.
func (t *Tape) poolSetup(op string, x *Node, geo PoolGeometry) (poolGeo, bool) {
	if t.err != nil {
		return poolGeo{}, false
	}
	if x == nil {
		t.fail(fmt.Errorf("%s: nil input", op))
		return poolGeo{}, false
	}
	if x.Dims() < 3 {
		t.fail(fmt.Errorf("%s: input shape %v: want (N, C, D...) with at least one spatial axis", op, x.Shape()))
		return poolGeo{}, false
	}
	if dt := x.Dtype(); dt != Float64 && dt != Float32 {
		t.fail(fmt.Errorf("%s: input of type %v: want float64 or float32", op, dt))
		return poolGeo{}, false
	}
	g, err := geo.normalize(x.Dims() - 2)
	if err != nil {
		t.fail(fmt.Errorf("%s: %w", op, err))
		return poolGeo{}, false
	}
	return g, true
}

// MaxPool returns the maximum of x (N, C, D...) over every window, as ONNX
// MaxPool computes it: padding never wins. Its gradient goes to the first
// largest element of each window. A window that covers only padding (which
// ONNX leaves undefined) gives 0.
func (t *Tape) MaxPool(x *Node, geo PoolGeometry) *Node {
	g, ok := t.poolSetup("MaxPool", x, geo)
	if !ok {
		return nil
	}
	return t.apply(poolSelect{geo: g}, x, x)
}

// AvgPool returns the mean of x (N, C, D...) over every window, as ONNX
// AveragePool computes it: padding counts in the divisor when
// countIncludePad is set, and positions past the end padding (where ceil
// mode lets the last window run) never do.
func (t *Tape) AvgPool(x *Node, geo PoolGeometry, countIncludePad bool) *Node {
	g, ok := t.poolSetup("AvgPool", x, geo)
	if !ok {
		return nil
	}
	return t.apply(poolAvg{geo: g, inclPad: countIncludePad}, x)
}
