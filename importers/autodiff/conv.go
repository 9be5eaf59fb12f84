package autodiff

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gorgonia.org/tensor"
)

// Convolution is one bilinear form B(x, w, y) = ⟨Conv(x, w), y⟩ seen three
// ways: convFwd computes Conv(x, w) = ∂B/∂y, convAdjX computes ∂B/∂x (the
// transposed convolution) and convAdjW computes ∂B/∂w. Each one's
// vector–Jacobian product is built from the other two, so derivatives of
// any order stay exact.
//
// The kernels lower the convolution to matrix products: im2col gathers, for
// one group and a chunk of the batch, every input patch into a column of a
// (C/Groups·K₁⋯Kₖ) × (batch·O₁⋯Oₖ) matrix, and col2im scatters such a matrix
// back, adding where patches overlap.

// ConvGeometry describes an N-d cross-correlation as ONNX Conv defines it:
// x (N, C, D1..Dk), w (M, C/Groups, K1..Kk) -> y (N, M, O1..Ok),
// O_i = floor((D_i + PadsBegin_i + PadsEnd_i - Dilations_i*(K_i-1) - 1)/Strides_i) + 1.
type ConvGeometry struct {
	Strides, Dilations []int // per spatial axis; nil means all 1
	PadsBegin, PadsEnd []int // per spatial axis; nil means all 0
	Groups             int   // 0 or 1 means no groups
}

// convGeo is a ConvGeometry with every field filled in. The end pads may
// be negative inside the package: Conv then drops trailing outputs, which
// ConvTranspose needs for output padding of a stride or more.
type convGeo struct {
	strides, dilations, padsBegin, padsEnd []int
	groups                                 int
}

func (g convGeo) String() string {
	return fmt.Sprintf("s%v,d%v,p%v%v,g%d", g.strides, g.dilations, g.padsBegin, g.padsEnd, g.groups)
}

// normWindow fills in the defaults of a sliding window's strides and
// dilations (1) and pads (0) for k spatial axes, and checks them.
func normWindow(k int, strides, dilations, padsBegin, padsEnd []int) (s, d, pb, pe []int, err error) {
	if s, err = axisInts("strides", strides, k, 1, 1); err != nil {
		return
	}
	if d, err = axisInts("dilations", dilations, k, 1, 1); err != nil {
		return
	}
	if pb, err = axisInts("pads", padsBegin, k, 0, 0); err != nil {
		return
	}
	pe, err = axisInts("pads", padsEnd, k, 0, 0)
	return
}

// normalize fills in g's defaults for k spatial axes and checks its values.
func (g ConvGeometry) normalize(k int) (convGeo, error) {
	var out convGeo
	var err error
	if out.strides, out.dilations, out.padsBegin, out.padsEnd, err = normWindow(k, g.Strides, g.Dilations, g.PadsBegin, g.PadsEnd); err != nil {
		return out, err
	}
	out.groups = g.Groups
	switch {
	case out.groups == 0:
		out.groups = 1
	case out.groups < 0:
		return out, fmt.Errorf("groups %d: must be positive", g.Groups)
	}
	return out, nil
}

// axisInts returns v, one value per spatial axis (def for each when v is
// nil), checking that every value is at least lo.
func axisInts(name string, v []int, k, def, lo int) ([]int, error) {
	if v == nil {
		out := make([]int, k)
		for i := range out {
			out[i] = def
		}
		return out, nil
	}
	if len(v) != k {
		return nil, fmt.Errorf("%s %v: want %d values, one per spatial axis", name, v, k)
	}
	for _, x := range v {
		if x < lo {
			return nil, fmt.Errorf("%s %v: values must be at least %d", name, v, lo)
		}
	}
	return append([]int(nil), v...), nil
}

