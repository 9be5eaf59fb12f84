package export

import (
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/onnx"
)

// reduceAxesInput are the Reduce ops whose axes became an input in opset
// 18 (ReduceSum's did in 13).
var reduceAxesInput = map[string]bool{
	"ReduceMean": true, "ReduceMax": true, "ReduceMin": true, "ReduceProd": true,
	"ReduceSumSquare": true, "ReduceL1": true, "ReduceL2": true, "ReduceLogSum": true, "ReduceLogSumExp": true,
}

// retarget appends n, in its form of opsets 13 to 17 or of c.from, in the
// form of opset c.to. The forms that changed from opset 13 on, for the ops
// the importer supports:
//
//	Reduce* but ReduceSum (18)   axes attribute ↔ input (an initializer)
//	Split (18)                   num_outputs, required without a split input
//	Gelu (20)                    before 20: x·½(1 + Erf(x/√2)) or its tanh form
//
// and what older opsets cannot express is an error: Pad's axes input (18)
// and wrap mode (19), LayerNormalization (17), GroupNormalization (18; its
// opset-21 form scales per channel, not per group), CastLike (15), Shape's
// start and end (15), Reshape's allowzero (14), AveragePool's dilations
// (19).
func (c *converter) retarget(n *onnx.NodeProto) error {
	op, to := n.GetOpType(), c.to
	too := func(what string, since int64) error {
		return fmt.Errorf("%s needs opset %d; it cannot be written at opset %d", what, since, to)
	}
	switch {
	case reduceAxesInput[op]:
		if err := c.reduceAxes(n); err != nil {
			return err
		}
	case op == "Split":
		if c.from >= 18 && to < 18 {
			dropAttrs(n, "num_outputs")
		}
		if to >= 18 && (len(n.Input) < 2 || n.Input[1] == "") && !onnx.HasAttr(n, "num_outputs") {
			n.Attribute = append(n.Attribute, onnx.NewAttrInt("num_outputs", int64(len(n.Output))))
		}
	case op == "Pad" && to < 18 && len(n.Input) > 3 && n.Input[3] != "":
		return too("Pad with an axes input", 18)
	case op == "Pad" && to < 19 && onnx.AttrString(n, "mode", "constant") == "wrap":
		return too("Pad in wrap mode", 19)
	case op == "Gelu" && to < 20:
		return c.gelu(n)
	case op == "LayerNormalization" && to < 17:
		return too(op, 17)
	case op == "GroupNormalization" && to < 18:
		return too(op, 18)
	case op == "GroupNormalization" && (c.from < 21) != (to < 21):
		return fmt.Errorf("GroupNormalization of opset %d (scale and bias per %s) is not converted to opset %d", c.from,
			map[bool]string{true: "group", false: "channel"}[c.from < 21], to)
	case op == "CastLike" && to < 15:
		return too(op, 15)
	case op == "Shape" && to < 15 && (onnx.HasAttr(n, "start") || onnx.HasAttr(n, "end")):
		return too("Shape with start or end", 15)
	case op == "Reshape" && to < 14 && onnx.AttrInt(n, "allowzero", 0) != 0:
		return too("Reshape with allowzero", 14)
	case op == "AveragePool" && to < 19 && slices.ContainsFunc(onnx.AttrInts(n, "dilations", nil), func(d int64) bool { return d != 1 }):
		return too("AveragePool with dilations", 19)
	}
	c.out = append(c.out, n)
	return nil
}

// reduceAxes moves the axes of a Reduce op (not ReduceSum) between the
// attribute of opsets before 18 and the input of 18 on.
func (c *converter) reduceAxes(n *onnx.NodeProto) error {
	switch {
	case c.from < 18 && c.to >= 18:
		c.moveInts(n, "axes", 1)
	case c.from >= 18 && c.to < 18:
		var axes []int64
		if len(n.Input) > 1 && n.Input[1] != "" {
			t := c.inits[n.Input[1]]
			if t == nil {
				return fmt.Errorf("axes %q are not an initializer, so they cannot become an attribute for opset %d", n.Input[1], c.to)
			}
			var err error
			if axes, _, err = onnx.TensorInt64(t); err != nil {
				return fmt.Errorf("axes %q: %w", n.Input[1], err)
			}
		}
		noop := onnx.AttrInt(n, "noop_with_empty_axes", 0) != 0
		dropAttrs(n, "noop_with_empty_axes")
		n.Input = n.Input[:1]
		if len(axes) == 0 && noop {
			n.OpType = proto.String("Identity")
			n.Attribute = nil
			break
		}
		if len(axes) > 0 {
			n.Attribute = append(n.Attribute, &onnx.AttributeProto{Name: proto.String("axes"), Type: onnx.AttributeProto_INTS.Enum(), Ints: axes})
		}
	}
	return nil
}

// gelu appends Gelu's definition in ops of opset 13: ½x(1 + erf(x/√2)),
// or ½x(1 + tanh(√(2/π)(x + 0.044715x³))) with approximate "tanh".
func (c *converter) gelu(n *onnx.NodeProto) error {
	base := valueBase(n)
	x, y := n.Input[0], n.Output[0]
	k := 0
	add := func(op string, in ...string) string {
		k++
		out := c.fresh(fmt.Sprintf("%s/gelu%d", base, k))
		var name *string
		if n.GetName() != "" {
			name = proto.String(fmt.Sprintf("%s/%s%d", n.GetName(), op, k))
		}
		c.out = append(c.out, &onnx.NodeProto{Name: name, OpType: proto.String(op), Input: in, Output: []string{out}})
		return out
	}
	var inner string
	switch a := onnx.AttrString(n, "approximate", "none"); a {
	case "none":
		inner = add("Erf", add("Mul", x, c.addScalar(base+".rsqrt2", float32(1/math.Sqrt2))))
	case "tanh":
		cube := add("Mul", add("Mul", x, x), x)
		poly := add("Add", x, add("Mul", cube, c.addScalar(base+".c", 0.044715)))
		inner = add("Tanh", add("Mul", poly, c.addScalar(base+".sqrt2pi", float32(math.Sqrt(2/math.Pi)))))
	default:
		return fmt.Errorf("Gelu with approximate %q is not converted", a)
	}
	half := add("Mul", x, c.addScalar(base+".half", 0.5))
	add("Mul", half, add("Add", inner, c.addScalar(base+".one", 1)))
	c.out[len(c.out)-1].Output[0] = y // the last node writes Gelu's output
	return nil
}
