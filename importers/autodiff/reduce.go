package autodiff

import (
	"fmt"
	"math"
	"slices"

	"gorgonia.org/tensor"
)

// sumTo sums a tensor down to a shape it broadcasts from; broadcastTo is its
// adjoint. Each is the other's vector–Jacobian product.
type sumTo struct{ to tensor.Shape }

func (p sumTo) String() string { return fmt.Sprintf("SumTo%v", []int(p.to)) }

func (p sumTo) shape(in []tensor.Shape) (tensor.Shape, error) {
	if s, err := BroadcastShape(in[0], p.to); err != nil || !sameShape(s, in[0]) {
		return nil, fmt.Errorf("cannot sum shape %v to %v", in[0], p.to)
	}
	return p.to.Clone(), nil
}

func (p sumTo) do(in []array) (array, error) { return doNew(p, in) }

func (p sumTo) doInto(out array, in []array) error {
	x := in[0]
	if out.isF32() {
		clear(out.f32)
	} else {
		clear(out.f64)
	}
	st := BroadcastStrides(p.to, x.shape)
	if x.isF32() {
		sumLoop(floats[float32](out), floats[float32](x), x.shape, st)
	} else {
		sumLoop(floats[float64](out), floats[float64](x), x.shape, st)
	}
	return nil
}

// sumLoop adds every element of x (shape) into out at the position given by
// the broadcast strides st.
func sumLoop[T float](out, x []T, shape, st []int) {
	r := len(shape)
	if r == 0 {
		out[0] += x[0]
		return
	}
	n, ls := shape[r-1], st[r-1]
	if !slices.ContainsFunc(st, func(s int) bool { return s != 0 }) {
		out[0] = sumRows(out[0], x, n)
		return
	}
	idx := make([]int, r-1)
	o := 0
	for i := 0; i < len(x); i += n {
		row := x[i : i+n]
		if ls == 0 {
			var s T
			for _, v := range row {
				s += v
			}
			out[o] += s
		} else {
			dst := out[o : o+n]
			for j, v := range row {
				dst[j] += v
			}
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			o += st[d]
			if idx[d] < shape[d] {
				break
			}
			o -= st[d] * shape[d]
			idx[d] = 0
		}
	}
}

// sumRows returns acc plus the sums of the rows of n values of x, each
// row summed in order and the sums added to acc in row order, as sumLoop
// does row by row (the same bits); four rows go at a time, for four
// independent sums.
func sumRows[T float](acc T, x []T, n int) T {
	if len(x) == 0 {
		return acc
	}
	i := 0
	for ; i+4*n <= len(x); i += 4 * n {
		r0, r1, r2, r3 := x[i:i+n], x[i+n : i+2*n][:n], x[i+2*n : i+3*n][:n], x[i+3*n : i+4*n][:n]
		var s0, s1, s2, s3 T
		for j, v := range r0 {
			s0 += v
			s1 += r1[j]
			s2 += r2[j]
			s3 += r3[j]
		}
		acc += s0
		acc += s1
		acc += s2
		acc += s3
	}
	for ; i < len(x); i += n {
		var s T
		for _, v := range x[i : i+n] {
			s += v
		}
		acc += s
	}
	return acc
}

func (p sumTo) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	return []*Node{t.BroadcastTo(g, in[0].Shape())}
}

type broadcastTo struct{ to tensor.Shape }

func (p broadcastTo) String() string { return fmt.Sprintf("BroadcastTo%v", []int(p.to)) }

func (p broadcastTo) shape(in []tensor.Shape) (tensor.Shape, error) {
	if s, err := BroadcastShape(in[0], p.to); err != nil || !sameShape(s, p.to) {
		return nil, fmt.Errorf("cannot broadcast shape %v to %v", in[0], p.to)
	}
	return p.to.Clone(), nil
}

func (p broadcastTo) do(in []array) (array, error) { return doNew(p, in) }

func (p broadcastTo) doInto(out array, in []array) error {
	x := in[0]
	if trailingBlock(x.shape, p.to) {
		// A bias row (MatMulAdd's c): one pass over x, then copies.
		if x.isF32() {
			repeatBlock(floats[float32](out), floats[float32](x))
		} else {
			repeatBlock(floats[float64](out), floats[float64](x))
		}
		return nil
	}
	sx := BroadcastStrides(x.shape, p.to)
	zero := make([]int, len(p.to))
	if x.isF32() {
		z := make([]float32, 1)
		binaryLoop(bAdd, floats[float32](out), floats[float32](x), z, p.to, sx, zero)
	} else {
		z := make([]float64, 1)
		binaryLoop(bAdd, floats[float64](out), floats[float64](x), z, p.to, sx, zero)
	}
	return nil
}

// trailingBlock reports whether from, without its leading 1s, is a
// non-empty suffix of to: broadcasting repeats from's values as one block.
func trailingBlock(from, to []int) bool {
	for len(from) > 0 && from[0] == 1 {
		from = from[1:]
	}
	if len(from) == 0 || len(from) > len(to) {
		return false
	}
	return slices.Equal(from, to[len(to)-len(from):])
}

