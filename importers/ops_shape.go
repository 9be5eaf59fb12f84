package importers

import (
	"errors"
	"fmt"

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

// gatherVal applies an index map to a node or a constant.
func gatherVal(b *builder, v value, m *autodiff.IndexMap) value {
	if v.c != nil {
		return constVal(v.c.gather(m))
	}
	return nodeVal(b.t.Gather(v.n, m))
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
	if axes, err = distinctAxes(axes, r); err != nil {
		return nil, err
	}
	add := make([]bool, r)
	for _, k := range axes {
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
	if parts == nil && b.opset >= 18 && onnx.HasAttr(n, "num_outputs") {
		if parts, err = splitNumOutputs(s[ax], attrInt(n, "num_outputs", 0), k); err != nil {
			return nil, err
		}
	}
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

// splitNumOutputs returns the parts of Split's num_outputs form (opset
// 18): n parts of ⌈d/n⌉, the last one smaller if n does not divide d.
func splitNumOutputs(d, n, outputs int) ([]int, error) {
	if n < 1 || n != outputs {
		return nil, fmt.Errorf("num_outputs %d for %d outputs", n, outputs)
	}
	chunk := (d + n - 1) / n
	last := d - chunk*(n-1)
	if last < 1 {
		return nil, fmt.Errorf("cannot split dimension of size %d into %d parts of %d", d, n, chunk)
	}
	parts := make([]int, n)
	for i := range parts {
		parts[i] = chunk
	}
	parts[n-1] = last
	return parts, nil
}
