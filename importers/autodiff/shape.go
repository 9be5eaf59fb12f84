package autodiff

import (
	"fmt"

	"gorgonia.org/tensor"
)

// reshape gives a tensor a new shape with the same number of elements.
type reshape struct{ to tensor.Shape }

func (p reshape) String() string { return fmt.Sprintf("Reshape%v", []int(p.to)) }

func (p reshape) shape(in []tensor.Shape) (tensor.Shape, error) {
	if in[0].TotalSize() != p.to.TotalSize() {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in[0], in[0].TotalSize(), p.to)
	}
	return p.to.Clone(), nil
}

// do shares the input's data: no kernel writes into its inputs.
func (p reshape) do(in []array) (array, error) {
	out := in[0]
	out.shape = append([]int(nil), p.to...)
	return out, nil
}

func (p reshape) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	return []*Node{t.Reshape(g, in[0].Shape())}
}

// Reshape returns x with the given shape (same number of elements).
func (t *Tape) Reshape(x *Node, shape []int) *Node {
	if x != nil && sameShape(x.Shape(), shape) {
		return x
	}
	return t.apply(reshape{to: tensor.Shape(shape).Clone()}, x)
}

// transpose permutes axes: output axis i is input axis perm[i].
type transpose struct{ perm []int }

func (p transpose) String() string { return fmt.Sprintf("Transpose%v", p.perm) }

func (p transpose) shape(in []tensor.Shape) (tensor.Shape, error) {
	if len(p.perm) != len(in[0]) {
		return nil, fmt.Errorf("permutation %v for rank %d", p.perm, len(in[0]))
	}
	seen := make([]bool, len(p.perm))
	out := make(tensor.Shape, len(p.perm))
	for i, a := range p.perm {
		if a < 0 || a >= len(p.perm) || seen[a] {
			return nil, fmt.Errorf("invalid permutation %v", p.perm)
		}
		seen[a] = true
		out[i] = in[0][a]
	}
	return out, nil
}

func (p transpose) do(in []array) (array, error) { return doNew(p, in) }

func (p transpose) doInto(out array, in []array) error {
	x := in[0]
	s := out.shape
	st := Strides(x.shape)
	ps := make([]int, len(p.perm))
	for i, a := range p.perm {
		ps[i] = st[a]
	}
	if x.isF32() {
		permute(floats[float32](out), floats[float32](x), s, ps)
	} else if x.i64 != nil {
		permute(out.i64, x.i64, s, ps)
	} else {
		permute(floats[float64](out), floats[float64](x), s, ps)
	}
	return nil
}

// permute writes x read with strides ps into out of shape s, in order.
func permute[T float | int64](out, x []T, s, ps []int) {
	idx := make([]int, len(s))
	off := 0
	for i := range out {
		out[i] = x[off]
		for d := len(s) - 1; d >= 0; d-- {
			idx[d]++
			off += ps[d]
			if idx[d] < s[d] {
				break
			}
			off -= ps[d] * s[d]
			idx[d] = 0
		}
	}
}

func (p transpose) vjp(t *Tape, _ []*Node, _, g *Node) []*Node {
	inv := make([]int, len(p.perm))
	for i, a := range p.perm {
		inv[a] = i
	}
	return []*Node{t.Transpose(g, inv...)}
}

// Transpose permutes x's axes: output axis i is input axis perm[i]. No perm
// reverses the axes.
func (t *Tape) Transpose(x *Node, perm ...int) *Node {
	if x == nil {
		return t.fail(fmt.Errorf("Transpose: nil input"))
	}
	if len(perm) == 0 {
		for i := x.Dims() - 1; i >= 0; i-- {
			perm = append(perm, i)
		}
	}
	identity := true
	for i, a := range perm {
		identity = identity && a == i
	}
	if identity && len(perm) == x.Dims() {
		return x
	}
	return t.apply(transpose{perm: append([]int(nil), perm...)}, x)
}

// Strides returns the row-major element strides of shape.
func Strides(shape []int) []int {
	st := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= shape[i]
	}
	return st
}

// An IndexMap is a static linear map between flat tensors in which every
// output element copies one input element: out[i] = in[Index[i]], or 0
// where Index[i] < 0. Slicing, padding (all modes), tiling, gathering with
// constant indices and splitting are all index maps; the adjoint scatters.
type IndexMap struct {
	Name  string // describes the map in errors and graph dumps
	In    Shape
	Out   Shape
	Index []int32
}

type gatherMap struct{ m *IndexMap }

func (p gatherMap) String() string {
	return fmt.Sprintf("Gather[%s@%p]%v", p.m.Name, p.m, []int(p.m.Out))
}

func (p gatherMap) shape(in []tensor.Shape) (tensor.Shape, error) {
	if !sameShape(in[0], p.m.In) {
		return nil, fmt.Errorf("input shape %v, map expects %v", in[0], p.m.In)
	}
	return tensor.Shape(p.m.Out).Clone(), nil
}

func (p gatherMap) do(in []array) (array, error) {
	x := in[0]
	out := x.like(p.m.Out)
	switch {
	case x.isF32():
		gatherLoop(out.f32, x.f32, p.m.Index)
	case x.i64 != nil:
		gatherLoop(out.i64, x.i64, p.m.Index)
	default:
		gatherLoop(out.f64, x.f64, p.m.Index)
	}
	return out, nil
}

func gatherLoop[T float | int64](out, x []T, idx []int32) {
	for i, j := range idx {
		if j >= 0 {
			out[i] = x[j]
		}
	}
}

