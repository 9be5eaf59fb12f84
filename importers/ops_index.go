package importers

import (
	"errors"
	"fmt"
	"math"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Indexing ops select, repeat or pad elements: on nodes they become index
// maps (autodiff.IndexMap, whose adjoint scatters), or the gather prim for
// indices known only at run time; on constants they are computed at build
// time.

// lowerSlice reads starts, ends, axes (and steps) from attributes before
// opset 10 and from inputs from then on, and clamps them as ONNX does.
func lowerSlice(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	s := in[0].shape()
	var starts, ends, axes, steps []int
	if b.opset < 10 {
		starts, ends, axes = attrInts(n, "starts"), attrInts(n, "ends"), attrInts(n, "axes")
	} else {
		read := func(k int, what string) ([]int, error) {
			if k >= len(in) || !in[k].ok() {
				return nil, nil
			}
			return constInts(in[k], what)
		}
		var err error
		if starts, err = read(1, "starts"); err != nil {
			return nil, err
		}
		if ends, err = read(2, "ends"); err != nil {
			return nil, err
		}
		if axes, err = read(3, "axes"); err != nil {
			return nil, err
		}
		if steps, err = read(4, "steps"); err != nil {
			return nil, err
		}
	}
	if len(ends) != len(starts) {
		return nil, fmt.Errorf("%d starts but %d ends", len(starts), len(ends))
	}
	if axes == nil {
		for k := range starts {
			axes = append(axes, k)
		}
	}
	if steps == nil {
		steps = ones(len(starts))
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, fmt.Errorf("starts, ends, axes and steps of lengths %d, %d, %d, %d", len(starts), len(ends), len(axes), len(steps))
	}
	axes, err := distinctAxes(axes, len(s))
	if err != nil {
		return nil, err
	}
	for k, a := range axes {
		d, st := s[a], steps[k]
		lo, hi := starts[k], ends[k]
		if lo < 0 {
			lo += d
		}
		if hi < 0 {
			hi += d
		}
		switch {
		case st > 0:
			lo, hi = clamp(lo, 0, d), clamp(hi, 0, d)
		case st < 0:
			lo, hi = clamp(lo, 0, d-1), clamp(hi, -1, d-1)
		default:
			return nil, errors.New("slice step 0")
		}
		starts[k], ends[k] = lo, hi
	}
	return []value{gatherVal(b, in[0], autodiff.SliceMap(s, axes, starts, ends, steps))}, nil
}

func clamp(v, lo, hi int) int { return min(max(v, lo), hi) }

// lowerTile repeats the input along every axis.
func lowerTile(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	s := in[0].shape()
	if in[1].c == nil {
		return nil, errors.New("repeats must be known when the graph is built")
	}
	reps := in[1].c.ints()
	if len(reps) != len(s) {
		return nil, fmt.Errorf("%d repeats for rank %d", len(reps), len(s))
	}
	full := make([]int64, len(s))
	for k, r := range reps {
		if r < 1 {
			return nil, fmt.Errorf("repeats %v: only positive repeats are supported", reps)
		}
		full[k] = int64(s[k]) * r
		if full[k]/r != int64(s[k]) {
			full[k] = math.MaxInt64
		}
	}
	if err := limit("output", full, b.maxElems); err != nil {
		return nil, err
	}
	out := toInts(full)
	st := autodiff.Strides(s)
	m := &autodiff.IndexMap{Name: "Tile", In: autodiff.Shape(s).Clone(), Out: out, Index: make([]int32, autodiff.Size(out))}
	autodiff.ForEachIndex(out, func(i int, idx []int) {
		off := 0
		for d, v := range idx {
			off += (v % s[d]) * st[d]
		}
		m.Index[i] = int32(off)
	})
	return []value{gatherVal(b, in[0], m)}, nil
}

var padModes = map[string]bool{"constant": true, "reflect": true, "edge": true, "wrap": true}

func checkPad(n *onnx.NodeProto, opset int64, _ []valueInfo) error {
	if m := onnx.AttrString(n, "mode", "constant"); !padModes[m] || m == "wrap" && opset < 19 {
		return fmt.Errorf("pad mode %q is not supported", m)
	}
	return nil
}

// lowerPad pads with a constant, the reflection, the edge value or (from
// opset 19) the wrapped-around input. Pads come from the paddings (opset
// 1) or pads (opsets 2–10) attribute or from an input, for every axis or,
// from opset 18, for the axes input; a negative pad crops.
func lowerPad(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	mode := onnx.AttrString(n, "mode", "constant")
	var pads []int64
	var fill float64
	switch {
	case b.opset < 2:
		pads, fill = onnx.AttrInts(n, "paddings", nil), attrFloat(n, "value", 0)
	case b.opset < 11:
		pads, fill = onnx.AttrInts(n, "pads", nil), attrFloat(n, "value", 0)
	default:
		if len(in) < 2 || in[1].c == nil {
			return nil, errors.New("no pads input known when the graph is built")
		}
		pads = in[1].c.ints()
		if len(in) > 2 && in[2].ok() {
			if in[2].c == nil || in[2].c.len() != 1 {
				return nil, errors.New("constant_value must be a scalar known when the graph is built")
			}
			fill = in[2].c.float(0)
		}
		if len(in) > 3 && in[3].ok() {
			var err error
			if pads, err = padsForAxes(pads, in[3], in[0].rank()); err != nil {
				return nil, err
			}
		}
	}
	r := in[0].rank()
	if len(pads) != 2*r {
		return nil, fmt.Errorf("%d pads for rank %d", len(pads), r)
	}
	full := make([]int64, r)
	for k, d := range in[0].shape() {
		full[k] = addSat(addSat(int64(d), pads[k]), pads[r+k])
	}
	if err := b.limit64("padded output", full); err != nil {
		return nil, err
	}
	m, err := padMap(in[0].shape(), toInts(pads), mode)
	if err != nil {
		return nil, err
	}
	y := b.t.Gather(b.float(in[0]), m)
	if mode == "constant" && fill != 0 {
		mask := make([]float64, len(m.Index))
		for k, j := range m.Index {
			if j < 0 {
				mask[k] = fill
			}
		}
		y = b.t.Add(y, b.t.Const(mask, m.Out...))
	}
	return []value{nodeVal(y)}, nil
}

// padsForAxes spreads pads given for the axes input (begins, then ends)
// over all axes of a tensor of rank r.
func padsForAxes(pads []int64, axesIn value, r int) ([]int64, error) {
	axes, err := constInts(axesIn, "axes")
	if err != nil {
		return nil, err
	}
	if len(pads) != 2*len(axes) {
		return nil, fmt.Errorf("%d pads for %d axes", len(pads), len(axes))
	}
	if axes, err = distinctAxes(axes, r); err != nil {
		return nil, err
	}
	full := make([]int64, 2*r)
	for i, k := range axes {
		full[k], full[r+k] = pads[i], pads[len(axes)+i]
	}
	return full, nil
}

// padMap returns the index map of padding a tensor of the given shape by
// pads (all begins, then all ends) in mode; constant padding leaves
// entries empty (zero).
func padMap(shape, pads []int, mode string) (*autodiff.IndexMap, error) {
	r := len(shape)
	if len(pads) != 2*r {
		return nil, fmt.Errorf("%d pads for rank %d", len(pads), r)
	}
	out := make([]int, r)
	for k, d := range shape {
		out[k] = d + pads[k] + pads[r+k]
		if out[k] <= 0 {
			return nil, fmt.Errorf("pads %v leave no elements of shape %v", pads, shape)
		}
		if mode == "reflect" && d == 1 && (pads[k] > 0 || pads[r+k] > 0) {
			return nil, fmt.Errorf("cannot reflect-pad axis %d of size 1", k)
		}
	}
	st := autodiff.Strides(shape)
	m := &autodiff.IndexMap{Name: "Pad-" + mode, In: autodiff.Shape(shape).Clone(), Out: out, Index: make([]int32, autodiff.Size(out))}
	autodiff.ForEachIndex(out, func(i int, idx []int) {
		off := 0
		for k, v := range idx {
			src, d := v-pads[k], shape[k]
			if src < 0 || src >= d {
				switch mode {
				case "edge":
					src = clamp(src, 0, d-1)
				case "reflect":
					p := 2 * (d - 1)
					src = ((src % p) + p) % p
					if src >= d {
						src = p - src
					}
				case "wrap":
					src = ((src % d) + d) % d
				default:
					off = -1
				}
			}
			if off < 0 {
				break
			}
			off += src * st[k]
		}
		m.Index[i] = int32(off)
	})
	return m, nil
}

func checkGather(n *onnx.NodeProto, _ int64, in []valueInfo) error {
	if len(in) > 1 && !in[1].isInt {
		return errors.New("indices must be integers")
	}
	return nil
}

// lowerGather selects along axis. Constant indices make an index map (and
// fold on constant data); indices computed at run time (an int64 graph
// input, as in an embedding lookup) use the gather prim.
func lowerGather(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	x, idx := in[0], in[1]
	s := x.shape()
	ax, err := axis(attrInt(n, "axis", 0), len(s))
	if err != nil {
		return nil, err
	}
	if idx.c == nil {
		return []value{nodeVal(b.t.GatherAxis(b.node(x), idx.n, ax))}, nil
	}
	is := idx.c.ints()
	d := s[ax]
	for k, v := range is {
		if v < -int64(d) || v >= int64(d) {
			return nil, fmt.Errorf("index %d out of range for dimension %d of size %d", v, ax, d)
		}
		if v < 0 {
			is[k] += int64(d)
		}
	}
	out := append(append(append([]int{}, s[:ax]...), idx.c.shape...), s[ax+1:]...)
	if err := b.limit("output", out); err != nil {
		return nil, err
	}
	outer, inner := autodiff.Size(s[:ax]), autodiff.Size(s[ax+1:])
	m := &autodiff.IndexMap{Name: "Gather", In: autodiff.Shape(s).Clone(), Out: out, Index: make([]int32, autodiff.Size(out))}
	p := 0
	for o := 0; o < outer; o++ {
		for _, v := range is {
			base := (o*d + int(v)) * inner
			for j := 0; j < inner; j++ {
				m.Index[p] = int32(base + j)
				p++
			}
		}
	}
	return []value{gatherVal(b, x, m)}, nil
}

// lowerWhere selects from x where the constant condition holds and from y
// elsewhere. On nodes this is an index map over the concatenation of both
// operands, so that infinities in the branch not taken do no harm.
func lowerWhere(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	cond, x, y := in[0], in[1], in[2]
	if cond.c == nil {
		return nil, errors.New("the condition must be known when the graph is built")
	}
	s1, err := autodiff.BroadcastShape(cond.shape(), x.shape())
	if err != nil {
		return nil, err
	}
	s, err := autodiff.BroadcastShape(s1, y.shape())
	if err != nil {
		return nil, err
	}
	if err := b.limit("output", s); err != nil {
		return nil, err
	}
	sc, sx, sy := autodiff.BroadcastStrides(cond.shape(), s), autodiff.BroadcastStrides(x.shape(), s), autodiff.BroadcastStrides(y.shape(), s)
	nx, ny := autodiff.Size(x.shape()), autodiff.Size(y.shape())
	m := &autodiff.IndexMap{Name: "Where", In: autodiff.Shape{nx + ny}, Out: s, Index: make([]int32, autodiff.Size(s))}
	autodiff.ForEachIndex(s, func(i int, idx []int) {
		ic, ix, iy := 0, 0, 0
		for d, v := range idx {
			ic += v * sc[d]
			ix += v * sx[d]
			iy += v * sy[d]
		}
		if cond.c.int(ic) != 0 {
			m.Index[i] = int32(ix)
		} else {
			m.Index[i] = int32(nx + iy)
		}
	})
	if x.c != nil && y.c != nil {
		both := x.c.floats()
		isInt := x.c.isInt && y.c.isInt
		cat := &constant{shape: []int{nx + ny}, isInt: isInt}
		if isInt {
			cat.i = append(append([]int64{}, x.c.i...), y.c.i...)
		} else {
			cat.f = append(both, y.c.floats()...)
		}
		return constVals(cat.gather(m)), nil
	}
	conv := b.float
	if x.isInt() && y.isInt() {
		conv = b.node
	}
	xn := b.t.Reshape(conv(x), []int{nx})
	yn := b.t.Reshape(conv(y), []int{ny})
	return []value{nodeVal(b.t.Gather(b.t.Concat(0, xn, yn), m))}, nil
}

// lowerExpand broadcasts the input to the shape input as numpy does in
// both directions: each output dimension is the larger of the pair.
func lowerExpand(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	x := in[0]
	if in[1].c == nil {
		return nil, errors.New("shape must be known when the graph is built")
	}
	raw := in[1].c.ints()
	for _, d := range raw {
		if d < 1 {
			return nil, fmt.Errorf("shape %v: only positive dimensions are supported", raw)
		}
	}
	if err := b.limit64("shape", raw); err != nil {
		return nil, err
	}
	s, err := autodiff.BroadcastShape(x.shape(), toInts(raw))
	if err != nil {
		return nil, err
	}
	if err := b.limit("output", s); err != nil {
		return nil, err
	}
	lifted := append(ones(len(s)-x.rank()), x.shape()...)
	if x.c != nil {
		st := autodiff.BroadcastStrides(lifted, s)
		m := &autodiff.IndexMap{Name: "Expand", In: autodiff.Shape(x.shape()).Clone(), Out: autodiff.Shape(s).Clone(), Index: make([]int32, autodiff.Size(s))}
		autodiff.ForEachIndex(s, func(i int, idx []int) {
			off := 0
			for d, v := range idx {
				off += v * st[d]
			}
			m.Index[i] = int32(off)
		})
		return []value{gatherVal(b, x, m)}, nil
	}
	return []value{nodeVal(b.t.BroadcastTo(b.t.Reshape(x.n, lifted), s))}, nil
}
