package importers

import (
	"errors"
	"fmt"
	"sort"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// A Port is a graph input or output of a Network.
type Port struct {
	Name string
	Dims []onnx.Dim    // nil when the rank is unknown
	Elem onnx.DataType // element type
}

// A Param is a floating-point initializer of the model: a trainable weight,
// or state such as BatchNormalization's running mean and variance.
type Param struct {
	Name      string
	Shape     []int
	Data      []float64
	Trainable bool
}

// Network is an ONNX model prepared to be built into tapes: its
// parameters are the float initializers, and every node lowers onto tape
// primitives through the op table, so that the result can be
// differentiated to any order.
//
// A Network is immutable after New; Apply may be called from several
// goroutines on different tapes.
type Network struct {
	model   *onnx.ModelProto
	opset   int64
	nodes   []*onnx.NodeProto
	inputs  []Port
	outputs []Port
	params  []Param
	consts  map[string]*constant // initializers read when a graph is built
	used    map[string]bool      // values read by a node or a graph output
	// maxElems is Options.MaxElements.
	maxElems int
}

// An UnsupportedError reports a node that a Network cannot build, and why.
type UnsupportedError struct {
	Index  int    // position of the node in the graph
	Node   string // the node's name, possibly empty
	Op     string // op_type, prefixed by the domain outside the default one
	Opset  int64  // version of the node's operator set in the model
	Reason string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: %s", nodeLabel(e.Index, e.Node, e.Op, e.Opset), e.Reason)
}

// nodeLabel names a node in errors: `node "NAME" (Op, opset N)`, or by
// its index when it has no name.
func nodeLabel(i int, name, op string, opset int64) string {
	return onnx.NodeLabelOf(i, name, fmt.Sprintf("%s, opset %d", op, opset))
}

// Load reads an ONNX model file (and its external data, see onnx.Load)
// and prepares it with New.
func Load(path string) (*Network, error) { return LoadWith(path, DefaultOptions()) }

// LoadWith is Load with options.
func LoadWith(path string, opt Options) (*Network, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	n, err := NewWith(m, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// New prepares m with the default options (see NewWith).
func New(m *onnx.ModelProto) (*Network, error) { return NewWith(m, DefaultOptions()) }

// NewWith prepares m: it checks m's structure (onnx.Validate), works on
// the model Prepare returns (model-local functions inlined, Identity
// aliases of initializers resolved; m is not modified), checks every node
// against the op table and the sizes the file declares against
// opt.MaxElements, and builds the graph once to infer the output shapes by
// propagation (a declared symbolic dimension that is in fact fixed, such
// as torch's "Tanhx_dim_2", becomes its value). It fails if m is malformed
// or if any node is unsupported; the error then lists every unsupported
// node (errors.Join of *UnsupportedError values), not just the first.
func NewWith(m *onnx.ModelProto, opt Options) (*Network, error) {
	if err := opt.Check(); err != nil {
		return nil, err
	}
	if err := onnx.Validate(m); err != nil {
		return nil, err
	}
	m, err := Prepare(m)
	if err != nil {
		return nil, err
	}
	a := analyze(m)
	if len(a.errs) > 0 {
		return nil, errors.Join(a.errs...)
	}
	n := &Network{
		model:    m,
		opset:    a.opset,
		nodes:    m.GetGraph().GetNode(),
		params:   a.params,
		consts:   a.consts,
		used:     a.used,
		maxElems: opt.MaxElements,
	}
	if n.inputs, err = ports(m.GetGraph().GetInput(), a.inits); err != nil {
		return nil, err
	}
	for _, p := range n.inputs {
		if err := checkPortSize(p, opt.MaxElements); err != nil {
			return nil, err
		}
	}
	if n.outputs, err = ports(m.GetGraph().GetOutput(), nil); err != nil {
		return nil, err
	}
	if err := n.propagateShapes(); err != nil {
		return nil, err
	}
	return n, nil
}

// Model returns the model the network was built from, as Prepare made it:
// its initializers are the ones Params names. Do not modify it.
func (n *Network) Model() *onnx.ModelProto { return n.model }

// Unsupported returns every reason m cannot be built: one
// *UnsupportedError per unsupported node, and errors for initializers or
// graph inputs of types the importer cannot hold. It returns nil for a
// model New accepts, apart from structural problems New also reports.
func Unsupported(m *onnx.ModelProto) []error {
	p, err := Prepare(m)
	if err != nil {
		return []error{err}
	}
	return analyze(p).errs
}

func ports(vs []*onnx.ValueInfoProto, skip map[string]*onnx.TensorProto) ([]Port, error) {
	var out []Port
	for _, v := range vs {
		if _, ok := skip[v.GetName()]; ok {
			continue // an initializer listed among the inputs (IR < 4)
		}
		dims, elem, err := onnx.ValueInfoShape(v)
		if err != nil {
			return nil, err
		}
		out = append(out, Port{Name: v.GetName(), Dims: dims, Elem: elem})
	}
	return out, nil
}

// analysis is what New and Unsupported learn about a model without
// building it.
type analysis struct {
	opset  int64
	inits  map[string]*onnx.TensorProto
	params []Param
	consts map[string]*constant
	used   map[string]bool
	errs   []error
}

func isIntType(dt onnx.DataType) bool {
	return castKind(int64(dt)) == "int" || dt == onnx.TensorProto_BOOL
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func analyze(m *onnx.ModelProto) *analysis {
	g := m.GetGraph()
	a := &analysis{
		opset:  onnx.OpsetVersion(m, ""),
		inits:  make(map[string]*onnx.TensorProto),
		consts: make(map[string]*constant),
		used:   make(map[string]bool),
	}
	for _, t := range g.GetInitializer() {
		a.inits[t.GetName()] = t
	}
	info := make(map[string]valueInfo)
	a.initializers(g, info)
	a.graphInputs(g, info)
	a.nodes(m, info)
	return a
}

// initializers sorts the initializers by how they are used: as data (a
// parameter), only as an attribute-like input (a constant), or as
// BatchNormalization's running statistics (state, not trained). It marks
// every value some node or graph output reads in a.used.
func (a *analysis) initializers(g *onnx.GraphProto, info map[string]valueInfo) {
	dataUse := make(map[string]bool)
	stats := make(map[string]bool)
	for _, n := range g.GetNode() {
		def, ok := opTable[n.GetOpType()]
		for k, name := range n.GetInput() {
			if name == "" {
				continue
			}
			a.used[name] = true
			if !ok || !(contains(def.static, k) || contains(def.attrLike, k)) {
				dataUse[name] = true
			}
			if n.GetOpType() == "BatchNormalization" && (k == 3 || k == 4) {
				stats[name] = true
			}
		}
	}
	for _, o := range g.GetOutput() {
		a.used[o.GetName()] = true
		dataUse[o.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		name := t.GetName()
		dt := onnx.DataType(t.GetDataType())
		if onnx.IsFloat(dt) && (dataUse[name] || !a.used[name]) {
			data, shape, err := onnx.TensorFloat64(t)
			if err != nil {
				a.errs = append(a.errs, fmt.Errorf("initializer %q: %w", name, err))
				continue
			}
			a.params = append(a.params, Param{Name: name, Shape: shape, Data: data, Trainable: !stats[name]})
			info[name] = valueInfo{present: true, elem: dt}
			continue
		}
		c, err := tensorConst(t)
		if err != nil {
			a.errs = append(a.errs, fmt.Errorf("initializer %q: %w", name, err))
			continue
		}
		a.consts[name] = c
		info[name] = valueInfo{present: true, isConst: true, isInt: c.isInt, elem: dt}
	}
}

// graphInputs checks the element types of the graph inputs.
func (a *analysis) graphInputs(g *onnx.GraphProto, info map[string]valueInfo) {
	for _, v := range g.GetInput() {
		if _, ok := a.inits[v.GetName()]; ok {
			continue
		}
		_, elem, err := onnx.ValueInfoShape(v)
		switch {
		case err != nil:
			a.errs = append(a.errs, fmt.Errorf("input %q: %w", v.GetName(), err))
		case !onnx.IsFloat(elem) && elem != onnx.TensorProto_INT64:
			a.errs = append(a.errs, fmt.Errorf("input %q: element type %v is not supported (want a floating-point type or INT64)", v.GetName(), elem))
		}
		// Integer inputs (shapes, axes, indices) are read when the graph
		// is built: Apply takes their values from the nodes given.
		isInt := elem == onnx.TensorProto_INT64
		info[v.GetName()] = valueInfo{present: true, isInt: isInt, isConst: isInt, elem: elem}
	}
}

// nodes checks every node against the op table, in graph order, and
// records what is known about its outputs.
func (a *analysis) nodes(m *onnx.ModelProto, info map[string]valueInfo) {
	for i, n := range m.GetGraph().GetNode() {
		op := n.GetOpType()
		domain := n.GetDomain()
		opset := a.opset
		if domain != "" && domain != "ai.onnx" {
			op = domain + "." + op
			opset = onnx.OpsetVersion(m, domain)
		}
		in := make([]valueInfo, len(n.GetInput()))
		for k, name := range n.GetInput() {
			if name != "" {
				in[k] = info[name]
			}
		}
		out := valueInfo{present: true}
		why, known := checkNode(n, op, opset, in)
		if why != "" {
			a.errs = append(a.errs, &UnsupportedError{Index: i, Node: n.GetName(), Op: op, Opset: opset, Reason: why})
		}
		if known {
			out = outInfo(n, opTable[op], in)
		}
		for k, name := range n.GetOutput() {
			o := out
			if op == "Dropout" && k == 1 {
				o = valueInfo{present: true, isConst: true, isInt: true}
			}
			info[name] = o
		}
	}
}

// checkNode returns why node n (op, with its domain outside the default
// one) cannot be built, or "", and whether the op table has op in this
// opset (then the node's outputs are described even if its attributes or
// inputs are not supported).
func checkNode(n *onnx.NodeProto, op string, opset int64, in []valueInfo) (why string, known bool) {
	def, ok := opTable[op]
	switch {
	case !ok:
		return "unsupported op", false
	case opset < def.since || opset > def.until:
		return fmt.Sprintf("unsupported op (supported in opsets %d to %d)", def.since, def.until), false
	}
	err := checkArity(n, opset)
	if err == nil && def.check != nil {
		err = def.check(n, opset, in)
	}
	for _, k := range def.static {
		if err == nil && k < len(in) && in[k].present && !in[k].isConst {
			err = fmt.Errorf("input %d (%q) must be known when the graph is built: a constant, an initializer or a shape computation", k, n.GetInput()[k])
		}
	}
	if err != nil {
		return err.Error(), true
	}
	return "", true
}

// outInfo says what is statically known about the outputs of n.
func outInfo(n *onnx.NodeProto, def opDef, in []valueInfo) valueInfo {
	allConst, allInt := true, true
	for _, v := range in {
		if v.present {
			allConst = allConst && v.isConst
			allInt = allInt && v.isInt
		}
	}
	out := valueInfo{present: true, isConst: def.fold && allConst}
	first := len(in) > 0 && in[0].isInt
	switch op := n.GetOpType(); op {
	case "Shape", "Equal":
		return valueInfo{present: true, isConst: true, isInt: true}
	case "Constant", "ConstantOfShape":
		out.isConst = true
		if tp := onnx.AttrTensor(n, "value"); tp != nil {
			out.isInt = isIntType(onnx.DataType(tp.GetDataType()))
		} else {
			out.isInt = onnx.HasAttr(n, "value_int") || onnx.HasAttr(n, "value_ints")
		}
	case "Range":
		out.isConst, out.isInt = true, allInt
	case "Cast":
		out.isInt = castKind(onnx.AttrInt(n, "to", 0)) != "float"
	case "CastLike":
		out.isInt = len(in) > 1 && in[1].isInt
		out.isConst = def.fold && in[0].isConst
	case "Where":
		out.isInt = len(in) > 2 && in[1].isInt && in[2].isInt
	case "Add", "Sub", "Mul", "Div", "Neg":
		// Computed integer arithmetic runs in floating point.
		out.isInt = allInt && allConst
	case "Identity", "Dropout", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose",
		"Split", "Slice", "Tile", "Gather", "Expand":
		out.isInt = first
	case "Concat":
		out.isInt = allInt
	}
	return out
}

// Inputs returns the graph inputs, initializers excluded.
func (n *Network) Inputs() []Port { return append([]Port{}, n.inputs...) }

// Outputs returns the graph outputs.
func (n *Network) Outputs() []Port { return append([]Port{}, n.outputs...) }

// Params returns the parameters in initializer order. The Data slices are
// the Network's own: do not modify them.
func (n *Network) Params() []Param { return append([]Param{}, n.params...) }

// Opset returns the version of the default ONNX operator set the model
// imports.
func (n *Network) Opset() int64 { return n.opset }

// OpHistogram returns how many nodes of each op type the graph has.
func (n *Network) OpHistogram() map[string]int {
	h := make(map[string]int)
	for _, nd := range n.nodes {
		h[nd.GetOpType()]++
	}
	return h
}

// ParamCount returns the number of trainable scalars, as PyTorch counts
// parameters (running statistics excluded).
func (n *Network) ParamCount() int {
	c := 0
	for _, p := range n.params {
		if p.Trainable {
			c += len(p.Data)
		}
	}
	return c
}

// A ParamSet holds a Network's parameters as leaves of one tape, so that
// several Apply calls (say, the energy of data and of samples) share them.
type ParamSet struct {
	Nodes     []*autodiff.Node // in the order of Network.Params
	ByName    map[string]*autodiff.Node
	trainable []bool
}

// NewParams adds the parameters to t as variables of t's element type,
// initialized with the model's values.
func (n *Network) NewParams(t *autodiff.Tape) *ParamSet {
	ps := &ParamSet{ByName: make(map[string]*autodiff.Node, len(n.params))}
	for _, p := range n.params {
		node := t.Variable(p.Name, autodiff.FromFloat64s(t.Dtype(), p.Shape, p.Data))
		ps.Nodes = append(ps.Nodes, node)
		ps.ByName[p.Name] = node
		ps.trainable = append(ps.trainable, p.Trainable)
	}
	return ps
}

// Trainable returns the nodes of the trainable parameters, in order.
func (ps *ParamSet) Trainable() []*autodiff.Node {
	var out []*autodiff.Node
	for i, node := range ps.Nodes {
		if ps.trainable[i] {
			out = append(out, node)
		}
	}
	return out
}

// ApplyOptions tune how Apply builds a network.
type ApplyOptions struct {
	// Training makes BatchNormalization normalize with the statistics of
	// the current batch, as PyTorch does in train mode (generators train
	// that way). Dropout stays the identity.
	Training bool
}

// DefaultApplyOptions returns the inference-mode options.
func DefaultApplyOptions() ApplyOptions { return ApplyOptions{} }

// Check reports every invalid option; every ApplyOptions is valid (the
// method is there so that every options struct has one).
func (o *ApplyOptions) Check() error { return nil }

// Apply builds the forward pass of the network on t with the parameters
// ps (from NewParams on the same tape) and one node per graph input, and
// returns one node per graph output. The inputs' shapes bind the model's
// symbolic dimensions (such as "batch"); fixed dimensions must match.
// Integer (INT64) inputs must be Int64 nodes.
func (n *Network) Apply(t *autodiff.Tape, ps *ParamSet, opt ApplyOptions, inputs ...*autodiff.Node) ([]*autodiff.Node, error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	if ps == nil || len(ps.Nodes) != len(n.params) {
		return nil, fmt.Errorf("Apply: parameter set does not belong to this network")
	}
	if err := n.bind(inputs); err != nil {
		return nil, err
	}
	vals := make(map[string]value, len(n.nodes)+len(n.params)+len(n.inputs))
	for name, c := range n.consts {
		vals[name] = constVal(c)
	}
	for i, p := range n.params {
		if ps.Nodes[i] == nil {
			return nil, fmt.Errorf("Apply: parameter %q has no node", p.Name)
		}
		vals[p.Name] = nodeVal(ps.Nodes[i])
	}
	for i, p := range n.inputs {
		if p.Elem != onnx.TensorProto_INT64 {
			vals[p.Name] = nodeVal(inputs[i])
			continue
		}
		c, err := intInput(inputs[i])
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", p.Name, err)
		}
		vals[p.Name] = constVal(c)
	}
	b := &builder{t: t, opset: n.opset, opt: opt, used: n.used, maxElems: n.maxElems}
	for i, nd := range n.nodes {
		out, err := n.lower(b, nd, vals)
		if err == nil {
			err = t.Err()
		}
		if err == nil {
			err = b.checkOutputs(out)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", nodeLabel(i, nd.GetName(), nd.GetOpType(), n.opset), err)
		}
		for k, name := range nd.GetOutput() {
			if name != "" && k < len(out) && out[k].ok() {
				vals[name] = out[k]
			}
		}
	}
	outs := make([]*autodiff.Node, len(n.outputs))
	for i, p := range n.outputs {
		v, ok := vals[p.Name]
		if !ok {
			return nil, fmt.Errorf("output %q was not computed", p.Name)
		}
		outs[i] = b.node(v)
	}
	return outs, t.Err()
}

func (n *Network) lower(b *builder, nd *onnx.NodeProto, vals map[string]value) ([]value, error) {
	def := opTable[nd.GetOpType()]
	in := make([]value, len(nd.GetInput()))
	for k, name := range nd.GetInput() {
		if name == "" {
			continue
		}
		v, ok := vals[name]
		if !ok {
			return nil, fmt.Errorf("input %q is not computed", name)
		}
		in[k] = v
	}
	for _, k := range def.static {
		if k < len(in) && in[k].ok() && in[k].c == nil {
			return nil, fmt.Errorf("input %d (%q) must be known when the graph is built", k, nd.GetInput()[k])
		}
	}
	return def.lower(b, nd, in)
}

// intInput reads the value of an integer input node, which must have one
// when the graph is built.
func intInput(x *autodiff.Node) (*constant, error) {
	if !x.HasValue() {
		return nil, errors.New("an integer input needs a value when the graph is built (use Tape.Variable)")
	}
	v := x.Int64s()
	if v == nil {
		return nil, fmt.Errorf("value of type %v, want int64", x.Dtype())
	}
	return intConst(x.Shape(), append([]int64(nil), v...)), nil
}

// bind checks the input nodes against the model's inputs: element types,
// ranks and fixed dimensions must match, and each symbolic dimension must
// have one size across all inputs.
func (n *Network) bind(inputs []*autodiff.Node) error {
	if len(inputs) != len(n.inputs) {
		names := make([]string, len(n.inputs))
		for i, p := range n.inputs {
			names[i] = p.Name
		}
		return fmt.Errorf("Apply: %d inputs given, the model has %d %q", len(inputs), len(n.inputs), names)
	}
	sym := make(map[string]int)
	for i, p := range n.inputs {
		x := inputs[i]
		if x == nil {
			return fmt.Errorf("input %q: nil node", p.Name)
		}
		wantInt := p.Elem == onnx.TensorProto_INT64
		if isInt := x.Dtype() == autodiff.Int64; isInt != wantInt {
			return fmt.Errorf("input %q: node of type %v for a model input of type %v", p.Name, x.Dtype(), p.Elem)
		}
		s := []int(x.Shape())
		if p.Dims == nil {
			continue
		}
		if len(s) != len(p.Dims) {
			return fmt.Errorf("input %q: shape %v has rank %d, the model wants rank %d %v", p.Name, s, len(s), len(p.Dims), p.Dims)
		}
		for k, d := range p.Dims {
			switch {
			case d.Param != "":
				if v, ok := sym[d.Param]; ok && v != s[k] {
					return fmt.Errorf("input %q: dimension %d (%s) is %d, but %s is %d in an earlier input", p.Name, k, d.Param, s[k], d.Param, v)
				}
				sym[d.Param] = s[k]
			case d.Value > 0 && int64(s[k]) != d.Value:
				return fmt.Errorf("input %q: dimension %d is %d, the model fixes it at %d", p.Name, k, s[k], d.Value)
			}
		}
	}
	return nil
}

// SupportedOps returns the op types the importer supports, sorted.
func SupportedOps() []string {
	out := make([]string, 0, len(opTable))
	for op := range opTable {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}