func (p gatherMap) vjp(t *Tape, _ []*Node, _, g *Node) []*Node {
	return []*Node{t.apply(scatterMap(p), g)}
}

// scatterMap is the adjoint of gatherMap: in[Index[i]] += out[i].
type scatterMap struct{ m *IndexMap }

func (p scatterMap) String() string {
	return fmt.Sprintf("Scatter[%s@%p]%v", p.m.Name, p.m, []int(p.m.In))
}

func (p scatterMap) shape(in []tensor.Shape) (tensor.Shape, error) {
	if !sameShape(in[0], p.m.Out) {
		return nil, fmt.Errorf("input shape %v, map expects %v", in[0], p.m.Out)
	}
	return tensor.Shape(p.m.In).Clone(), nil
}

func (p scatterMap) do(in []array) (array, error) {
	g := in[0]
	out := g.like(p.m.In)
	if g.isF32() {
		scatterLoop(out.f32, g.f32, p.m.Index)
	} else {
		scatterLoop(out.f64, g.f64, p.m.Index)
	}
	return out, nil
}

func scatterLoop[T float](out, g []T, idx []int32) {
	for i, j := range idx {
		if j >= 0 {
			out[j] += g[i]
		}
	}
}

func (p scatterMap) vjp(t *Tape, _ []*Node, _, g *Node) []*Node {
	return []*Node{t.apply(gatherMap(p), g)}
}

// Gather applies the index map m to x.
func (t *Tape) Gather(x *Node, m *IndexMap) *Node {
	if m == nil || len(m.Index) != Size(m.Out) {
		return t.fail(fmt.Errorf("Gather: malformed index map"))
	}
	return t.apply(gatherMap{m: m}, x)
}

// concat joins tensors along an axis.
type concat struct{ axis int }

func (p concat) String() string { return fmt.Sprintf("Concat(%d)", p.axis) }

func (p concat) shape(in []tensor.Shape) (tensor.Shape, error) {
	out := in[0].Clone()
	if p.axis < 0 || p.axis >= len(out) {
		return nil, fmt.Errorf("axis %d out of range for rank %d", p.axis, len(out))
	}
	for _, s := range in[1:] {
		if len(s) != len(out) {
			return nil, fmt.Errorf("ranks %d and %d differ", len(out), len(s))
		}
		for d := range s {
			if d != p.axis && s[d] != out[d] {
				return nil, fmt.Errorf("shapes %v and %v differ off axis %d", in[0], s, p.axis)
			}
		}
		out[p.axis] += s[p.axis]
	}
	return out, nil
}

func (p concat) do(in []array) (array, error) { return doNew(p, in) }

func (p concat) doInto(out array, in []array) error {
	s := out.shape
	outer := Size(s[:p.axis])
	inner := Size(s[p.axis+1:])
	off := 0
	for _, a := range in {
		w := a.shape[p.axis] * inner
		for o := 0; o < outer; o++ {
			dst := o*s[p.axis]*inner + off
			switch {
			case a.isF32():
				copy(out.f32[dst:dst+w], a.f32[o*w:(o+1)*w])
			case a.i64 != nil:
				copy(out.i64[dst:dst+w], a.i64[o*w:(o+1)*w])
			default:
				copy(out.f64[dst:dst+w], a.f64[o*w:(o+1)*w])
			}
		}
		off += w
	}
	return nil
}

func (p concat) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	out := make([]*Node, len(in))
	start := 0
	for i, x := range in {
		n := x.Shape()[p.axis]
		out[i] = t.Gather(g, SliceMap(g.Shape(), []int{p.axis}, []int{start}, []int{start + n}, []int{1}))
		start += n
	}
	return out
}

// Concat joins xs along axis (negative counts from the end).
func (t *Tape) Concat(axis int, xs ...*Node) *Node {
	if len(xs) == 0 || xs[0] == nil {
		return t.fail(fmt.Errorf("Concat: no inputs"))
	}
	if len(xs) == 1 {
		return xs[0]
	}
	r := xs[0].Dims()
	if axis < 0 {
		axis += r
	}
	return t.apply(concat{axis: axis}, xs...)
}

// SliceMap returns the index map of x[starts:ends:steps] along axes, with
// starts and ends already clamped to valid positions (ONNX Slice semantics:
// a negative step walks backwards from start, exclusive of end).
func SliceMap(in []int, axes, starts, ends, steps []int) *IndexMap {
	r := len(in)
	lo := make([]int, r)
	step := make([]int, r)
	out := Shape(in).Clone()
	for i := range step {
		step[i] = 1
	}
	for k, a := range axes {
		lo[a], step[a] = starts[k], steps[k]
		n := 0
		if steps[k] > 0 && ends[k] > starts[k] {
			n = (ends[k] - starts[k] + steps[k] - 1) / steps[k]
		} else if steps[k] < 0 && ends[k] < starts[k] {
			n = (starts[k] - ends[k] - steps[k] - 1) / -steps[k]
		}
		out[a] = n
	}
	st := Strides(in)
	m := &IndexMap{Name: "Slice", In: Shape(in).Clone(), Out: out, Index: make([]int32, Size(out))}
	ForEachIndex(out, func(i int, idx []int) {
		off := 0
		for d, v := range idx {
			off += (lo[d] + v*step[d]) * st[d]
		}
		m.Index[i] = int32(off)
	})
	return m
}

// ForEachIndex calls f with every flat position of shape and its
// multi-index, in row-major order.
func ForEachIndex(shape []int, f func(i int, idx []int)) {
	idx := make([]int, len(shape))
	n := Size(shape)
	for i := 0; i < n; i++ {
		f(i, idx)
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
}