// outShape returns the shape of Conv(x, w), checking the channel counts.
func (g convGeo) outShape(x, w []int) (tensor.Shape, error) {
	k := len(g.strides)
	if len(x) != k+2 || len(w) != k+2 {
		return nil, fmt.Errorf("input %v and weight %v: want rank %d for %d spatial axes", x, w, k+2, k)
	}
	c, m := x[1], w[0]
	if c%g.groups != 0 || m%g.groups != 0 {
		return nil, fmt.Errorf("%d input and %d output channels do not split into %d groups", c, m, g.groups)
	}
	if w[1]*g.groups != c {
		return nil, fmt.Errorf("weight %v has %d input channels per group, input %v has %d channels in %d groups", w, w[1], x, c, g.groups)
	}
	out := tensor.Shape{x[0], m}
	for i := 0; i < k; i++ {
		span := g.dilations[i]*(w[i+2]-1) + 1
		padded := x[i+2] + g.padsBegin[i] + g.padsEnd[i]
		if w[i+2] < 1 || span > padded {
			return nil, fmt.Errorf("spatial axis %d: kernel %d with dilation %d does not fit padded input %d", i, w[i+2], g.dilations[i], padded)
		}
		out = append(out, (padded-span)/g.strides[i]+1)
	}
	return out, nil
}

// convFwd is Conv(x, w).
type convFwd struct{ geo convGeo }

func (p convFwd) String() string { return "Conv(" + p.geo.String() + ")" }

func (p convFwd) shape(in []tensor.Shape) (tensor.Shape, error) {
	return p.geo.outShape(in[0], in[1])
}

func (p convFwd) do(in []array) (array, error) {
	x, w := in[0], in[1]
	s, err := p.geo.outShape(x.shape, w.shape)
	if err != nil {
		return array{}, err
	}
	return runConv(newConvPlan(p.geo, x.shape, w.shape, s), x, w, s, convForward[float32], convForward[float64]), nil
}

// runConv returns kernel(pl, a, b) in a new array of shape s, running the
// float32 or float64 kernel as a's element type asks.
func runConv(pl *convPlan, a, b array, s tensor.Shape,
	k32 func(*convPlan, []float32, []float32, []float32),
	k64 func(*convPlan, []float64, []float64, []float64)) array {
	out := a.like(s)
	if a.isF32() {
		k32(pl, floats[float32](a), floats[float32](b), floats[float32](out))
	} else {
		k64(pl, floats[float64](a), floats[float64](b), floats[float64](out))
	}
	return out
}

func (p convFwd) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	x, w := in[0], in[1]
	return []*Node{
		t.apply(convAdjX{geo: p.geo, in: spatialDims(x.Shape())}, g, w),
		t.apply(convAdjW{geo: p.geo, ker: spatialDims(w.Shape())}, x, g),
	}
}

// convAdjX(y, w) is the adjoint of Conv in its input: the x-shaped
// ∂⟨Conv(x, w), y⟩/∂x, for inputs of spatial shape in.
type convAdjX struct {
	geo convGeo
	in  []int
}

func (p convAdjX) String() string { return fmt.Sprintf("ConvAdjX(%s,in%v)", p.geo, p.in) }

func (p convAdjX) shape(in []tensor.Shape) (tensor.Shape, error) {
	y, w := in[0], in[1]
	if len(w) != len(p.in)+2 || len(y) != len(w) {
		return nil, fmt.Errorf("gradient %v and weight %v: want rank %d for %d spatial axes", y, w, len(p.in)+2, len(p.in))
	}
	x := append(tensor.Shape{y[0], w[1] * p.geo.groups}, p.in...)
	if err := p.geo.check(x, w, y); err != nil {
		return nil, err
	}
	return x, nil
}

func (p convAdjX) do(in []array) (array, error) {
	y, w := in[0], in[1]
	s, err := p.shape([]tensor.Shape{y.shape, w.shape})
	if err != nil {
		return array{}, err
	}
	return runConv(newConvPlan(p.geo, s, w.shape, y.shape), y, w, s, convAdjointX[float32], convAdjointX[float64]), nil
}

func (p convAdjX) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	y, w := in[0], in[1]
	return []*Node{
		t.apply(convFwd{geo: p.geo}, g, w),
		t.apply(convAdjW{geo: p.geo, ker: spatialDims(w.Shape())}, g, y),
	}
}

