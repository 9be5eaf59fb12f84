package importers

import (
	"errors"
	"fmt"
	"math"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Structural ops move elements without arithmetic. On nodes they are
// reshapes, transposes, concatenations or index maps (whose adjoint
// scatters); on constants they are computed at build time, which is how
// the shape arithmetic of PyTorch exports (x.view(x.size(0), -1) becomes
// Shape → Gather → Unsqueeze → Concat → Reshape) disappears: shapes are
// fixed once the batch size is.

// tensor returns a copy of c as a tensor, for the kernels.
func (c *constant) tensor() autodiff.Tensor {
	if c.isInt {
		return autodiff.NewTensor(c.shape, append([]int64{}, c.i...))
	}
	return autodiff.NewTensor(c.shape, append([]float64{}, c.f...))
}

func tensorConstant(v autodiff.Tensor) *constant {
	if v.Dtype() == autodiff.Int64 {
		return intConst(v.Shape(), v.Int64s())
	}
	return floatConst(v.Shape(), v.Float64s())
}

// gatherVal applies an index map to a node or a constant.
func gatherVal(b *builder, v value, m *autodiff.IndexMap) value {
	if v.c != nil {
		return constVal(v.c.gather(m))
	}
	return nodeVal(b.t.Gather(v.n, m))
}

// tensorConst converts an ONNX tensor to a constant: floating-point types
// to float64, integer and boolean types to int64.
func tensorConst(tp *onnx.TensorProto) (*constant, error) {
	switch onnx.DataType(tp.GetDataType()) {
	case onnx.TensorProto_FLOAT, onnx.TensorProto_DOUBLE, onnx.TensorProto_FLOAT16, onnx.TensorProto_BFLOAT16:
		f, shape, err := onnx.TensorFloat64(tp)
		if err != nil {
			return nil, err
		}
		return floatConst(shape, f), nil
	}
	i, shape, err := onnx.TensorInt64(tp)
	if err != nil {
		return nil, err
	}
	return intConst(shape, i), nil
}

func lowerIdentity(_ *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	return in[:1], nil
}

// lowerDropout is the identity: dropout only acts in training mode, which
// is random and so not part of an energy function. The optional mask
// output is all ones (true).
func lowerDropout(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	if len(in) > 2 && in[2].ok() && in[2].c != nil && in[2].c.len() == 1 && in[2].c.int(0) != 0 {
		return nil, errors.New("training_mode is true: dropout in training mode is random, which is not supported")
	}
	out := []value{in[0], {}}
	if b.wants(n, 1) {
		m := make([]int64, autodiff.Size(in[0].shape()))
		for k := range m {
			m[k] = 1
		}
		out[1] = constVal(intConst(in[0].shape(), m))
	}
	return out, nil
}

// constantAttrs are the attributes a Constant node may hold its value in.
var constantAttrs = []string{"value", "value_float", "value_floats", "value_int", "value_ints"}

func checkConstant(n *onnx.NodeProto, _ int64, _ []valueInfo) error {
	for _, a := range constantAttrs {
		if onnx.HasAttr(n, a) {
			if a == "value" {
				tp := onnx.AttrTensor(n, "value")
				if tp == nil {
					return errors.New("attribute value is not a tensor")
				}
				if _, err := tensorConst(tp); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return errors.New("only value, value_float(s) and value_int(s) constants are supported")
}

func lowerConstant(_ *builder, n *onnx.NodeProto, _ []value) ([]value, error) {
	switch {
	case onnx.HasAttr(n, "value"):
		tp := onnx.AttrTensor(n, "value")
		if tp == nil {
			return nil, errors.New("attribute value is not a tensor")
		}
		c, err := tensorConst(tp)
		if err != nil {
			return nil, err
		}
		return constVals(c), nil
	case onnx.HasAttr(n, "value_float"):
		return constVals(floatConst(nil, []float64{attrFloat(n, "value_float", 0)})), nil
	case onnx.HasAttr(n, "value_floats"):
		fs := onnx.AttrFloats(n, "value_floats", nil)
		f := make([]float64, len(fs))
		for k, v := range fs {
			f[k] = float64(v)
		}
		return constVals(floatConst([]int{len(f)}, f)), nil
	case onnx.HasAttr(n, "value_int"):
		return constVals(intConst(nil, []int64{onnx.AttrInt(n, "value_int", 0)})), nil
	case onnx.HasAttr(n, "value_ints"):
		is := append([]int64{}, onnx.AttrInts(n, "value_ints", nil)...)
		return constVals(intConst([]int{len(is)}, is)), nil
	}
	return nil, errors.New("no value attribute")
}

// lowerReshape reads the target shape from the shape attribute (before
// opset 5) or input: 0 copies the input's dimension, −1 is inferred.
func lowerReshape(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	x := in[0]
	var spec []int
	if b.opset < 5 {
		spec = attrInts(n, "shape")
	} else {
		var err error
		if len(in) < 2 || !in[1].ok() {
			return nil, errors.New("no shape input")
		}
		if spec, err = constInts(in[1], "shape"); err != nil {
			return nil, err
		}
	}
	allowZero := attrInt(n, "allowzero", 0) != 0
	xs := x.shape()
	out := make([]int, len(spec))
	infer := -1
	known := 1
	for k, d := range spec {
		switch {
		case d == 0 && !allowZero:
			if k >= len(xs) {
				return nil, fmt.Errorf("shape %v copies dimension %d of a rank-%d input", spec, k, len(xs))
			}
			out[k] = xs[k]
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", spec)
			}
			infer = k
			continue
		case d <= 0:
			return nil, fmt.Errorf("shape %v: dimension %d is not supported", spec, d)
		default:
			out[k] = d
		}
		known *= out[k]
	}
	total := autodiff.Size(xs)
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", xs, spec)
		}
		out[infer] = total / known
	}
	if autodiff.Size(out) != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", xs, total, out)
	}
	return []value{reshapeVal(b, x, out)}, nil
}

