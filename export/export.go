package export

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/onnx"
)

// What an exported model declares.
const (
	ProducerName = "ebmpipe"
	// ProducerVersion is the version of the export format, raised when the
	// layout of exported models changes.
	ProducerVersion = "1"
	// Opset is the version of the default ONNX operator set an exported
	// model imports by default (Options.Opset), the one with the widest
	// runtime support.
	Opset = 17
	// IRVersion is the ONNX IR version of an exported model of opset
	// Opset, the one that introduced opset 17.
	IRVersion = 8
	// BatchDim is the symbolic name of the leading dimension of every
	// graph input and output.
	BatchDim = "batch"
)

// Names of the values and nodes the normalisation adds to a graph (see the
// package documentation). Model removes nodes named with these prefixes
// before adding its own, so that exporting an exported model again does
// not normalise twice.
const (
	normInPrefix  = "ebmpipe.normalise/in/"
	normOutPrefix = "ebmpipe.normalise/out/"
	valShift      = "ebmpipe.shift"
	valScale      = "ebmpipe.scale"
	valCentred    = "ebmpipe.centred"
	valNormalised = "ebmpipe.normalised"
	valGenerated  = "ebmpipe.generated"
	valScaled     = "ebmpipe.scaled"
)

// Model returns a new model for ONNX runtimes: m's graph with every
// floating-point initializer named in params replaced by params[name]
// (row-major, as many values as the initializer has elements; initializers
// params does not name keep their values, and a name that is not a float
// initializer of m is an error), converted to opset 17 (see the package
// documentation for the conversions), in inference form (Dropout is the
// identity, BatchNormalization uses its running statistics), with FLOAT
// tensors throughout, the leading dimension of every graph input and output
// named "batch", meta's normalisation applied in the graph, producer
// "ebmpipe" and metadata_props from meta (which replace m's).
//
// m is first put in the form the importer builds (importers.Prepare:
// functions inlined, Identity aliases of initializers made initializers of
// their own), so params may name any parameter of a Network built from m,
// and its output shapes are those the importer propagates where it can
// build m.
//
// m is not modified. Every error names the node, initializer or metadata
// field at fault.
func Model(m *onnx.ModelProto, params map[string][]float64, meta Meta) (*onnx.ModelProto, error) {
	return ModelWith(m, params, meta, DefaultOptions())
}

// ModelWith is Model writing the opset of opt.
func ModelWith(m *onnx.ModelProto, params map[string][]float64, meta Meta, opt Options) (*onnx.ModelProto, error) {
	out, err := build(m, params, meta, opt)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return out, nil
}

// Save writes the model Model makes to path, atomically: path holds either
// its old contents or the complete new model.
func Save(path string, m *onnx.ModelProto, params map[string][]float64, meta Meta) error {
	return SaveWith(path, m, params, meta, DefaultOptions())
}

// SaveWith is Save writing the opset of opt.
func SaveWith(path string, m *onnx.ModelProto, params map[string][]float64, meta Meta, opt Options) error {
	out, err := ModelWith(m, params, meta, opt)
	if err != nil {
		return err
	}
	if err := onnx.Save(path, out); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func build(m *onnx.ModelProto, params map[string][]float64, meta Meta, opt Options) (*onnx.ModelProto, error) {
	if m == nil || m.GetGraph() == nil {
		return nil, errors.New("no model graph")
	}
	if err := opt.Check(); err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	if err := meta.check(); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if err := onnx.Validate(m); err != nil {
		return nil, err
	}
	from := onnx.OpsetVersion(m, "")
	switch {
	case from == 0:
		return nil, errors.New("the model imports no default ONNX operator set")
	case from > MaxOpset:
		return nil, fmt.Errorf("opset %d is newer than opset %d, the newest the importer reads", from, MaxOpset)
	}
	m, err := prepare(m)
	if err != nil {
		return nil, err
	}
	out := proto.Clone(m).(*onnx.ModelProto)
	g := out.Graph
	dropInitializerInputs(g)
	stripNormalisation(g)
	if err := setParams(g, params); err != nil {
		return nil, err
	}
	if err := convertOpset(g, from, opt.Opset); err != nil {
		return nil, err
	}
	if err := toFloat32(g); err != nil {
		return nil, err
	}
	setBatchDim(g)
	if err := normalise(g, meta); err != nil {
		return nil, err
	}
	g.ValueInfo = nil // intermediate shapes may be stale; runtimes infer them

	out.IrVersion = proto.Int64(irVersions[opt.Opset])
	imports := []*onnx.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opt.Opset)}}
	for _, op := range out.OpsetImport {
		if d := op.GetDomain(); d != "" && d != "ai.onnx" {
			imports = append(imports, op)
		}
	}
	out.OpsetImport = imports
	out.ProducerName = proto.String(ProducerName)
	out.ProducerVersion = proto.String(ProducerVersion)
	out.MetadataProps = meta.props()
	if err := onnx.Validate(out); err != nil {
		return nil, fmt.Errorf("exported model: %w", err)
	}
	return out, nil
}

