package export

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/onnx"
)

// converter rewrites the nodes of a graph written for opset from into
// their inference-time form of opset to.
type converter struct {
	g     *onnx.GraphProto
	from  int64
	to    int64
	names map[string]bool // every value name in the graph, for fresh names
	used  map[string]bool // values read by a node or a graph output
	inits map[string]*onnx.TensorProto
	out   []*onnx.NodeProto
}

// convertOpset rewrites g's default-domain nodes from opset from to opset
// to (MinOpset to MaxOpset). Nodes are first put in their opset-13 to 17
// form; the attribute forms that changed before opset 13, for the ops the
// importer supports:
//
//	Squeeze, Unsqueeze, ReduceSum (13)  axes attribute → input
//	Split (13)                          split attribute → input
//	Reshape (5)                         shape attribute → input
//	Pad (11)                            pads (paddings) and value attributes → inputs
//	Slice (10)                          starts, ends, axes attributes → inputs
//	Clip (11)                           min, max attributes → inputs
//	Softmax, LogSoftmax (13)            2-D coercion → Shape, Flatten, Softmax(axis 1), Reshape
//	Concat (4)                          missing axis → axis 1
//	Cast (6)                            to as a type name → to as a type number
//	Add, Sub, Mul, Div, Pow, Equal,
//	Gemm (7)                            broadcast attribute dropped (axis-aligned
//	                                    legacy broadcasting is an error)
//	every op (6)                        consumed_inputs dropped
//
// and, whatever the opset, Dropout becomes Identity and BatchNormalization
// loses is_test, spatial and training_mode and keeps only its first output
// (so it normalises with its running statistics). Both fail if an output
// they drop is used. Then retarget (opset18.go) converts the forms that
// changed from opset 13 on to those of opset to.
func convertOpset(g *onnx.GraphProto, from, to int64) error {
	c := &converter{g: g, from: from, to: to, names: map[string]bool{}, used: map[string]bool{}, inits: map[string]*onnx.TensorProto{}}
	for _, t := range g.Initializer {
		c.names[t.GetName()] = true
		c.inits[t.GetName()] = t
	}
	for _, v := range append(slices.Clone(g.Input), g.Output...) {
		c.names[v.GetName()] = true
	}
	for _, v := range g.Output {
		c.used[v.GetName()] = true
	}
	for _, n := range g.Node {
		for _, s := range n.Input {
			c.names[s] = true
			c.used[s] = true
		}
		for _, s := range n.Output {
			c.names[s] = true
		}
	}
	for i, n := range g.Node {
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			c.out = append(c.out, n)
			continue
		}
		if err := c.node(n); err != nil {
			return fmt.Errorf("%s: %w", onnx.NodeLabel(i, n), err)
		}
	}
	g.Node = c.out
	return nil
}

