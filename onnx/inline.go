package onnx

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
)

// MaxInlinedNodes bounds the number of nodes InlineFunctions may create, so
// that functions calling each other several times cannot blow a small file
// up into an exponentially large graph.
const MaxInlinedNodes = 1 << 20

// InlineFunctions replaces every call of a model-local function
// (ModelProto.functions, as PyTorch's dynamo exporter can write them) in the
// main graph and its subgraphs by the function's body, and then removes the
// functions, so that the graph holds only operators of imported operator
// sets. Calls inside function bodies are inlined too.
//
// A node calls a function when its domain, op_type and overload are the
// function's domain, name and overload. Inlining binds the function's
// inputs and outputs to the node's (an input the node omits reads as the
// empty name, an omitted optional value; an output it omits gets a fresh
// name), gives every other value and every node of the body a fresh name
// unique in the graph (prefixed with the calling node's name), and
// resolves attribute references (ref_attr_name) to the calling node's
// attribute, else to the function's default (attribute_proto), else drops
// the attribute. The operator sets the functions import are added to the
// model's, and the imports of the functions' own domains are dropped once no
// node uses them.
//
// m is changed only on success. Errors name the calling node and the
// function: a call with more inputs or outputs than the function declares,
// a function that calls itself, two functions of the same name, an
// operator set a function imports at another version than the model, more
// than MaxInlinedNodes nodes.
func InlineFunctions(m *ModelProto) error {
	return inlineFunctions(m, MaxInlinedNodes)
}

// inlineFunctions is InlineFunctions with a limit on the nodes it creates.
func inlineFunctions(m *ModelProto, limit int) error {
	if m == nil || m.GetGraph() == nil {
		return errors.New("onnx: inline functions: model has no graph")
	}
	if len(m.GetFunctions()) == 0 {
		return nil
	}
	out := proto.Clone(m).(*ModelProto)
	in, err := newInliner(out, limit)
	if err == nil {
		err = in.graph(out.Graph, nil)
	}
	if err != nil {
		return fmt.Errorf("onnx: inline functions: %w", err)
	}
	out.Functions = nil
	in.dropUnusedDomains(out)
	proto.Reset(m)
	proto.Merge(m, out)
	return nil
}

// inliner holds the state of one InlineFunctions call.
type inliner struct {
	m       *ModelProto
	funcs   map[string]*FunctionProto
	opsets  map[string]int64 // the model's imports, by normalized domain
	used    map[string]bool  // value and node names taken in the model
	created int              // nodes created so far
	limit   int              // on created
}

func funcKey(domain, name, overload string) string {
	return defaultDomain(domain) + "\x00" + name + "\x00" + overload
}

// funcLabel names a function in messages.
func funcLabel(f *FunctionProto) string {
	s := fmt.Sprintf("function %q", f.GetName())
	if f.GetDomain() != "" {
		s = fmt.Sprintf("function %q of domain %q", f.GetName(), f.GetDomain())
	}
	if f.GetOverload() != "" {
		s += fmt.Sprintf(" (overload %q)", f.GetOverload())
	}
	return s
}

func newInliner(m *ModelProto, limit int) (*inliner, error) {
	in := &inliner{m: m, funcs: map[string]*FunctionProto{}, opsets: map[string]int64{}, used: map[string]bool{}, limit: limit}
	for _, f := range m.GetFunctions() {
		k := funcKey(f.GetDomain(), f.GetName(), f.GetOverload())
		if in.funcs[k] != nil {
			return nil, fmt.Errorf("%s is defined twice", funcLabel(f))
		}
		in.funcs[k] = f
	}
	for _, op := range m.GetOpsetImport() {
		in.opsets[defaultDomain(op.GetDomain())] = op.GetVersion()
	}
	in.takeNames(m.GetGraph())
	return in, nil
}

