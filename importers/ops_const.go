package importers

import (
	"errors"
	"fmt"
	"math"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Constants and shape computations: ops whose outputs are known when the
// graph is built (Constant, Shape, Range, ConstantOfShape, Equal), and the
// element-type conversions of Cast.

func tensorConstant(v autodiff.Tensor) *constant {
	if v.Dtype() == autodiff.Int64 {
		return intConst(v.Shape(), v.Int64s())
	}
	return floatConst(v.Shape(), v.Float64s())
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
	return checkCastTo(onnx.AttrInt(n, "to", 0), in[0])
}

// checkCastTo rejects casts the tape cannot compute: to types it does not
// hold, and computed floating-point values to integers.
func checkCastTo(to int64, x valueInfo) error {
	k := castKind(to)
	switch {
	case k == "":
		return fmt.Errorf("cast to %s is not supported", elemName(onnx.DataType(to)))
	case x.isConst, k == "float", k == "int" && x.isInt:
		return nil
	}
	return fmt.Errorf("cast of a computed %s value to %s is not supported", map[bool]string{true: "integer", false: "floating-point"}[x.isInt], elemName(onnx.DataType(to)))
}

// likeType is the Cast target standing for CastLike's target_type input:
// INT64 for integer values, DOUBLE (the tape's precision) for the others.
func likeType(isInt bool) int64 {
	if isInt {
		return int64(onnx.TensorProto_INT64)
	}
	return int64(onnx.TensorProto_DOUBLE)
}

// checkCastLike checks the cast to target_type's declared element type
// when it is an initializer or graph input (FLOAT16 is refused as Cast
// refuses it), else to its kind.
func checkCastLike(_ *onnx.NodeProto, _ int64, in []valueInfo) error {
	to := likeType(in[1].isInt)
	if in[1].elem != onnx.TensorProto_UNDEFINED {
		to = int64(in[1].elem)
	}
	return checkCastTo(to, in[0])
}

func lowerCast(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	return castTo(b, in[0], onnx.AttrInt(n, "to", 0))
}

// lowerCastLike casts its input to the type of target_type: integer or
// floating-point, as the tape holds values.
func lowerCastLike(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	return castTo(b, in[0], likeType(in[1].isInt()))
}

// castTo converts x to the element type to: constants exactly (rounded to
// float32 for FLOAT), nodes to the tape's floating-point type or kept
// integer.
func castTo(b *builder, x value, to int64) ([]value, error) {
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
		return []value{x}, nil
	}
	return nil, fmt.Errorf("cast of a computed value of type %v to %s is not supported", x.n.Dtype(), elemName(onnx.DataType(to)))
}

func boolToInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

func lowerRange(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	for k := 0; k < 3; k++ {
		if in[k].c == nil || in[k].c.len() != 1 {
			return nil, errors.New("start, limit and delta must be scalars")
		}
	}
	start, limit, delta := in[0].c, in[1].c, in[2].c
	if delta.float(0) == 0 {
		return nil, errors.New("delta is 0")
	}
	n := math.Ceil((limit.float(0) - start.float(0)) / delta.float(0))
	if !(n <= float64(b.maxElems)) { // also NaN
		size := int64(math.MaxInt64)
		if n < math.MaxInt64 {
			size = int64(n)
		}
		return nil, &LimitError{What: fmt.Sprintf("Range(%v, %v, %v)", start.float(0), limit.float(0), delta.float(0)), Shape: []int64{size}, Size: size, Limit: b.maxElems}
	}
	cnt := max(int(n), 0)
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

func lowerConstantOfShape(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	if in[0].c == nil {
		return nil, errors.New("shape must be known when the graph is built")
	}
	raw := in[0].c.ints()
	for _, d := range raw {
		if d < 0 {
			return nil, fmt.Errorf("shape %v has a negative dimension", raw)
		}
	}
	if err := limit("output", raw, b.maxElems); err != nil {
		return nil, err
	}
	shape := toInts(raw)
	var err error
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

func lowerEqual(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	a, c := in[0].c, in[1].c
	if a == nil || c == nil {
		return nil, errors.New("Equal is only supported on values known when the graph is built")
	}
	if err := b.broadcastLimit(in[0], in[1]); err != nil {
		return nil, err
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
