package importers

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// legacyBroadcast applies the broadcasting of opsets before 7, where
// broadcast=1 lets the second operand match a contiguous run of the
// first's axes starting at axis (suffix alignment, as numpy, without
// axis). From opset 7 on, binary ops broadcast as numpy does, which the
// tape's binary prims implement.
func legacyBroadcast(b *builder, n *onnx.NodeProto, x, y value) (value, error) {
	if b.opset >= 7 || attrInt(n, "broadcast", 0) != 1 || !onnx.HasAttr(n, "axis") {
		return y, nil
	}
	r, ry := x.rank(), y.rank()
	ax := attrInt(n, "axis", 0)
	if ax < 0 {
		ax += r
	}
	if ax < 0 || ax+ry > r {
		return value{}, fmt.Errorf("legacy broadcast of shape %v into %v at axis %d", y.shape(), x.shape(), attrInt(n, "axis", 0))
	}
	s := ones(r)
	copy(s[ax:], y.shape())
	return reshapeVal(b, y, s), nil
}

// reshapeVal gives v a new shape with the same number of elements.
func reshapeVal(b *builder, v value, shape []int) value {
	if v.c != nil {
		return constVal(v.c.withShape(shape))
	}
	return nodeVal(b.t.Reshape(v.n, shape))
}

// arith is an elementwise arithmetic op of ONNX, folded on constants.
type arith int

const (
	bAdd arith = iota
	bSub
	bMul
	bDiv
)

var arithNames = [...]string{"Add", "Sub", "Mul", "Div"}

// apply builds the op on the tape.
func (k arith) apply(t *autodiff.Tape, a, b *autodiff.Node) *autodiff.Node {
	switch k {
	case bAdd:
		return t.Add(a, b)
	case bSub:
		return t.Sub(a, b)
	case bMul:
		return t.Mul(a, b)
	}
	return t.Div(a, b)
}

func lowerBinary(k arith) lowerFunc {
	return func(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
		x := in[0]
		y, err := legacyBroadcast(b, n, x, in[1])
		if err != nil {
			return nil, err
		}
		if x.c != nil && y.c != nil {
			if err := b.broadcastLimit(x, y); err != nil {
				return nil, err
			}
			c, err := foldBinary(k, x.c, y.c)
			return constVals(c), err
		}
		return []value{nodeVal(k.apply(b.t, b.float(x), b.float(y)))}, nil
	}
}

// checkDiv rejects integer division of computed values: the tape computes
// in floating point, and integer Div truncates.
func checkDiv(n *onnx.NodeProto, _ int64, in []valueInfo) error {
	if in[0].isInt && in[1].isInt && !(in[0].isConst && in[1].isConst) {
		return errors.New("integer division of computed values is not supported")
	}
	return nil
}

// foldBinary computes a ∘ b on constants with numpy broadcasting: integer
// if both are (Div truncating, as ONNX's integer Div does), float
// otherwise.
func foldBinary(k arith, a, c *constant) (*constant, error) {
	isInt := a.isInt && c.isInt
	return foldBroadcast(a, c, isInt, func(x, y int64) (int64, error) {
		switch k {
		case bAdd:
			return x + y, nil
		case bSub:
			return x - y, nil
		case bMul:
			return x * y, nil
		case bDiv:
			if y == 0 {
				return 0, errors.New("integer division by zero")
			}
			return x / y, nil
		}
		return 0, fmt.Errorf("cannot fold %s", arithNames[k])
	}, func(x, y float64) float64 {
		switch k {
		case bAdd:
			return x + y
		case bSub:
			return x - y
		case bMul:
			return x * y
		case bDiv:
			return x / y
		}
		return math.NaN()
	})
}

// foldBroadcast applies fi (integer result) or ff (float result) to the
// broadcast elements of a and c.
func foldBroadcast(a, c *constant, isInt bool, fi func(x, y int64) (int64, error), ff func(x, y float64) float64) (*constant, error) {
	s, err := autodiff.BroadcastShape(a.shape, c.shape)
	if err != nil {
		return nil, err
	}
	sa, sc := autodiff.BroadcastStrides(a.shape, s), autodiff.BroadcastStrides(c.shape, s)
	out := &constant{shape: []int(s), isInt: isInt}
	if isInt {
		out.i = make([]int64, autodiff.Size(s))
	} else {
		out.f = make([]float64, autodiff.Size(s))
	}
	autodiff.ForEachIndex(s, func(i int, idx []int) {
		if err != nil {
			return
		}
		ia, ic := 0, 0
		for d, v := range idx {
			ia += v * sa[d]
			ic += v * sc[d]
		}
		if isInt {
			out.i[i], err = fi(a.int(ia), c.int(ic))
		} else {
			out.f[i] = ff(a.float(ia), c.float(ic))
		}
	})
	return out, err
}