// takeNames marks every value and node name of g and its subgraphs as used.
func (in *inliner) takeNames(g *GraphProto) {
	for _, v := range g.GetInput() {
		in.used[v.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		in.used[t.GetName()] = true
	}
	for _, n := range g.GetNode() {
		in.used[n.GetName()] = true
		for _, s := range append(n.GetInput(), n.GetOutput()...) {
			in.used[s] = true
		}
		for _, a := range n.GetAttribute() {
			for _, sub := range subgraphs(a) {
				in.takeNames(sub)
			}
		}
	}
}

// subgraphs returns the graphs an attribute holds.
func subgraphs(a *AttributeProto) []*GraphProto {
	if a.GetG() != nil {
		return append([]*GraphProto{a.GetG()}, a.GetGraphs()...)
	}
	return a.GetGraphs()
}

// fresh returns base, or base with a numeric suffix, not yet used.
func (in *inliner) fresh(base string) string {
	name := base
	for i := 1; in.used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	in.used[name] = true
	return name
}

// graph inlines the calls in g and in its subgraphs, in place. stack lists
// the functions being inlined, to catch recursion.
func (in *inliner) graph(g *GraphProto, stack []*FunctionProto) error {
	nodes, err := in.nodes(g.GetNode(), stack)
	if err != nil {
		return err
	}
	g.Node = nodes
	return nil
}

// nodes returns the nodes with every call of a function replaced by its
// inlined body.
func (in *inliner) nodes(nodes []*NodeProto, stack []*FunctionProto) ([]*NodeProto, error) {
	var out []*NodeProto
	for i, n := range nodes {
		f := in.funcs[funcKey(n.GetDomain(), n.GetOpType(), n.GetOverload())]
		if f == nil {
			for _, a := range n.GetAttribute() {
				for _, sub := range subgraphs(a) {
					if err := in.graph(sub, stack); err != nil {
						return nil, err
					}
				}
			}
			out = append(out, n)
			continue
		}
		body, err := in.call(NodeLabel(i, n), n, f, stack)
		if err != nil {
			return nil, err
		}
		out = append(out, body...)
	}
	return out, nil
}

// call returns the inlined body of f for the calling node n, labelled
// where in messages.
func (in *inliner) call(where string, n *NodeProto, f *FunctionProto, stack []*FunctionProto) ([]*NodeProto, error) {
	for _, s := range stack {
		if s == f {
			var chain []string
			for _, s := range stack {
				chain = append(chain, fmt.Sprintf("%q", s.GetName()))
			}
			return nil, fmt.Errorf("%s: %s calls itself (%s -> %q)", where, funcLabel(f), strings.Join(chain, " -> "), f.GetName())
		}
	}
	if len(n.GetInput()) > len(f.GetInput()) || len(n.GetOutput()) > len(f.GetOutput()) {
		return nil, fmt.Errorf("%s: calls %s with %d inputs and %d outputs; it has %d and %d",
			where, funcLabel(f), len(n.GetInput()), len(n.GetOutput()), len(f.GetInput()), len(f.GetOutput()))
	}
	if err := in.importOpsets(where, f); err != nil {
		return nil, err
	}
	prefix := n.GetName()
	if prefix == "" {
		prefix = f.GetName()
	}
	s := &instance{in: in, prefix: prefix, rename: map[string]string{"": ""}, attrs: map[string]*AttributeProto{}}
	for _, a := range f.GetAttributeProto() {
		s.attrs[a.GetName()] = a
	}
	for _, a := range n.GetAttribute() {
		s.attrs[a.GetName()] = a
	}
	for i, name := range f.GetInput() {
		s.rename[name] = ""
		if i < len(n.GetInput()) {
			s.rename[name] = n.GetInput()[i]
		}
	}
	for i, name := range f.GetOutput() {
		if i < len(n.GetOutput()) && n.GetOutput()[i] != "" {
			s.rename[name] = n.GetOutput()[i]
		}
	}
	body := make([]*NodeProto, len(f.GetNode()))
	for i, bn := range f.GetNode() {
		body[i] = s.node(bn)
	}
	if in.created += len(body); in.created > in.limit {
		return nil, fmt.Errorf("%s: inlining %s makes more than %d nodes", where, funcLabel(f), in.limit)
	}
	for _, v := range f.GetValueInfo() {
		if name, ok := s.rename[v.GetName()]; ok && name != "" {
			vi := proto.Clone(v).(*ValueInfoProto)
			vi.Name = &name
			in.m.Graph.ValueInfo = append(in.m.Graph.ValueInfo, vi)
		}
	}
	body, err := in.nodes(body, append(stack[:len(stack):len(stack)], f))
	if err != nil {
		return nil, fmt.Errorf("%s: in %s: %w", where, funcLabel(f), err)
	}
	return body, nil
}

// importOpsets adds the operator sets f imports to the model's, refusing
// one imported at another version.
func (in *inliner) importOpsets(where string, f *FunctionProto) error {
	for _, op := range f.GetOpsetImport() {
		d := defaultDomain(op.GetDomain())
		v, ok := in.opsets[d]
		switch {
		case !ok:
			in.opsets[d] = op.GetVersion()
			in.m.OpsetImport = append(in.m.OpsetImport, &OperatorSetIdProto{Domain: ptr(op.GetDomain()), Version: ptr(op.GetVersion())})
		case v != op.GetVersion():
			return fmt.Errorf("%s: %s imports domain %q at version %d, the model at version %d", where, funcLabel(f), op.GetDomain(), op.GetVersion(), v)
		}
	}
	return nil
}

// dropUnusedDomains removes from m's operator set imports the domains of
// the (inlined) local functions that no node uses any more.
func (in *inliner) dropUnusedDomains(m *ModelProto) {
	fdomains := map[string]bool{}
	for _, f := range in.funcs {
		fdomains[defaultDomain(f.GetDomain())] = true
	}
	usedDomains := map[string]bool{}
	var walk func(g *GraphProto)
	walk = func(g *GraphProto) {
		for _, n := range g.GetNode() {
			usedDomains[defaultDomain(n.GetDomain())] = true
			for _, a := range n.GetAttribute() {
				for _, sub := range subgraphs(a) {
					walk(sub)
				}
			}
		}
	}
	walk(m.GetGraph())
	var keep []*OperatorSetIdProto
	for _, op := range m.GetOpsetImport() {
		d := defaultDomain(op.GetDomain())
		if d == "" || !fdomains[d] || usedDomains[d] {
			keep = append(keep, op)
		}
	}
	m.OpsetImport = keep
}

// instance is one inlined call: the renaming of the body's values and the
// attributes the body's references resolve to.
type instance struct {
	in     *inliner
	prefix string
	rename map[string]string          // body value name -> graph value name
	attrs  map[string]*AttributeProto // the call's attributes over the defaults
}

// name returns the graph name of the body value name, making a fresh one
// on first use.
func (s *instance) name(name string) string {
	if r, ok := s.rename[name]; ok {
		return r
	}
	r := s.in.fresh(s.prefix + "/" + name)
	s.rename[name] = r
	return r
}

// node returns a renamed copy of the body node n with its attribute
// references resolved.
func (s *instance) node(n *NodeProto) *NodeProto {
	c := proto.Clone(n).(*NodeProto)
	base := n.GetName()
	if base == "" {
		base = n.GetOpType()
	}
	c.Name = ptr(s.in.fresh(s.prefix + "/" + base))
	for i, v := range c.Input {
		c.Input[i] = s.name(v)
	}
	for i, v := range c.Output {
		c.Output[i] = s.name(v)
	}
	c.Attribute = s.attributes(c.Attribute)
	return c
}

// attributes resolves the references among attrs, which take the value
// of the call's attribute (or the function's default) under their own
// name, and renames the values of the subgraphs of the body's own
// attributes.
func (s *instance) attributes(attrs []*AttributeProto) []*AttributeProto {
	var out []*AttributeProto
	for _, a := range attrs {
		if ref := a.GetRefAttrName(); ref != "" {
			v := s.attrs[ref]
			if v == nil {
				continue // neither set by the call nor defaulted: absent
			}
			name := a.GetName()
			a = proto.Clone(v).(*AttributeProto)
			a.Name = &name
			out = append(out, a)
			continue
		}
		for _, g := range subgraphs(a) {
			s.subgraph(g)
		}
		out = append(out, a)
	}
	return out
}

// subgraph renames, in place, the values of a subgraph of a body node and
// resolves the attribute references of its nodes.
func (s *instance) subgraph(g *GraphProto) {
	for _, v := range append(append(g.GetInput(), g.GetOutput()...), g.GetValueInfo()...) {
		v.Name = ptr(s.name(v.GetName()))
	}
	for _, t := range g.GetInitializer() {
		t.Name = ptr(s.name(t.GetName()))
	}
	for _, n := range g.GetNode() {
		for i, v := range n.Input {
			n.Input[i] = s.name(v)
		}
		for i, v := range n.Output {
			n.Output[i] = s.name(v)
		}
		n.Attribute = s.attributes(n.Attribute)
	}
}