// repeatBlock sets out to x + 0 (the bits binaryLoop's broadcast sum
// gives: −0 becomes +0) repeated over its length, a multiple of len(x).
func repeatBlock[T float](out, x []T) {
	head := out[:len(x)]
	for j, v := range x {
		head[j] = v + 0
	}
	for o := len(x); o < len(out); o += len(x) {
		copy(out[o:o+len(x)], head)
	}
}

func (p broadcastTo) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	return []*Node{t.SumTo(g, in[0].Shape())}
}

// SumTo sums x down to shape, which x must broadcast from (numpy rules).
func (t *Tape) SumTo(x *Node, shape []int) *Node {
	if x != nil && sameShape(x.Shape(), shape) {
		return x
	}
	return t.apply(sumTo{to: tensor.Shape(shape).Clone()}, x)
}

// BroadcastTo broadcasts x to shape (numpy rules).
func (t *Tape) BroadcastTo(x *Node, shape []int) *Node {
	if x != nil && sameShape(x.Shape(), shape) {
		return x
	}
	return t.apply(broadcastTo{to: tensor.Shape(shape).Clone()}, x)
}

// Sum returns the sum of all elements of x, a scalar.
func (t *Tape) Sum(x *Node) *Node {
	if x == nil {
		return t.fail(fmt.Errorf("Sum: nil input"))
	}
	return t.SumAxes(x, nil, false)
}

// Mean returns the mean of all elements of x, a scalar.
func (t *Tape) Mean(x *Node) *Node {
	if x == nil {
		return t.fail(fmt.Errorf("Mean: nil input"))
	}
	return t.Scale(t.Sum(x), 1/float64(Size(x.Shape())))
}

// SumAxes sums x over axes (all axes when axes is empty), keeping them as
// size-1 axes when keep is set. Negative axes count from the end.
func (t *Tape) SumAxes(x *Node, axes []int, keep bool) *Node {
	if x == nil {
		return t.fail(fmt.Errorf("SumAxes: nil input"))
	}
	kept, dropped, err := reducedShapes(x.Shape(), axes)
	if err != nil {
		return t.fail(fmt.Errorf("SumAxes: %w", err))
	}
	s := t.SumTo(x, kept)
	if keep {
		return s
	}
	return t.Reshape(s, dropped)
}

// MeanAxes averages x over axes like SumAxes.
func (t *Tape) MeanAxes(x *Node, axes []int, keep bool) *Node {
	if x == nil {
		return t.fail(fmt.Errorf("MeanAxes: nil input"))
	}
	s := t.SumAxes(x, axes, keep)
	if s == nil {
		return nil
	}
	return t.Scale(s, float64(Size(s.Shape()))/float64(Size(x.Shape())))
}

// reducedShapes returns x's shape with axes set to 1 (kept) and removed
// (dropped); no axes means all.
func reducedShapes(shape []int, axes []int) (kept, dropped tensor.Shape, err error) {
	r := len(shape)
	red := make([]bool, r)
	if len(axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		if a < -r || a >= r {
			return nil, nil, fmt.Errorf("axis %d out of range for rank %d", a, r)
		}
		red[(a+r)%r] = true
	}
	kept = make(tensor.Shape, 0, r)
	dropped = make(tensor.Shape, 0, r)
	for i, d := range shape {
		if red[i] {
			kept = append(kept, 1)
		} else {
			kept = append(kept, d)
			dropped = append(dropped, d)
		}
	}
	return kept, dropped, nil
}

// maxTo takes the maximum over the axes along which shape to is 1; it has
// no gradient (it serves as a stabilising shift, e.g. in softmax).
type maxTo struct {
	noGrad
	to tensor.Shape
}

func (p maxTo) String() string                                { return fmt.Sprintf("MaxTo%v", []int(p.to)) }
func (p maxTo) shape(in []tensor.Shape) (tensor.Shape, error) { return sumTo{to: p.to}.shape(in) }

func (p maxTo) do(in []array) (array, error) {
	x := in[0]
	out := x.like(p.to)
	for i := 0; i < out.len(); i++ {
		out.set(i, negInf)
	}
	st := BroadcastStrides(p.to, x.shape)
	idx := make([]int, len(x.shape))
	for i := 0; i < x.len(); i++ {
		o := 0
		for d := range idx {
			o += idx[d] * st[d]
		}
		if v := x.at(i); v > out.at(o) {
			out.set(o, v)
		}
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < x.shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// MaxAxes returns the maximum of x over axes, keeping them as size-1 axes.
// It is not differentiated: use it only where the result cancels out.
func (t *Tape) MaxAxes(x *Node, axes []int) *Node {
	if x == nil {
		return t.fail(fmt.Errorf("MaxAxes: nil input"))
	}
	kept, _, err := reducedShapes(x.Shape(), axes)
	if err != nil {
		return t.fail(fmt.Errorf("MaxAxes: %w", err))
	}
	return t.apply(maxTo{to: kept}, x)
}

var negInf = math.Inf(-1)