// lowerPow uses the constant-exponent prim when the exponent is a known
// scalar (x², 1/x, √x, ...), whose derivatives need no logarithm of x.
func lowerPow(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	x := in[0]
	e, err := legacyBroadcast(b, n, x, in[1])
	if err != nil {
		return nil, err
	}
	if e.c != nil && e.c.len() == 1 {
		s, err := autodiff.BroadcastShape(x.shape(), e.shape())
		if err != nil {
			return nil, err
		}
		y := b.t.Pow(b.float(x), e.c.float(0))
		return []value{nodeVal(b.t.BroadcastTo(y, s))}, nil
	}
	return []value{nodeVal(b.t.PowT(b.float(x), b.float(e)))}, nil
}

func lowerNeg(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	if c := in[0].c; c != nil {
		out := &constant{shape: c.shape, isInt: c.isInt}
		if c.isInt {
			out.i = make([]int64, len(c.i))
			for k, v := range c.i {
				out.i[k] = -v
			}
		} else {
			out.f = make([]float64, len(c.f))
			for k, v := range c.f {
				out.f[k] = -v
			}
		}
		return constVals(out), nil
	}
	return []value{nodeVal(b.t.Neg(b.float(in[0])))}, nil
}

func lowerUnary(f func(*autodiff.Tape, *autodiff.Node) *autodiff.Node) lowerFunc {
	return func(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
		return []value{nodeVal(f(b.t, b.float(in[0])))}, nil
	}
}

// softsign returns x / (1 + |x|).
func softsign(t *autodiff.Tape, x *autodiff.Node) *autodiff.Node {
	return t.Div(x, t.Affine(t.Abs(x), 1, 1))
}

func lowerLeakyRelu(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	return []value{nodeVal(b.t.LeakyRelu(b.float(in[0]), attrFloat(n, "alpha", 0.01)))}, nil
}

func lowerElu(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	return []value{nodeVal(b.t.Elu(b.float(in[0]), attrFloat(n, "alpha", 1)))}, nil
}

// The SELU constants of the ONNX specification (float32 values).
const (
	seluAlpha = 1.67326319217681884765625
	seluGamma = 1.05070102214813232421875
)

func lowerSelu(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	alpha, gamma := attrFloat(n, "alpha", seluAlpha), attrFloat(n, "gamma", seluGamma)
	return []value{nodeVal(b.t.Scale(b.t.Elu(b.float(in[0]), alpha), gamma))}, nil
}

func lowerHardSigmoid(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	alpha, beta := attrFloat(n, "alpha", 0.2), attrFloat(n, "beta", 0.5)
	return []value{nodeVal(b.t.Clip(b.t.Affine(b.float(in[0]), alpha, beta), 0, 1))}, nil
}

// lowerPRelu computes x if x > 0 else slope·x with the slope broadcast
// to x (unidirectionally). Before opset 7 a slope of shape (C) applies per
// channel, along axis 1.
func lowerPRelu(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	x, s := in[0], in[1]
	if b.opset < 7 && s.rank() == 1 && s.shape()[0] > 1 && x.rank() >= 2 {
		shape := ones(x.rank() - 1)
		shape[0] = s.shape()[0]
		s = reshapeVal(b, s, shape)
	}
	if bs, err := autodiff.BroadcastShape(x.shape(), s.shape()); err != nil || !slices.Equal(bs, x.shape()) {
		return nil, fmt.Errorf("slope of shape %v does not broadcast to input shape %v", s.shape(), x.shape())
	}
	return []value{nodeVal(b.t.PRelu(b.float(x), b.float(s)))}, nil
}

// lowerClip clips to bounds given by attributes (before opset 11) or
// optional inputs. Constant bounds use the Clip prim; computed ones Max
// and Min, which route the gradient to the bound where it is active.
func lowerClip(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	t := b.t
	y := b.float(in[0])
	if b.opset < 11 {
		lo := attrFloat(n, "min", math.Inf(-1))
		hi := attrFloat(n, "max", math.Inf(1))
		return []value{nodeVal(t.Clip(y, lo, hi))}, nil
	}
	bound := func(k int, inf float64, f func(a, b *autodiff.Node) *autodiff.Node) error {
		if k >= len(in) || !in[k].ok() {
			return nil
		}
		v := in[k]
		if v.c == nil {
			y = f(y, b.float(v))
			return nil
		}
		if v.c.len() != 1 {
			return fmt.Errorf("bound of shape %v, want a scalar", v.shape())
		}
		lo, hi := v.c.float(0), inf
		if inf < 0 {
			lo, hi = hi, lo
		}
		y = t.Clip(y, lo, hi)
		return nil
	}
	if err := bound(1, math.Inf(1), t.Max); err != nil {
		return nil, err
	}
	if err := bound(2, math.Inf(-1), t.Min); err != nil {
		return nil, err
	}
	return []value{nodeVal(y)}, nil
}