// fresh returns an unused value name based on base.
func (c *converter) fresh(base string) string {
	name := base
	for k := 1; c.names[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	c.names[name] = true
	return name
}

// addInts adds a 1-D INT64 initializer and returns its name.
func (c *converter) addInts(base string, v []int64) string {
	name := c.fresh(base)
	c.g.Initializer = append(c.g.Initializer, onnx.NewTensorInt64(name, []int{len(v)}, v))
	return name
}

// addScalar adds a scalar FLOAT initializer and returns its name.
func (c *converter) addScalar(base string, v float32) string {
	name := c.fresh(base)
	c.g.Initializer = append(c.g.Initializer, onnx.NewTensorFloat32(name, nil, []float32{v}))
	return name
}

// dropAttrs removes the named attributes of n.
func dropAttrs(n *onnx.NodeProto, names ...string) {
	n.Attribute = slices.DeleteFunc(n.Attribute, func(a *onnx.AttributeProto) bool {
		return slices.Contains(names, a.GetName())
	})
}

// setInput sets input k of n, padding with omitted ("") inputs.
func setInput(n *onnx.NodeProto, k int, name string) {
	for len(n.Input) <= k {
		n.Input = append(n.Input, "")
	}
	n.Input[k] = name
}

// trimInputs drops trailing omitted inputs.
func trimInputs(n *onnx.NodeProto) {
	for len(n.Input) > 0 && n.Input[len(n.Input)-1] == "" {
		n.Input = n.Input[:len(n.Input)-1]
	}
}

// moveInts turns the INTS attribute attr of n, if present, into input k.
func (c *converter) moveInts(n *onnx.NodeProto, attr string, k int) {
	a := onnx.Attr(n, attr)
	if a == nil {
		return
	}
	setInput(n, k, c.addInts(valueBase(n)+"."+attr, a.GetInts()))
	dropAttrs(n, attr)
}

// valueBase is the prefix of the names of values added for n.
func valueBase(n *onnx.NodeProto) string {
	if n.GetName() != "" {
		return n.GetName()
	}
	if len(n.Output) > 0 {
		return n.Output[0]
	}
	return n.GetOpType()
}

// onlyFirstOutput drops the outputs of n after the first, which must be
// unused.
func (c *converter) onlyFirstOutput(n *onnx.NodeProto) error {
	for k, o := range n.Output {
		if k > 0 && o != "" && c.used[o] {
			return fmt.Errorf("output %d (%q) is used, but an exported model runs in inference form, without it", k, o)
		}
	}
	if len(n.Output) > 1 {
		n.Output = n.Output[:1]
	}
	return nil
}

func (c *converter) node(n *onnx.NodeProto) error {
	from := c.from
	if from < 6 {
		dropAttrs(n, "consumed_inputs")
	}
	switch op := n.GetOpType(); op {
	case "Add", "Sub", "Mul", "Div", "Pow", "Equal", "Gemm":
		if from < 7 {
			if op != "Gemm" && onnx.AttrInt(n, "broadcast", 0) == 1 && onnx.HasAttr(n, "axis") {
				return fmt.Errorf("legacy broadcasting along axis %d is not converted", onnx.AttrInt(n, "axis", 0))
			}
			dropAttrs(n, "broadcast", "axis")
		}
	case "PRelu":
		if from >= 7 || len(n.Input) < 2 {
			break
		}
		if t := c.inits[n.Input[1]]; t != nil && len(t.Dims) == 1 && t.Dims[0] > 1 {
			return fmt.Errorf("a per-channel slope of shape %v (opset %d) is not converted", t.Dims, from)
		}
	case "Squeeze", "Unsqueeze", "ReduceSum":
		if from < 13 {
			c.moveInts(n, "axes", 1)
		}
	case "Split":
		if from < 13 {
			if len(n.Input) > 1 && n.Input[1] != "" {
				dropAttrs(n, "split") // opset 1: the input wins
			} else {
				c.moveInts(n, "split", 1)
			}
		}
	case "Reshape":
		if from < 5 {
			c.moveInts(n, "shape", 1)
		}
	case "Concat":
		if from < 4 && !onnx.HasAttr(n, "axis") {
			n.Attribute = append(n.Attribute, onnx.NewAttrInt("axis", 1))
		}
	case "Cast":
		if a := onnx.Attr(n, "to"); a != nil && a.S != nil {
			v, ok := onnx.TensorProto_DataType_value[strings.ToUpper(string(a.GetS()))]
			if !ok {
				return fmt.Errorf("unknown type %q in attribute to", a.GetS())
			}
			dropAttrs(n, "to")
			n.Attribute = append(n.Attribute, onnx.NewAttrInt("to", int64(v)))
		}
	case "Pad":
		if from < 11 {
			if err := c.padInputs(n); err != nil {
				return err
			}
		}
	case "Slice":
		if from < 10 {
			for k, attr := range []string{"starts", "ends", "axes"} {
				c.moveInts(n, attr, k+1)
			}
		}
	case "Clip":
		if from < 11 {
			c.clip(n)
		}
	case "Dropout":
		if err := c.onlyFirstOutput(n); err != nil {
			return err
		}
		n.OpType = proto.String("Identity")
		n.Input = n.Input[:1]
		n.Attribute = nil
	case "BatchNormalization":
		if from < 9 && onnx.AttrInt(n, "spatial", 1) != 1 {
			return fmt.Errorf("spatial=0 (per-activation statistics) is not converted")
		}
		if err := c.onlyFirstOutput(n); err != nil {
			return err
		}
		dropAttrs(n, "is_test", "spatial", "training_mode")
	case "Softmax", "LogSoftmax":
		if from < 13 {
			c.softmax(n)
			return nil
		}
	}
	return c.retarget(n)
}

// padInputs moves the pads (paddings) and value attributes of a Pad before
// opset 11 to inputs.
func (c *converter) padInputs(n *onnx.NodeProto) error {
	pads := onnx.Attr(n, "pads")
	if pads == nil {
		pads = onnx.Attr(n, "paddings")
	}
	if pads == nil {
		return fmt.Errorf("no pads attribute")
	}
	setInput(n, 1, c.addInts(valueBase(n)+".pads", pads.GetInts()))
	if v := onnx.AttrFloat(n, "value", 0); v != 0 {
		setInput(n, 2, c.addScalar(valueBase(n)+".value", v))
	}
	dropAttrs(n, "pads", "paddings", "value")
	return nil
}

// clip turns the min and max attributes of a Clip before opset 11 into
// inputs.
func (c *converter) clip(n *onnx.NodeProto) {
	for k, attr := range []string{"min", "max"} {
		if a := onnx.Attr(n, attr); a != nil {
			setInput(n, k+1, c.addScalar(valueBase(n)+"."+attr, a.GetF()))
		}
	}
	dropAttrs(n, "min", "max")
	trimInputs(n)
}

// softmax rewrites a Softmax or LogSoftmax of an opset before 13, which
// normalises the input coerced to a matrix at axis (default 1), as
// Reshape(Softmax(Flatten(x, axis), axis=1), Shape(x)).
func (c *converter) softmax(n *onnx.NodeProto) {
	base := valueBase(n)
	x, y := n.Input[0], n.Output[0]
	shape, flat, soft := c.fresh(base+"/shape"), c.fresh(base+"/flat"), c.fresh(base+"/2d")
	name := func(suffix string) *string {
		if n.GetName() == "" {
			return nil
		}
		return proto.String(n.GetName() + suffix)
	}
	c.out = append(c.out,
		&onnx.NodeProto{Name: name("/shape"), OpType: proto.String("Shape"), Input: []string{x}, Output: []string{shape}},
		&onnx.NodeProto{Name: name("/flatten"), OpType: proto.String("Flatten"), Input: []string{x}, Output: []string{flat},
			Attribute: []*onnx.AttributeProto{onnx.NewAttrInt("axis", onnx.AttrInt(n, "axis", 1))}},
		&onnx.NodeProto{Name: n.Name, OpType: n.OpType, Input: []string{flat}, Output: []string{soft},
			Attribute: []*onnx.AttributeProto{onnx.NewAttrInt("axis", 1)}},
		&onnx.NodeProto{Name: name("/reshape"), OpType: proto.String("Reshape"), Input: []string{soft, shape}, Output: []string{y}},
	)
}