// dropInitializerInputs removes from the graph inputs the initializers
// listed there, as IR versions before 4 require: in an exported model they
// are constants, not inputs a runtime may override.
func dropInitializerInputs(g *onnx.GraphProto) {
	inits := onnx.InitializerNames(g)
	g.Input = slices.DeleteFunc(g.Input, func(v *onnx.ValueInfoProto) bool { return inits[v.GetName()] })
}

// toFloat32Data converts values to float32, rejecting what float32 cannot
// hold.
func toFloat32Data(data []float64) ([]float32, error) {
	out := make([]float32, len(data))
	for i, v := range data {
		f := float32(v)
		if math.IsNaN(v) || math.IsInf(float64(f), 0) {
			return nil, fmt.Errorf("element %d (%v) is not a finite float32", i, v)
		}
		out[i] = f
	}
	return out, nil
}

func intShape(dims []int64) []int {
	s := make([]int, len(dims))
	for i, d := range dims {
		s[i] = int(d)
	}
	return s
}

// setParams replaces the initializers named in params.
func setParams(g *onnx.GraphProto, params map[string][]float64) error {
	index := make(map[string]int, len(g.Initializer))
	for i, t := range g.Initializer {
		index[t.GetName()] = i
	}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		data := params[name]
		i, ok := index[name]
		if !ok {
			return fmt.Errorf("parameter %q: the model has no initializer of that name", name)
		}
		t := g.Initializer[i]
		if dt := onnx.DataType(t.GetDataType()); !onnx.IsFloat(dt) {
			return fmt.Errorf("parameter %q: initializer holds %v, not floating-point values", name, dt)
		}
		shape := intShape(t.Dims)
		n := 1
		for _, d := range shape {
			n *= d
		}
		if len(data) != n {
			return fmt.Errorf("parameter %q: %d values for an initializer of shape %v (%d elements)", name, len(data), shape, n)
		}
		f, err := toFloat32Data(data)
		if err != nil {
			return fmt.Errorf("parameter %q: %w", name, err)
		}
		nt := onnx.NewTensorFloat32(name, shape, f)
		nt.DocString = t.DocString
		g.Initializer[i] = nt
	}
	return nil
}

// tensorToFloat32 returns t as a FLOAT tensor, or t itself if it is not a
// floating-point tensor of another type.
func tensorToFloat32(t *onnx.TensorProto) (*onnx.TensorProto, error) {
	dt := onnx.DataType(t.GetDataType())
	if dt == onnx.TensorProto_FLOAT || !onnx.IsFloat(dt) {
		return t, nil
	}
	data, shape, err := onnx.TensorFloat64(t)
	if err != nil {
		return nil, err
	}
	f, err := toFloat32Data(data)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.GetName(), err)
	}
	nt := onnx.NewTensorFloat32(t.GetName(), shape, f)
	nt.DocString = t.DocString
	return nt, nil
}

// toFloat32 makes every floating-point tensor of g FLOAT: initializers,
// the values of Constant and ConstantOfShape, Cast targets and the element
// types of graph inputs and outputs.
func toFloat32(g *onnx.GraphProto) error {
	for i, t := range g.Initializer {
		nt, err := tensorToFloat32(t)
		if err != nil {
			return fmt.Errorf("initializer %q: %w", t.GetName(), err)
		}
		g.Initializer[i] = nt
	}
	for i, n := range g.Node {
		for _, a := range n.Attribute {
			if a.T != nil {
				nt, err := tensorToFloat32(a.T)
				if err != nil {
					return fmt.Errorf("%s: attribute %q: %w", onnx.NodeLabel(i, n), a.GetName(), err)
				}
				a.T = nt
			}
		}
		if n.GetOpType() == "Cast" {
			if a := onnx.Attr(n, "to"); a != nil && onnx.IsFloat(onnx.DataType(a.GetI())) {
				a.I = proto.Int64(int64(onnx.TensorProto_FLOAT))
			}
		}
	}
	for _, v := range append(slices.Clone(g.Input), g.Output...) {
		tt := v.GetType().GetTensorType()
		if tt != nil && onnx.IsFloat(onnx.DataType(tt.GetElemType())) {
			tt.ElemType = proto.Int32(int32(onnx.TensorProto_FLOAT))
		}
	}
	return nil
}