func lowerFlatten(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	s := in[0].shape()
	a := attrInt(n, "axis", 1)
	if a < 0 {
		a += len(s)
	}
	if a < 0 || a > len(s) {
		return nil, fmt.Errorf("axis %d out of range for rank %d", attrInt(n, "axis", 1), len(s))
	}
	return []value{reshapeVal(b, in[0], []int{autodiff.Size(s[:a]), autodiff.Size(s[a:])})}, nil
}

// axesOf returns the axes of Squeeze and Unsqueeze: an attribute before
// opset 13, an optional input from then on.
func axesOf(b *builder, n *onnx.NodeProto, in []value) ([]int, error) {
	if b.opset < 13 {
		return attrInts(n, "axes"), nil
	}
	if len(in) < 2 || !in[1].ok() {
		return nil, nil
	}
	return constInts(in[1], "axes")
}

func lowerSqueeze(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	s := in[0].shape()
	axes, err := axesOf(b, n, in)
	if err != nil {
		return nil, err
	}
	drop := make([]bool, len(s))
	if len(axes) == 0 {
		for k, d := range s {
			drop[k] = d == 1
		}
	}
	for _, a := range axes {
		k, err := axis(a, len(s))
		if err != nil {
			return nil, err
		}
		if s[k] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of shape %v", a, s)
		}
		drop[k] = true
	}
	var out []int
	for k, d := range s {
		if !drop[k] {
			out = append(out, d)
		}
	}
	return []value{reshapeVal(b, in[0], out)}, nil
}

func lowerUnsqueeze(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	s := in[0].shape()
	axes, err := axesOf(b, n, in)
	if err != nil {
		return nil, err
	}
	r := len(s) + len(axes)
	add := make([]bool, r)
	for _, a := range axes {
		k, err := axis(a, r)
		if err != nil {
			return nil, err
		}
		if add[k] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		add[k] = true
	}
	out := make([]int, r)
	j := 0
	for k := range out {
		if add[k] {
			out[k] = 1
		} else {
			out[k] = s[j]
			j++
		}
	}
	return []value{reshapeVal(b, in[0], out)}, nil
}

func lowerTranspose(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	r := in[0].rank()
	perm := attrInts(n, "perm")
	if perm == nil {
		for k := r - 1; k >= 0; k-- {
			perm = append(perm, k)
		}
	}
	if c := in[0].c; c != nil {
		a, err := autodiff.Transposed(c.tensor(), perm)
		if err != nil {
			return nil, err
		}
		return constVals(tensorConstant(a)), nil
	}
	if len(perm) != r {
		return nil, fmt.Errorf("permutation %v for rank %d", perm, r)
	}
	return []value{nodeVal(b.t.Transpose(in[0].n, perm...))}, nil
}

func lowerConcat(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	var vs []value
	allConst, allInt := true, true
	for _, v := range in {
		if !v.ok() {
			continue
		}
		vs = append(vs, v)
		allConst = allConst && v.c != nil
		allInt = allInt && v.isInt()
	}
	if len(vs) == 0 {
		return nil, errors.New("no inputs")
	}
	r := vs[0].rank()
	ax, err := axis(attrInt(n, "axis", 1), r)
	if err != nil {
		return nil, err
	}
	if allConst {
		as := make([]autodiff.Tensor, len(vs))
		for k, v := range vs {
			if v.c.isInt != allInt {
				// Mixed integer and float constants: concatenate as floats.
				v = constVal(floatConst(v.c.shape, v.c.floats()))
			}
			as[k] = v.c.tensor()
		}
		a, err := autodiff.Concatenated(ax, as...)
		if err != nil {
			return nil, err
		}
		return constVals(tensorConstant(a)), nil
	}
	nodes := make([]*autodiff.Node, len(vs))
	for k, v := range vs {
		if allInt {
			nodes[k] = b.node(v)
		} else {
			nodes[k] = b.float(v)
		}
	}
	return []value{nodeVal(b.t.Concat(ax, nodes...))}, nil
}

