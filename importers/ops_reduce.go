package importers

import (
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// reduceKind names a Reduce* operator of ONNX.
type reduceKind int

const (
	rSum reduceKind = iota
	rMean
	rMax
	rMin
	rSumSquare
	rL1
	rL2
	rLogSum
	rLogSumExp
)

// axesInputSince is the opset from which a Reduce op takes its axes as an
// optional input (with noop_with_empty_axes) instead of an attribute:
// ReduceSum from 13, the others from 18.
func (k reduceKind) axesInputSince() int64 {
	if k == rSum {
		return 13
	}
	return 18
}

// lowerReduce builds a Reduce op over its axes (all axes by default),
// keeping them as size-1 axes if keepdims (default 1). From the opset of
// axesInputSince an empty or omitted axes input with noop_with_empty_axes
// set makes the op the identity.
func lowerReduce(k reduceKind) lowerFunc {
	return func(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
		x := in[0]
		keep := attrInt(n, "keepdims", 1) != 0
		axes := attrInts(n, "axes")
		if b.opset >= k.axesInputSince() {
			axes = nil
			if len(in) > 1 && in[1].ok() {
				var err error
				if axes, err = constInts(in[1], "axes"); err != nil {
					return nil, err
				}
			}
			if len(axes) == 0 && attrInt(n, "noop_with_empty_axes", 0) != 0 {
				return []value{nodeVal(b.float(x))}, nil
			}
		}
		axes, err := normAxes(axes, x.rank())
		if err != nil {
			return nil, err
		}
		if x.rank() == 0 {
			return []value{nodeVal(b.float(x))}, nil
		}
		if len(axes) == 0 {
			axes = allAxes(x.rank())
		}
		y := reduce(b.t, k, b.float(x), axes)
		if !keep && y != nil {
			y = b.t.Reshape(y, droppedShape(x.shape(), axes))
		}
		return []value{nodeVal(y)}, nil
	}
}

// reduce reduces x over axes (sorted, non-empty), keeping them as size-1
// axes.
func reduce(t *autodiff.Tape, k reduceKind, x *autodiff.Node, axes []int) *autodiff.Node {
	switch k {
	case rSum:
		return t.SumAxes(x, axes, true)
	case rMean:
		return t.MeanAxes(x, axes, true)
	case rMax:
		return reduceMax(t, x, axes)
	case rMin:
		return t.Neg(reduceMax(t, t.Neg(x), axes))
	case rSumSquare:
		return t.SumAxes(t.Square(x), axes, true)
	case rL1:
		return t.SumAxes(t.Abs(x), axes, true)
	case rL2:
		return t.Sqrt(t.SumAxes(t.Square(x), axes, true))
	case rLogSum:
		return t.Log(t.SumAxes(x, axes, true))
	}
	// Log-sum-exp shifted by the maximum, which cancels in the derivative.
	m := t.MaxAxes(x, axes)
	return t.Add(t.Log(t.SumAxes(t.Exp(t.Sub(x, m)), axes, true)), m)
}

// reduceMax is the maximum over axes as the mean of the elements equal to
// it: the value is the maximum, and the derivative (a subgradient at ties)
// goes to the maximal elements, to every order, through ordinary prims.
func reduceMax(t *autodiff.Tape, x *autodiff.Node, axes []int) *autodiff.Node {
	m := t.MaxAxes(x, axes)
	at := t.Affine(t.Greater(m, x), -1, 1) // 1 where x is the maximum
	return t.Div(t.SumAxes(t.Mul(x, at), axes, true), t.SumAxes(at, axes, true))
}

func allAxes(r int) []int {
	out := make([]int, r)
	for i := range out {
		out[i] = i
	}
	return out
}

// droppedShape is shape without the (sorted) axes.
func droppedShape(shape, axes []int) []int {
	out := []int{}
	for i, d := range shape {
		if !contains(axes, i) {
			out = append(out, d)
		}
	}
	return out
}