// convAdjW(x, y) is the adjoint of Conv in its weight: the w-shaped
// ∂⟨Conv(x, w), y⟩/∂w, for kernels of spatial shape ker.
type convAdjW struct {
	geo convGeo
	ker []int
}

func (p convAdjW) String() string { return fmt.Sprintf("ConvAdjW(%s,k%v)", p.geo, p.ker) }

func (p convAdjW) shape(in []tensor.Shape) (tensor.Shape, error) {
	x, y := in[0], in[1]
	if len(x) != len(p.ker)+2 || len(y) != len(x) {
		return nil, fmt.Errorf("input %v and gradient %v: want rank %d for %d spatial axes", x, y, len(p.ker)+2, len(p.ker))
	}
	if x[1]%p.geo.groups != 0 {
		return nil, fmt.Errorf("%d input channels do not split into %d groups", x[1], p.geo.groups)
	}
	w := append(tensor.Shape{y[1], x[1] / p.geo.groups}, p.ker...)
	if err := p.geo.check(x, w, y); err != nil {
		return nil, err
	}
	return w, nil
}

func (p convAdjW) do(in []array) (array, error) {
	x, y := in[0], in[1]
	s, err := p.shape([]tensor.Shape{x.shape, y.shape})
	if err != nil {
		return array{}, err
	}
	return runConv(newConvPlan(p.geo, x.shape, s, y.shape), x, y, s, convAdjointW[float32], convAdjointW[float64]), nil
}

func (p convAdjW) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	x, y := in[0], in[1]
	return []*Node{
		t.apply(convAdjX{geo: p.geo, in: spatialDims(x.Shape())}, y, g),
		t.apply(convFwd{geo: p.geo}, x, g),
	}
}

// check returns an error unless input x and weight w convolve to shape y.
func (g convGeo) check(x, w, y tensor.Shape) error {
	s, err := g.outShape(x, w)
	if err != nil {
		return err
	}
	if !sameShape(s, y) {
		return fmt.Errorf("input %v and weight %v convolve to %v, not %v", x, w, s, y)
	}
	return nil
}

// spatialDims returns the spatial part of an (N, C, D...) shape.
func spatialDims(s []int) []int { return append([]int(nil), s[2:]...) }

// Conv returns the N-d cross-correlation of x (N, C, D...) with the kernel
// w (M, C/Groups, K...), as ONNX Conv computes it without the bias.
func (t *Tape) Conv(x, w *Node, geo ConvGeometry) *Node {
	if t.err != nil {
		return nil
	}
	if x == nil || w == nil {
		return t.fail(fmt.Errorf("Conv: nil input"))
	}
	if x.Dims() < 3 {
		return t.fail(fmt.Errorf("Conv: input shape %v: want (N, C, D...) with at least one spatial axis", x.Shape()))
	}
	if err := checkConvTypes(x, w); err != nil {
		return t.fail(fmt.Errorf("Conv: %w", err))
	}
	g, err := geo.normalize(x.Dims() - 2)
	if err != nil {
		return t.fail(fmt.Errorf("Conv: %w", err))
	}
	return t.apply(convFwd{geo: g}, x, w)
}