// lowerSplit splits along axis into parts given by the split attribute
// (before opset 13) or input, or into equal parts.
func lowerSplit(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	s := in[0].shape()
	ax, err := axis(attrInt(n, "axis", 0), len(s))
	if err != nil {
		return nil, err
	}
	parts := attrInts(n, "split")
	if b.opset >= 13 {
		parts = nil
		if len(in) > 1 && in[1].ok() {
			if parts, err = constInts(in[1], "split"); err != nil {
				return nil, err
			}
		}
	}
	k := len(n.GetOutput())
	if parts == nil {
		if s[ax]%k != 0 {
			return nil, fmt.Errorf("cannot split dimension %d of size %d into %d equal parts", ax, s[ax], k)
		}
		parts = make([]int, k)
		for i := range parts {
			parts[i] = s[ax] / k
		}
	}
	if len(parts) != k {
		return nil, fmt.Errorf("%d split sizes for %d outputs", len(parts), k)
	}
	out := make([]value, k)
	start := 0
	for i, p := range parts {
		if p < 0 || start+p > s[ax] {
			return nil, fmt.Errorf("split sizes %v exceed dimension %d of size %d", parts, ax, s[ax])
		}
		out[i] = gatherVal(b, in[0], autodiff.SliceMap(s, []int{ax}, []int{start}, []int{start + p}, []int{1}))
		start += p
	}
	if start != s[ax] {
		return nil, fmt.Errorf("split sizes %v do not add up to dimension %d of size %d", parts, ax, s[ax])
	}
	return out, nil
}

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
	seen := make([]bool, len(s))
	for k := range axes {
		a, err := axis(axes[k], len(s))
		if err != nil {
			return nil, err
		}
		if seen[a] {
			return nil, fmt.Errorf("axis %d repeated", axes[k])
		}
		seen[a] = true
		axes[k] = a
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
	reps, err := constInts(in[1], "repeats")
	if err != nil {
		return nil, err
	}
	if len(reps) != len(s) {
		return nil, fmt.Errorf("%d repeats for rank %d", len(reps), len(s))
	}
	out := make([]int, len(s))
	for k, r := range reps {
		if r < 1 {
			return nil, fmt.Errorf("repeats %v: only positive repeats are supported", reps)
		}
		out[k] = s[k] * r
	}
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

var padModes = map[string]bool{"constant": true, "reflect": true, "edge": true}

func checkPad(n *onnx.NodeProto, _ int64, _ []valueInfo) error {
	if m := onnx.AttrString(n, "mode", "constant"); !padModes[m] {
		return fmt.Errorf("pad mode %q is not supported", m)
	}
	return nil
}

// lowerPad pads with a constant, the reflection or the edge value. Pads
// come from the paddings (opset 1) or pads (opsets 2–10) attribute or from
// an input; a negative pad crops.
func lowerPad(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	mode := onnx.AttrString(n, "mode", "constant")
	var pads []int
	var fill float64
	switch {
	case b.opset < 2:
		pads, fill = attrInts(n, "paddings"), attrFloat(n, "value", 0)
	case b.opset < 11:
		pads, fill = attrInts(n, "pads"), attrFloat(n, "value", 0)
	default:
		var err error
		if len(in) < 2 || !in[1].ok() {
			return nil, errors.New("no pads input")
		}
		if pads, err = constInts(in[1], "pads"); err != nil {
			return nil, err
		}
		if len(in) > 2 && in[2].ok() {
			if in[2].c == nil || in[2].c.len() != 1 {
				return nil, errors.New("constant_value must be a scalar known when the graph is built")
			}
			fill = in[2].c.float(0)
		}
	}
	m, err := padMap(in[0].shape(), pads, mode)
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

// lowerShape returns the input's shape, known at build time (opset 15
// adds start and end).
func lowerShape(_ *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	s := in[0].shape()
	r := len(s)
	lo, hi := attrInt(n, "start", 0), attrInt(n, "end", r)
	if lo < 0 {
		lo += r
	}
	if hi < 0 {
		hi += r
	}
	lo, hi = clamp(lo, 0, r), clamp(hi, 0, r)
	out := []int64{}
	for k := lo; k < hi; k++ {
		out = append(out, int64(s[k]))
	}
	return constVals(intConst([]int{len(out)}, out)), nil
}

// castKind classifies a Cast target: "float", "int", "bool" or "" for an
// unsupported type.
func castKind(to int64) string {
	switch onnx.DataType(to) {
	case onnx.TensorProto_FLOAT, onnx.TensorProto_DOUBLE:
		return "float"
	case onnx.TensorProto_INT8, onnx.TensorProto_INT16, onnx.TensorProto_INT32, onnx.TensorProto_INT64,
		onnx.TensorProto_UINT8, onnx.TensorProto_UINT16, onnx.TensorProto_UINT32, onnx.TensorProto_UINT64:
		return "int"
	case onnx.TensorProto_BOOL:
		return "bool"
	}
	return ""
}

func checkCast(n *onnx.NodeProto, _ int64, in []valueInfo) error {
	to := onnx.AttrInt(n, "to", 0)
	k := castKind(to)
	switch {
	case k == "":
		return fmt.Errorf("cast to %s is not supported", elemName(onnx.DataType(to)))
	case in[0].isConst, k == "float", k == "int" && in[0].isInt:
		return nil
	}
	return fmt.Errorf("cast of a computed %s value to %s is not supported", map[bool]string{true: "integer", false: "floating-point"}[in[0].isInt], elemName(onnx.DataType(to)))
}

func lowerCast(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	to := onnx.AttrInt(n, "to", 0)
	x := in[0]
	kind := castKind(to)
	if c := x.c; c != nil {
		switch kind {
		case "float":
			f := c.floats()
			if onnx.DataType(to) == onnx.TensorProto_FLOAT {
				for k, v := range f {
					f[k] = float64(float32(v))
				}
			}
			return constVals(floatConst(c.shape, f)), nil
		case "int", "bool":
			is := make([]int64, c.len())
			for k := range is {
				v := c.float(k)
				if c.isInt {
					is[k] = c.i[k]
				} else {
					is[k] = int64(math.Trunc(v))
				}
				if kind == "bool" {
					is[k] = int64(boolToInt(v != 0))
				}
			}
			return constVals(intConst(c.shape, is)), nil
		}
	}
	switch {
	case kind == "float":
		return []value{nodeVal(b.float(x))}, nil
	case kind == "int" && x.isInt():
		return in[:1], nil
	}
	return nil, fmt.Errorf("cast of a computed value of type %v to %s is not supported", x.n.Dtype(), elemName(onnx.DataType(to)))
}

func boolToInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

func lowerRange(_ *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	for k := 0; k < 3; k++ {
		if in[k].c == nil || in[k].c.len() != 1 {
			return nil, errors.New("start, limit and delta must be scalars")
		}
	}
	start, limit, delta := in[0].c, in[1].c, in[2].c
	if delta.float(0) == 0 {
		return nil, errors.New("delta is 0")
	}
	cnt := max(int(math.Ceil((limit.float(0)-start.float(0))/delta.float(0))), 0)
	if start.isInt && limit.isInt && delta.isInt {
		out := make([]int64, cnt)
		for k := range out {
			out[k] = start.i[0] + int64(k)*delta.i[0]
		}
		return constVals(intConst([]int{cnt}, out)), nil
	}
	out := make([]float64, cnt)
	for k := range out {
		out[k] = start.float(0) + float64(k)*delta.float(0)
	}
	return constVals(floatConst([]int{cnt}, out)), nil
}

func lowerConstantOfShape(_ *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	shape, err := constInts(in[0], "shape")
	if err != nil {
		return nil, err
	}
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("shape %v has a negative dimension", shape)
		}
	}
	fill := floatConst(nil, []float64{0})
	if tp := onnx.AttrTensor(n, "value"); tp != nil {
		if fill, err = tensorConst(tp); err != nil {
			return nil, err
		}
		if fill.len() != 1 {
			return nil, fmt.Errorf("value has %d elements, want 1", fill.len())
		}
	}
	cnt := autodiff.Size(shape)
	if fill.isInt {
		out := make([]int64, cnt)
		for k := range out {
			out[k] = fill.i[0]
		}
		return constVals(intConst(shape, out)), nil
	}
	out := make([]float64, cnt)
	for k := range out {
		out[k] = fill.f[0]
	}
	return constVals(floatConst(shape, out)), nil
}

func lowerEqual(_ *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	a, c := in[0].c, in[1].c
	if a == nil || c == nil {
		return nil, errors.New("Equal is only supported on values known when the graph is built")
	}
	isInt := a.isInt && c.isInt
	r, err := foldBroadcast(a, c, isInt,
		func(x, y int64) (int64, error) { return int64(boolToInt(x == y)), nil },
		func(x, y float64) float64 { return float64(boolToInt(x == y)) })
	if err != nil {
		return nil, err
	}
	if !isInt {
		r = intConst(r.shape, r.ints())
	}
	return constVals(r), nil
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
