package importers

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Prepare returns m in the form the importer builds, the one whose
// initializers a Network's parameters name: model-local functions inlined
// (onnx.InlineFunctions), and every Identity node that copies an
// initializer into a value (torch's deduplication of equal initializers,
// such as a fresh BatchNorm's running variance aliasing its weight)
// replaced by an initializer of that value's name holding a copy of the
// data, so that the two are separate parameters. It returns m itself when
// there is nothing to change, else a modified copy; m is not modified.
// Export applies it too (export.Model), so the parameters of a Network
// built from m name initializers of the exported model.
func Prepare(m *onnx.ModelProto) (*onnx.ModelProto, error) {
	if m == nil || m.GetGraph() == nil {
		return nil, errors.New("no model graph")
	}
	if len(m.GetFunctions()) == 0 && len(aliases(m.GetGraph())) == 0 {
		return m, nil
	}
	out := proto.Clone(m).(*onnx.ModelProto)
	if err := onnx.InlineFunctions(out); err != nil {
		return nil, err
	}
	resolveAliases(out.Graph)
	return out, nil
}

// aliases returns the Identity nodes of g that copy an initializer (or an
// earlier alias) into a value that is not a graph output, by index.
func aliases(g *onnx.GraphProto) map[int]bool {
	inits := make(map[string]bool, len(g.GetInitializer()))
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	outputs := make(map[string]bool, len(g.GetOutput()))
	for _, v := range g.GetOutput() {
		outputs[v.GetName()] = true
	}
	found := map[int]bool{}
	for i, n := range g.GetNode() {
		in, out := n.GetInput(), n.GetOutput()
		if n.GetOpType() != "Identity" || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") ||
			len(in) != 1 || len(out) != 1 || !inits[in[0]] || out[0] == "" || outputs[out[0]] || inits[out[0]] {
			continue
		}
		found[i] = true
		inits[out[0]] = true
	}
	return found
}

// resolveAliases replaces the alias nodes of g by initializers.
func resolveAliases(g *onnx.GraphProto) {
	found := aliases(g)
	if len(found) == 0 {
		return
	}
	byName := make(map[string]*onnx.TensorProto, len(g.Initializer))
	for _, t := range g.Initializer {
		byName[t.GetName()] = t
	}
	var keep []*onnx.NodeProto
	for i, n := range g.Node {
		if !found[i] {
			keep = append(keep, n)
			continue
		}
		t := proto.Clone(byName[n.Input[0]]).(*onnx.TensorProto)
		t.Name = proto.String(n.Output[0])
		byName[n.Output[0]] = t
		g.Initializer = append(g.Initializer, t)
	}
	g.Node = keep
}

// trialSizes are the sizes bound to symbolic input dimensions in the two
// builds that infer output shapes: dimensions equal in both are fixed.
var trialSizes = [2]int{2, 3}

// propagateShapes builds the graph at both trialSizes and sets the output
// dimensions from what the builds compute: fixed where equal, symbolic
// where not (the declared name, else the inputs' one symbolic name). A
// build that exceeds the budget is an error; any other failure keeps the
// declared dimensions (the model may build only at other sizes).
func (n *Network) propagateShapes() error {
	var shapes [2][][]int
	for k, v := range trialSizes {
		s, err := n.trialBuild(v)
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return err
			}
			return nil
		}
		shapes[k] = s
	}
	sym := n.symbolicName()
	changed := false
	for i := range n.outputs {
		dims := mergeDims(n.outputs[i].Dims, shapes[0][i], shapes[1][i], sym)
		if !sameDims(dims, n.outputs[i].Dims) {
			n.outputs[i].Dims = dims
			changed = true
		}
	}
	if changed {
		n.declareOutputs()
	}
	return nil
}

// trialBuild builds the network with every symbolic input dimension bound
// to v and returns the output shapes.
func (n *Network) trialBuild(v int) ([][]int, error) {
	t := autodiff.NewTape(autodiff.Float64)
	ins := make([]*autodiff.Node, len(n.inputs))
	for i, p := range n.inputs {
		if p.Dims == nil {
			return nil, fmt.Errorf("input %q has no shape", p.Name)
		}
		shape := make([]int, len(p.Dims))
		for k, d := range p.Dims {
			shape[k] = v
			if d.Value > 0 {
				shape[k] = int(d.Value)
			}
		}
		if p.Elem == onnx.TensorProto_INT64 {
			ins[i] = t.Variable(p.Name, autodiff.Zeros(autodiff.Int64, shape...))
		} else {
			ins[i] = t.Input(p.Name, shape...)
		}
	}
	outs, err := n.Apply(t, n.NewParams(t), ApplyOptions{}, ins...)
	if err != nil {
		return nil, err
	}
	shapes := make([][]int, len(outs))
	for i, o := range outs {
		shapes[i] = append([]int{}, o.Shape()...)
	}
	return shapes, nil
}

// symbolicName returns the name of the inputs' symbolic dimensions if they
// all have the same one (such as "batch"), else "".
func (n *Network) symbolicName() string {
	name := ""
	for _, p := range n.inputs {
		for _, d := range p.Dims {
			switch {
			case d.Value > 0:
			case d.Param == "" || name != "" && d.Param != name:
				return ""
			default:
				name = d.Param
			}
		}
	}
	return name
}

// mergeDims returns the dimensions of an output computed as a and b in
// the two trial builds, declared as declared.
func mergeDims(declared []onnx.Dim, a, b []int, sym string) []onnx.Dim {
	if len(a) != len(b) {
		return declared
	}
	out := make([]onnx.Dim, len(a))
	for k := range a {
		switch {
		case a[k] == b[k]:
			out[k] = onnx.Dim{Value: int64(a[k])}
		case len(declared) == len(a) && declared[k].Param != "":
			out[k] = declared[k]
		case a[k] == trialSizes[0] && b[k] == trialSizes[1] && sym != "":
			out[k] = onnx.Dim{Param: sym}
		}
	}
	return out
}

func sameDims(a, b []onnx.Dim) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// declareOutputs writes the propagated output shapes into the graph
// outputs of the network's model (a copy, if it is still the caller's).
func (n *Network) declareOutputs() {
	m := proto.Clone(n.model).(*onnx.ModelProto)
	g := m.GetGraph()
	for i, v := range g.GetOutput() {
		if i < len(n.outputs) && v.GetName() == n.outputs[i].Name {
			g.Output[i] = onnx.NewValueInfo(v.GetName(), n.outputs[i].Elem, n.outputs[i].Dims...)
			g.Output[i].DocString = v.DocString
		}
	}
	n.model = m
}