// setBatchDim names the leading dimension of every graph input and output
// of rank one or more BatchDim.
func setBatchDim(g *onnx.GraphProto) {
	for _, v := range append(slices.Clone(g.Input), g.Output...) {
		sh := v.GetType().GetTensorType().GetShape()
		if sh == nil || len(sh.Dim) == 0 {
			continue
		}
		sh.Dim[0] = &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: BatchDim}}
	}
}

// renameValue replaces the value name from by to in every node input, and
// also in node outputs if outputs is set.
func renameValue(nodes []*onnx.NodeProto, from, to string, outputs bool) {
	for _, n := range nodes {
		for k, in := range n.Input {
			if in == from {
				n.Input[k] = to
			}
		}
		if !outputs {
			continue
		}
		for k, o := range n.Output {
			if o == from {
				n.Output[k] = to
			}
		}
	}
}

// stripNormalisation removes the normalisation nodes of an earlier export,
// reconnecting the graph as it was before.
func stripNormalisation(g *onnx.GraphProto) {
	var in, out []*onnx.NodeProto
	g.Node = slices.DeleteFunc(g.Node, func(n *onnx.NodeProto) bool {
		switch name := n.GetName(); {
		case strings.HasPrefix(name, normInPrefix):
			in = append(in, n)
		case strings.HasPrefix(name, normOutPrefix):
			out = append(out, n)
		default:
			return false
		}
		return true
	})
	// Each chain is Constant nodes and then one or two elementwise nodes,
	// the first reading the chain's data input, the last writing its data
	// output.
	ends := func(chain []*onnx.NodeProto) (first, last string, ok bool) {
		var ops []*onnx.NodeProto
		for _, n := range chain {
			if n.GetOpType() != "Constant" {
				ops = append(ops, n)
			}
		}
		if len(ops) == 0 || len(ops[0].Input) == 0 || len(ops[len(ops)-1].Output) == 0 {
			return "", "", false
		}
		return ops[0].Input[0], ops[len(ops)-1].Output[0], true
	}
	if x, last, ok := ends(in); ok {
		renameValue(g.Node, last, x, false)
	}
	if first, y, ok := ends(out); ok {
		renameValue(g.Node, first, y, true)
	}
}

// normalise adds meta's normalisation to g: for an energy model, nodes
// computing (x − shift)/scale from the raw input x, which the rest of the
// graph reads instead of x; for a generator, nodes computing y·scale +
// shift from the generated sample y, which becomes the graph output.
func normalise(g *onnx.GraphProto, meta Meta) error {
	var data *onnx.ValueInfoProto
	switch {
	case meta.Kind == KindEnergy && len(g.Input) == 1:
		data = g.Input[0]
	case meta.Kind == KindGenerator && len(g.Output) == 1:
		data = g.Output[0]
	}
	if len(meta.Shift) == 0 && len(meta.Scale) == 0 && len(meta.Features) == 0 {
		return nil
	}
	if data == nil {
		if len(meta.Shift) == 0 && len(meta.Scale) == 0 {
			return nil // feature names of a model with several inputs or outputs: not checked
		}
		return fmt.Errorf("metadata: a %s model with %d inputs and %d outputs cannot take a normalisation (want one %s)",
			meta.Kind, len(g.Input), len(g.Output), map[string]string{KindEnergy: "input", KindGenerator: "output"}[meta.Kind])
	}
	shape, err := valueRowShape(data)
	if err == nil && data.GetType().GetTensorType().GetElemType() != int32(onnx.TensorProto_FLOAT) {
		err = fmt.Errorf("value %q does not hold floating-point numbers", data.GetName())
	}
	if err != nil {
		if len(meta.Shift) == 0 && len(meta.Scale) == 0 {
			return nil
		}
		return fmt.Errorf("metadata: normalisation: %w", err)
	}
	width := onnx.ShapeSize(shape)
	for _, f := range []struct {
		what string
		n    int
	}{{"shift values", len(meta.Shift)}, {"scale values", len(meta.Scale)}, {"feature names", len(meta.Features)}} {
		if f.n > 0 && f.n != width {
			return fmt.Errorf("metadata: %d %s for %q, whose rows have %d values (shape %v)", f.n, f.what, data.GetName(), width, shape)
		}
	}
	if len(meta.Shift) == 0 && len(meta.Scale) == 0 {
		return nil
	}

	if err := checkNormNames(g); err != nil {
		return err
	}
	if err := checkFloat32(meta.Shift, meta.Scale); err != nil {
		return err
	}

	nb := &normNodes{shape: shape}
	name := data.GetName()
	if meta.Kind == KindEnergy {
		cur := name
		if len(meta.Shift) > 0 {
			nb.constant(normInPrefix+"shift", valShift, meta.Shift)
			nb.add(normInPrefix+"sub", "Sub", []string{cur, valShift}, valCentred)
			cur = valCentred
		}
		if len(meta.Scale) > 0 {
			nb.constant(normInPrefix+"scale", valScale, meta.Scale)
			nb.add(normInPrefix+"div", "Div", []string{cur, valScale}, valNormalised)
			cur = valNormalised
		}
		renameValue(g.Node, name, cur, false)
		g.Node = append(nb.nodes, g.Node...)
		return nil
	}
	produced := false
	for _, n := range g.Node {
		produced = produced || slices.Contains(n.Output, name)
	}
	if !produced {
		return fmt.Errorf("normalisation: output %q is not computed by a node", name)
	}
	renameValue(g.Node, name, valGenerated, true)
	cur := valGenerated
	if len(meta.Scale) > 0 {
		nb.constant(normOutPrefix+"scale", valScale, meta.Scale)
		next := valScaled
		if len(meta.Shift) == 0 {
			next = name
		}
		nb.add(normOutPrefix+"mul", "Mul", []string{cur, valScale}, next)
		cur = next
	}
	if len(meta.Shift) > 0 {
		nb.constant(normOutPrefix+"shift", valShift, meta.Shift)
		nb.add(normOutPrefix+"add", "Add", []string{cur, valShift}, name)
	}
	g.Node = append(g.Node, nb.nodes...)
	return nil
}