// ConvTranspose is the adjoint of Conv with respect to its input: with
// x (N, C, D...) and w (C, M/Groups, K...), it returns y (N, M, outSpatial...)
// such that Conv(y, w, geo) has x's spatial shape. ONNX ConvTranspose maps
// onto it with outSpatial_i = Strides_i*(D_i-1) + OutputPadding_i + (K_i-1)*Dilations_i + 1 - PadsBegin_i - PadsEnd_i.
//
// Only PadsBegin places the windows; the end pads are taken to be whatever
// makes Conv(y, w) have x's spatial shape, so any positive outSpatial is
// accepted: trailing outputs no window reaches are zero.
func (t *Tape) ConvTranspose(x, w *Node, geo ConvGeometry, outSpatial []int) *Node {
	if t.err != nil {
		return nil
	}
	if x == nil || w == nil {
		return t.fail(fmt.Errorf("ConvTranspose: nil input"))
	}
	if x.Dims() < 3 {
		return t.fail(fmt.Errorf("ConvTranspose: input shape %v: want (N, C, D...) with at least one spatial axis", x.Shape()))
	}
	if err := checkConvTypes(x, w); err != nil {
		return t.fail(fmt.Errorf("ConvTranspose: %w", err))
	}
	g, err := geo.normalize(x.Dims() - 2)
	if err != nil {
		return t.fail(fmt.Errorf("ConvTranspose: %w", err))
	}
	if len(outSpatial) != x.Dims()-2 {
		return t.fail(fmt.Errorf("ConvTranspose: output spatial shape %v for input %v", outSpatial, x.Shape()))
	}
	if w.Dims() != x.Dims() {
		return t.fail(fmt.Errorf("ConvTranspose: weight shape %v for input %v", w.Shape(), x.Shape()))
	}
	// The end pads only decide how many outputs Conv makes, not where its
	// windows lie: set them so that Conv(y) has x's spatial shape. This
	// honours output padding, even beyond a stride (allowed when smaller
	// than the dilation), and any requested output shape.
	xs, ks := x.Shape(), w.Shape()
	for i, d := range outSpatial {
		if d < 1 {
			return t.fail(fmt.Errorf("ConvTranspose: output spatial shape %v: sizes must be positive", outSpatial))
		}
		span := g.dilations[i]*(ks[i+2]-1) + 1
		g.padsEnd[i] = (xs[i+2]-1)*g.strides[i] + span - d - g.padsBegin[i]
	}
	return t.apply(convAdjX{geo: g, in: append([]int(nil), outSpatial...)}, x, w)
}

// checkConvTypes checks that x and w hold the same floating-point type.
func checkConvTypes(x, w *Node) error {
	if dt := x.Dtype(); dt != Float64 && dt != Float32 {
		return fmt.Errorf("input of type %v: want float64 or float32", dt)
	}
	if x.Dtype() != w.Dtype() {
		return fmt.Errorf("input of type %v, weight of type %v", x.Dtype(), w.Dtype())
	}
	return nil
}

// convPlan holds the sizes of one convolution and its window table.
type convPlan struct {
	n, c, m, groups, cg, mg int
	dp, kp, op              int // elements of one input plane, kernel window, output plane
	// idx[q*op+o] is the offset in an input plane that kernel position q
	// reads for output position o, or -1 where it reads padding.
	idx []int32
}

func newConvPlan(g convGeo, x, w, y []int) *convPlan {
	return &convPlan{
		n: x[0], c: x[1], m: w[0], groups: g.groups,
		cg: x[1] / g.groups, mg: w[0] / g.groups,
		dp: Size(x[2:]), kp: Size(w[2:]), op: Size(y[2:]),
		idx: windowTable(x[2:], w[2:], y[2:], g.strides, g.dilations, g.padsBegin),
	}
}

// windowTable returns, for each window position q (row-major over ker) and
// output position o (row-major over out), the row-major offset in an input
// of shape in that q reads for o, or -1 where it falls outside the input.
func windowTable(in, ker, out, str, dil, pb []int) []int32 {
	k := len(in)
	kp, op := Size(ker), Size(out)
	st := Strides(in)
	tab := make([]int32, kp*op)
	kk := make([]int, k)
	oo := make([]int, k)
	for q := 0; q < kp; q++ {
		row := tab[q*op : (q+1)*op]
		for o := range row {
			off := 0
			for a := 0; a < k; a++ {
				p := oo[a]*str[a] - pb[a] + kk[a]*dil[a]
				if p < 0 || p >= in[a] {
					off = -1
					break
				}
				off += p * st[a]
			}
			row[o] = int32(off)
			nextIndex(oo, out)
		}
		nextIndex(kk, ker)
	}
	return tab
}

