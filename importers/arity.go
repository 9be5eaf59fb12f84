package importers

import (
	"fmt"

	"github.com/ebmpipe/ebmpipe/onnx"
)

// variadic marks an op without a maximum number of inputs.
const variadic = -1

// arity returns the least and most inputs op takes in opset (most is
// variadic for no limit): the first least inputs are required and must be
// named, the rest optional. It covers the ops of the op table.
func arity(op string, opset int64) (least, most int) {
	switch op {
	case "Constant":
		return 0, 0
	case "Add", "Sub", "Mul", "Div", "Pow", "PRelu", "MatMul", "Gather", "Equal", "Expand", "CastLike", "Tile":
		return 2, 2
	case "Range", "Where", "InstanceNormalization", "GroupNormalization":
		return 3, 3
	case "BatchNormalization":
		return 5, 5
	case "Gemm", "Conv", "ConvTranspose", "LayerNormalization":
		return 2, 3
	case "Max", "Min", "Sum", "Concat":
		return 1, variadic
	case "Clip":
		if opset < 11 {
			return 1, 1
		}
		return 1, 3
	case "Dropout":
		if opset < 12 {
			return 1, 1
		}
		return 1, 3
	case "Reshape":
		if opset < 5 {
			return 1, 1
		}
		return 2, 2
	case "Slice":
		if opset < 10 {
			return 1, 1
		}
		return 3, 5
	case "Pad":
		switch {
		case opset < 11:
			return 1, 1
		case opset < 18:
			return 2, 3
		}
		return 2, 4
	case "Unsqueeze":
		if opset >= 13 {
			return 2, 2
		}
		return 1, 1
	case "Squeeze", "Split", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSumSquare",
		"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp":
		return 1, 2
	}
	return 1, 1
}

// checkArity reports a node of a table op with too few or too many inputs,
// an unnamed required input, or no output.
func checkArity(n *onnx.NodeProto, opset int64) error {
	op := n.GetOpType()
	least, most := arity(op, opset)
	in := n.GetInput()
	if len(in) < least || most != variadic && len(in) > most {
		want := fmt.Sprint(least)
		switch {
		case most == variadic:
			want = fmt.Sprintf("at least %d", least)
		case most == least+1:
			want = fmt.Sprintf("%d or %d", least, most)
		case most > least:
			want = fmt.Sprintf("%d to %d", least, most)
		}
		return fmt.Errorf("%s has %s, needs %s", op, plural(len(in), "input"), want)
	}
	for k := 0; k < least; k++ {
		if in[k] == "" {
			return fmt.Errorf("%s: required input %d has no name", op, k)
		}
	}
	if len(n.GetOutput()) == 0 || n.GetOutput()[0] == "" {
		return fmt.Errorf("%s has no (named) first output", op)
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