// checkNormNames fails if g already uses a name of the normalisation's
// values.
func checkNormNames(g *onnx.GraphProto) error {
	used := map[string]bool{}
	for _, t := range g.Initializer {
		used[t.GetName()] = true
	}
	for _, v := range append(slices.Clone(g.Input), g.Output...) {
		used[v.GetName()] = true
	}
	for _, n := range g.Node {
		for _, s := range append(slices.Clone(n.Input), n.Output...) {
			used[s] = true
		}
	}
	for _, s := range []string{valShift, valScale, valCentred, valNormalised, valGenerated, valScaled} {
		if used[s] {
			return fmt.Errorf("normalisation: the model already has a value named %q", s)
		}
	}

	return nil
}

// checkFloat32 fails if a normalisation value overflows float32.
func checkFloat32(vs ...[]float64) error {
	for _, v := range vs {
		for i, x := range v {
			if math.IsInf(float64(float32(x)), 0) {
				return fmt.Errorf("metadata: normalisation value %d (%v) overflows float32", i, x)
			}
		}
	}
	return nil
}

// normNodes collects the nodes of a normalisation, whose constants have
// the given row shape.
type normNodes struct {
	shape []int
	nodes []*onnx.NodeProto
}

func (b *normNodes) add(name, op string, in []string, out string, attrs ...*onnx.AttributeProto) {
	b.nodes = append(b.nodes, &onnx.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: []string{out}, Attribute: attrs})
}

// constant adds a Constant node called node of the float32 values v,
// which checkFloat32 has checked, as the value name.
func (b *normNodes) constant(node, name string, v []float64) {
	f, _ := toFloat32Data(v) // cannot fail: checked finite by Meta.check and in range by checkFloat32
	b.add(node, "Constant", nil, name, &onnx.AttributeProto{
		Name: proto.String("value"), Type: onnx.AttributeProto_TENSOR.Enum(),
		T: onnx.NewTensorFloat32(name, b.shape, f),
	})
}

// LogDetScale returns Σ log|scale_i|, the log Jacobian of the map from raw
// features to normalised ones: add it to a log Z estimated for an energy
// over normalised data, x_train = (x − shift)/scale, to get the log Z of
// the exported model, whose energy takes raw data.
func LogDetScale(scale []float64) float64 {
	s := 0.0
	for _, v := range scale {
		s += math.Log(math.Abs(v))
	}
	return s
}

// valueRowShape returns the dimensions of v after the batch axis, which
// must all be fixed.
func valueRowShape(v *onnx.ValueInfoProto) ([]int, error) {
	dims, _, err := onnx.ValueInfoShape(v)
	if err != nil {
		return nil, err
	}
	shape, err := onnx.RowShape(dims)
	if err != nil {
		return nil, fmt.Errorf("value %q: %w", v.GetName(), err)
	}
	return shape, nil
}