// nextIndex advances the row-major multi-index idx over shape, wrapping to
// zeros after the last position.
func nextIndex(idx, shape []int) {
	for d := len(idx) - 1; d >= 0; d-- {
		idx[d]++
		if idx[d] < shape[d] {
			return
		}
		idx[d] = 0
	}
}

// convColBudget bounds the elements of an im2col matrix: the batch is
// processed in chunks that fit.
var convColBudget = 1 << 21

// chunk returns how many examples one im2col matrix holds.
func (p *convPlan) chunk() int {
	nb := convColBudget / max(1, p.cg*p.kp*p.op)
	return max(1, min(nb, p.n))
}

// convIm2col fills col, a (cg·kp) × (nb·op) matrix, with the patches of
// group gi of examples n0..n0+nb-1 of x.
func convIm2col[T float](p *convPlan, col, x []T, gi, n0, nb int) {
	ld := nb * p.op
	for c := 0; c < p.cg; c++ {
		for q := 0; q < p.kp; q++ {
			row := col[(c*p.kp+q)*ld:][:ld]
			tab := p.idx[q*p.op:][:p.op]
			for e := 0; e < nb; e++ {
				src := x[((n0+e)*p.c+gi*p.cg+c)*p.dp:][:p.dp]
				dst := row[e*p.op:][:p.op]
				for o, j := range tab {
					if j >= 0 {
						dst[o] = src[j]
					} else {
						dst[o] = 0
					}
				}
			}
		}
	}
}

// convCol2im adds col, laid out as convIm2col makes it, into dx.
func convCol2im[T float](p *convPlan, dx, col []T, gi, n0, nb int) {
	ld := nb * p.op
	for c := 0; c < p.cg; c++ {
		for q := 0; q < p.kp; q++ {
			row := col[(c*p.kp+q)*ld:][:ld]
			tab := p.idx[q*p.op:][:p.op]
			for e := 0; e < nb; e++ {
				dst := dx[((n0+e)*p.c+gi*p.cg+c)*p.dp:][:p.dp]
				src := row[e*p.op:][:p.op]
				for o, j := range tab {
					if j >= 0 {
						dst[j] += src[o]
					}
				}
			}
		}
	}
}

// convOutRows returns the (mg, op) block of group gi of example e of an
// output y (N, M, O...).
func convOutRows[T float](p *convPlan, y []T, gi, e int) []T {
	return y[(e*p.m+gi*p.mg)*p.op:][:p.mg*p.op]
}

// convGatherOut copies group gi of examples n0..n0+nb-1 of y into buf, an
// mg × (nb·op) matrix.
func convGatherOut[T float](p *convPlan, buf, y []T, gi, n0, nb int) {
	ld := nb * p.op
	for e := 0; e < nb; e++ {
		src := convOutRows(p, y, gi, n0+e)
		for m := 0; m < p.mg; m++ {
			copy(buf[m*ld+e*p.op:][:p.op], src[m*p.op:][:p.op])
		}
	}
}

// convScatterOut is the inverse of convGatherOut.
func convScatterOut[T float](p *convPlan, y, buf []T, gi, n0, nb int) {
	ld := nb * p.op
	for e := 0; e < nb; e++ {
		dst := convOutRows(p, y, gi, n0+e)
		for m := 0; m < p.mg; m++ {
			copy(dst[m*p.op:][:p.op], buf[m*ld+e*p.op:][:p.op])
		}
	}
}