// lowerVariadic folds f (with broadcasting) over all inputs: Max, Min, Sum.
func lowerVariadic(f func(t *autodiff.Tape, a, b *autodiff.Node) *autodiff.Node) lowerFunc {
	return func(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
		if len(in) == 0 {
			return nil, errors.New("no inputs")
		}
		y := b.float(in[0])
		for _, v := range in[1:] {
			y = f(b.t, y, b.float(v))
		}
		return []value{nodeVal(y)}, nil
	}
}

// lowerGemm computes alpha·op(A)·op(B) + beta·C.
func lowerGemm(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	t := b.t
	a, w := in[0], in[1]
	if a.rank() != 2 || w.rank() != 2 {
		return nil, fmt.Errorf("operands of shapes %v and %v, want matrices", a.shape(), w.shape())
	}
	ta, tb := attrInt(n, "transA", 0) != 0, attrInt(n, "transB", 0) != 0
	alpha, beta := attrFloat(n, "alpha", 1), attrFloat(n, "beta", 1)
	hasC := len(in) > 2 && in[2].ok() && beta != 0
	if hasC && alpha == 1 && beta == 1 {
		// The common Linear layer: one prim, which checks that C
		// broadcasts to the product's shape.
		return []value{nodeVal(t.MatMulAdd(b.float(a), b.float(w), b.float(in[2]), ta, tb))}, nil
	}
	y := t.Scale(t.MatMul(b.float(a), b.float(w), ta, tb), alpha)
	if hasC {
		if y != nil {
			if s, err := autodiff.BroadcastShape(y.Shape(), in[2].shape()); err != nil || !slices.Equal(s, y.Shape()) {
				return nil, fmt.Errorf("C of shape %v does not broadcast to the product's shape %v", in[2].shape(), y.Shape())
			}
		}
		y = t.Add(y, t.Scale(b.float(in[2]), beta))
	}
	return []value{nodeVal(y)}, nil
}

// lowerMatMul follows numpy.matmul: a 1-D first operand is a row vector, a
// 1-D second operand a column vector, and the added axis is removed again.
func lowerMatMul(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	t := b.t
	x, y := in[0], in[1]
	xr, yr := x.rank(), y.rank()
	if xr == 0 || yr == 0 {
		return nil, errors.New("MatMul of a scalar")
	}
	xn, yn := b.float(x), b.float(y)
	if xr == 1 {
		xn = t.Reshape(xn, []int{1, x.shape()[0]})
	}
	if yr == 1 {
		yn = t.Reshape(yn, []int{y.shape()[0], 1})
	}
	z := t.MatMul(xn, yn, false, false)
	if z == nil || (xr > 1 && yr > 1) {
		return []value{nodeVal(z)}, nil
	}
	s := z.Shape()
	out := append([]int{}, s[:len(s)-2]...)
	if xr > 1 {
		out = append(out, s[len(s)-2])
	}
	if yr > 1 {
		out = append(out, s[len(s)-1])
	}
	return []value{nodeVal(t.Reshape(z, out))}, nil
}

// lowerSoftmax builds Softmax or LogSoftmax. Before opset 13 the input is
// coerced to a matrix at axis (default 1) and normalized over its rows;
// from 13 on it is normalized along axis (default −1).
func lowerSoftmax(logarithm bool) lowerFunc {
	return func(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
		x := b.float(in[0])
		r := in[0].rank()
		if r == 0 {
			return nil, errors.New("softmax of a scalar")
		}
		if b.opset >= 13 {
			ax, err := axis(attrInt(n, "axis", -1), r)
			if err != nil {
				return nil, err
			}
			return []value{nodeVal(softmax(b.t, x, ax, logarithm))}, nil
		}
		ax, err := axis(attrInt(n, "axis", 1), r)
		if err != nil {
			return nil, err
		}
		s := in[0].shape()
		x2 := b.t.Reshape(x, []int{autodiff.Size(s[:ax]), autodiff.Size(s[ax:])})
		y := softmax(b.t, x2, 1, logarithm)
		return []value{nodeVal(b.t.Reshape(y, s))}, nil
	}
}

// softmax normalizes x along ax; the maximum is subtracted first for
// stability (it cancels, so it needs no gradient).
func softmax(t *autodiff.Tape, x *autodiff.Node, ax int, logarithm bool) *autodiff.Node {
	s := t.Sub(x, t.MaxAxes(x, []int{ax}))
	if logarithm {
		return t.Sub(s, t.Log(t.SumAxes(t.Exp(s), []int{ax}, true)))
	}
	e := t.Exp(s)
	return t.Div(e, t.SumAxes(e, []int{ax}, true))
}

// broadcastLimit checks the broadcast shape of x and y against the budget.
func (b *builder) broadcastLimit(x, y value) error {
	s, err := autodiff.BroadcastShape(x.shape(), y.shape())
	if err != nil {
		return err
	}
	return b.limit("output", s)
}