// convGemm sets c = op(a)·op(b) + beta·c for row-major matrices, where op(a) is
// m × k and op(b) is k × n.
func convGemm[T float](ta, tb bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	tA, tB := blas.NoTrans, blas.NoTrans
	if ta {
		tA = blas.Trans
	}
	if tb {
		tB = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		blas32.Implementation().Sgemm(tA, tB, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		blas64.Implementation().Dgemm(tA, tB, m, n, k, 1, a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// convForward sets y = Conv(x, w).
func convForward[T float](p *convPlan, x, w, y []T) {
	if p.n == 0 {
		return
	}
	workers, nb := p.convWorkers()
	ck := p.cg * p.kp
	bs := newConvBuffers[T](p, workers, nb)
	defer releaseConvBuffers(bs)
	convEach(p.n, nb, workers, func(wi, n0, nc int) {
		col, buf := bs[wi].col, bs[wi].buf
		ld := nc * p.op
		for gi := 0; gi < p.groups; gi++ {
			convIm2col(p, col, x, gi, n0, nc)
			wg := w[gi*p.mg*ck:][:p.mg*ck]
			if nc == 1 {
				convGemm(false, false, p.mg, ld, ck, wg, ck, col[:ck*ld], ld, 0, convOutRows(p, y, gi, n0), p.op)
				continue
			}
			convGemm(false, false, p.mg, ld, ck, wg, ck, col[:ck*ld], ld, 0, buf[:p.mg*ld], ld)
			convScatterOut(p, y, buf, gi, n0, nc)
		}
	})
}

// convAdjointX sets dx = ∂⟨Conv(x, w), y⟩/∂x; dx must be zero.
func convAdjointX[T float](p *convPlan, y, w, dx []T) {
	if p.n == 0 {
		return
	}
	workers, nb := p.convWorkers()
	ck := p.cg * p.kp
	bs := newConvBuffers[T](p, workers, nb)
	defer releaseConvBuffers(bs)
	// Gonum's Gemm is much faster with an untransposed left operand than
	// with a transposed one: transpose the weights once.
	wt := getScratch[T](len(w))
	defer putScratch(wt)
	for gi := 0; gi < p.groups; gi++ {
		wg, dst := w[gi*p.mg*ck:][:p.mg*ck], wt[gi*p.mg*ck:][:p.mg*ck]
		for m := 0; m < p.mg; m++ {
			for r, v := range wg[m*ck:][:ck] {
				dst[r*p.mg+m] = v
			}
		}
	}
	convEach(p.n, nb, workers, func(wi, n0, nc int) {
		col, buf := bs[wi].col, bs[wi].buf
		ld := nc * p.op
		for gi := 0; gi < p.groups; gi++ {
			wg := wt[gi*p.mg*ck:][:p.mg*ck]
			yg := convOutRows(p, y, gi, n0)
			ldy := p.op
			if nc > 1 {
				convGatherOut(p, buf, y, gi, n0, nc)
				yg, ldy = buf[:p.mg*ld], ld
			}
			convGemm(false, false, ck, ld, p.mg, wg, p.mg, yg, ldy, 0, col[:ck*ld], ld)
			convCol2im(p, dx, col, gi, n0, nc)
		}
	})
}

// convAdjointW sets dw = ∂⟨Conv(x, w), y⟩/∂w; dw must be zero. Each
// goroutine but the first adds into its own zeroed copy, summed into dw
// at the end.
func convAdjointW[T float](p *convPlan, x, y, dw []T) {
	if p.n == 0 {
		return
	}
	workers, nb := p.convWorkers()
	ck := p.cg * p.kp
	bs := newConvBuffers[T](p, workers, nb)
	defer releaseConvBuffers(bs)
	dws := make([][]T, workers)
	dws[0] = dw
	for i := 1; i < workers; i++ {
		dws[i] = getScratch[T](len(dw))
		clear(dws[i])
	}
	convEach(p.n, nb, workers, func(wi, n0, nc int) {
		col, buf := bs[wi].col, bs[wi].buf
		ld := nc * p.op
		for gi := 0; gi < p.groups; gi++ {
			convIm2col(p, col, x, gi, n0, nc)
			yg := convOutRows(p, y, gi, n0)
			ldy := p.op
			if nc > 1 {
				convGatherOut(p, buf, y, gi, n0, nc)
				yg, ldy = buf[:p.mg*ld], ld
			}
			convGemm(false, true, p.mg, ck, ld, yg, ldy, col[:ck*ld], ld, 1, dws[wi][gi*p.mg*ck:][:p.mg*ck], ck)
		}
	})
	for _, d := range dws[1:] {
		for i, v := range d {
			dw[i] += v
		}
		putScratch(d)
	}
}
