package onnx

import (
	"errors"
	"fmt"
	"strings"
)

// defaultDomain normalises the two names of the default ONNX operator set.
func defaultDomain(domain string) string {
	if domain == "ai.onnx" {
		return ""
	}
	return domain
}

// OpsetVersion returns the version of the operator set for domain that m
// imports, or 0 if it imports none. The domains "" and "ai.onnx" are the
// same, the default ONNX operator set.
func OpsetVersion(m *ModelProto, domain string) int64 {
	domain = defaultDomain(domain)
	for _, op := range m.GetOpsetImport() {
		if defaultDomain(op.GetDomain()) == domain {
			return op.GetVersion()
		}
	}
	return 0
}

// maxProblems bounds how many problems Validate reports.
const maxProblems = 20

// Validate checks m against the structural rules of the ONNX IR, those
// onnx.checker enforces plus a few it leaves to shape inference or to the
// runtime (data sizes, defined graph outputs, value_info element types):
//
//   - ir_version is set, there is a graph, at least one operator set is
//     imported, and so is the domain of every node ("" and "ai.onnx" being
//     the same default domain);
//   - nodes are in topological order: every non-empty node input is a graph
//     input, an initializer or the output of an earlier node (values of
//     enclosing graphs are visible inside subgraphs); nodes that feed each
//     other are reported as a cycle, naming its nodes;
//   - every value is defined once (static single assignment): node outputs
//     are unique and shadow no input or initializer;
//   - graph outputs are defined;
//   - initializers and tensor attributes have a data type and as many
//     elements as their dims say;
//   - nodes have an op_type;
//   - main-graph inputs and outputs have a tensor element type and a shape,
//     and tensor value_info entries an element type.
//
// It does not check operator semantics (known op types, attribute names,
// type inference). Validate reports every problem it finds, up to 20,
// joined with errors.Join, each naming the graph, node and value at fault;
// it returns nil for a valid model.
func Validate(m *ModelProto) error {
	if m == nil {
		return errors.New("onnx: invalid model: nil model")
	}
	c := &checker{opsets: map[string]bool{}, irVersion: m.GetIrVersion()}
	if c.irVersion <= 0 {
		c.addf("ir_version is not set")
	}
	for _, op := range m.GetOpsetImport() {
		c.opsets[defaultDomain(op.GetDomain())] = true
	}
	if len(c.opsets) == 0 {
		c.addf("model imports no operator set")
	}
	if m.GetGraph() == nil {
		c.addf("model has no graph")
	} else {
		c.graph(m.GetGraph(), fmt.Sprintf("graph %q", m.GetGraph().GetName()), nil, true)
	}
	if c.dropped > 0 {
		c.errs = append(c.errs, fmt.Errorf("... and %d more problems", c.dropped))
	}
	if len(c.errs) > 0 {
		return fmt.Errorf("onnx: invalid model: %w", errors.Join(c.errs...))
	}
	return nil
}

type checker struct {
	opsets    map[string]bool // imported domains, "" for the default one
	irVersion int64
	errs      []error
	dropped   int
}

func (c *checker) addf(format string, args ...any) {
	if len(c.errs) == maxProblems {
		c.dropped++
		return
	}
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// scope is the set of value names defined so far in a graph, with the scope
// of the enclosing graph as parent.
type scope struct {
	parent *scope
	names  map[string]bool
}

func (s *scope) has(name string) bool {
	for ; s != nil; s = s.parent {
		if s.names[name] {
			return true
		}
	}
	return false
}

// NodeLabel names a node for error messages: `node "NAME" (Op)`, or by
// its index when it has no name.
func NodeLabel(i int, n *NodeProto) string { return NodeLabelOf(i, n.GetName(), n.GetOpType()) }

// NodeLabelOf is NodeLabel of node i named name (empty for none), with
// about in the parentheses, such as "Conv, opset 13".
func NodeLabelOf(i int, name, about string) string {
	if name != "" {
		return fmt.Sprintf("node %q (%s)", name, about)
	}
	return fmt.Sprintf("node #%d (%s)", i, about)
}

// graph checks g, whose description in messages is where. Subgraphs see the
// values of outer; main says whether g is the model's top-level graph.
func (c *checker) graph(g *GraphProto, where string, outer *scope, main bool) {
	s := &scope{parent: outer, names: map[string]bool{}}

	inputs := map[string]bool{}
	for i, v := range g.GetInput() {
		c.valueInfo(v, where, fmt.Sprintf("input #%d", i), main)
		if v.GetName() == "" {
			continue
		}
		if inputs[v.GetName()] {
			c.addf("%s: input %q is defined twice", where, v.GetName())
		}
		inputs[v.GetName()] = true
		s.names[v.GetName()] = true
	}

	inits := map[string]bool{}
	for i, t := range g.GetInitializer() {
		name := t.GetName()
		if name == "" {
			c.addf("%s: initializer #%d has no name", where, i)
			continue
		}
		if inits[name] {
			c.addf("%s: initializer %q is defined twice", where, name)
		}
		inits[name] = true
		s.names[name] = true
		if c.irVersion > 0 && c.irVersion <= 3 && !inputs[name] {
			c.addf("%s: initializer %q is not a graph input, as IR version %d requires", where, name, c.irVersion)
		}
		if t.GetDataType() == int32(TensorProto_UNDEFINED) {
			c.addf("%s: initializer %q has no data type", where, name)
			continue
		}
		if t.GetDataLocation() == TensorProto_EXTERNAL {
			continue // the data is in another file; its size is not known here
		}
		if _, _, err := checkTensor(t); err != nil {
			c.addf("%s: initializer: %v", where, err)
		}
	}
	for _, st := range g.GetSparseInitializer() {
		if name := st.GetValues().GetName(); name != "" {
			s.names[name] = true
		}
	}

	// Every output defined anywhere in this graph, to tell an input used
	// too early from one never defined.
	later := map[string]bool{}
	for _, n := range g.GetNode() {
		for _, out := range n.GetOutput() {
			later[out] = true
		}
	}
	inCycle := c.cycles(g, where)

	for i, n := range g.GetNode() {
		node := where + ": " + NodeLabel(i, n)
		if n.GetOpType() == "" {
			c.addf("%s: op_type is empty", node)
		}
		if !c.opsets[defaultDomain(n.GetDomain())] {
			c.addf("%s: no opset import for domain %q", node, n.GetDomain())
		}
		for _, in := range n.GetInput() {
			switch {
			case in == "" || s.has(in):
			case later[in] && inCycle[in]:
				// reported with its cycle
			case later[in]:
				c.addf("%s: input %q is used before the node that defines it (nodes must be in topological order)", node, in)
			default:
				c.addf("%s: input %q is not defined by a graph input, initializer or earlier node", node, in)
			}
		}
		c.attributes(n, node, s)
		for _, out := range n.GetOutput() {
			if out == "" {
				continue // an omitted optional output
			}
			if s.has(out) {
				c.addf("%s: output %q is already defined (values must be assigned once)", node, out)
			}
			s.names[out] = true
		}
	}

	for i, v := range g.GetOutput() {
		c.valueInfo(v, where, fmt.Sprintf("output #%d", i), main)
		if name := v.GetName(); name != "" && !s.has(name) {
			c.addf("%s: output %q is not defined by any node, input or initializer", where, name)
		}
	}
	for i, v := range g.GetValueInfo() {
		c.valueInfo(v, where, fmt.Sprintf("value_info #%d", i), false)
	}
}

// attributes checks the attributes of the node n, described in messages
// as node; their subgraphs see the values of s.
func (c *checker) attributes(n *NodeProto, node string, s *scope) {
	for j, a := range n.GetAttribute() {
		if a.GetName() == "" {
			c.addf("%s: attribute #%d has no name", node, j)
		}
		for _, t := range append([]*TensorProto{a.GetT()}, a.GetTensors()...) {
			if t == nil || t.GetDataLocation() == TensorProto_EXTERNAL {
				continue
			}
			if _, _, err := checkTensor(t); err != nil {
				c.addf("%s: attribute %q: %v", node, a.GetName(), err)
			}
		}
		if sub := a.GetG(); sub != nil {
			c.graph(sub, fmt.Sprintf("%s: attribute %q: graph %q", node, a.GetName(), sub.GetName()), s, false)
		}
		for k, sub := range a.GetGraphs() {
			c.graph(sub, fmt.Sprintf("%s: attribute %q: graph #%d %q", node, a.GetName(), k, sub.GetName()), s, false)
		}
	}
}

// valueInfo checks the description of a graph input, output or
// intermediate value, which label names with its index ("input #0").
// Subgraph inputs and outputs may omit their type; main-graph ones need a
// full tensor type.
func (c *checker) valueInfo(v *ValueInfoProto, where, label string, main bool) {
	if v.GetName() == "" {
		c.addf("%s: %s has no name", where, label)
		return
	}
	kind, _, _ := strings.Cut(label, " ")
	tt := v.GetType().GetTensorType()
	if main && v.GetType() == nil {
		c.addf("%s: %s %q has no type", where, kind, v.GetName())
	}
	if tt == nil {
		return
	}
	if (main || kind == "value_info") && tt.GetElemType() == int32(TensorProto_UNDEFINED) {
		c.addf("%s: %s %q has no element type", where, kind, v.GetName())
	}
	if main && tt.Shape == nil {
		c.addf("%s: %s %q has no shape", where, kind, v.GetName())
	}
}

// cycles reports each cycle among the nodes of g (nodes that read, directly
// or not, their own output), naming its nodes in the order data flows, and
// returns the values that flow along the reported cycles.
func (c *checker) cycles(g *GraphProto, where string) map[string]bool {
	nodes := g.GetNode()
	producer := map[string]int{}
	for i, n := range nodes {
		for _, out := range n.GetOutput() {
			if _, ok := producer[out]; !ok && out != "" {
				producer[out] = i
			}
		}
	}
	// Kahn's algorithm: the nodes it cannot order are on a cycle or
	// downstream of one.
	indeg := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	for i, n := range nodes {
		for _, in := range n.GetInput() {
			if p, ok := producer[in]; ok {
				indeg[i]++
				users[p] = append(users[p], i)
			}
		}
	}
	queue := []int{}
	for i, d := range indeg {
		if d == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, u := range users[i] {
			if indeg[u]--; indeg[u] == 0 {
				queue = append(queue, u)
			}
		}
	}
	// From each unordered node, walk back through unordered producers
	// until a node repeats: the walk from there is a cycle.
	flows := map[string]bool{}
	done := make([]bool, len(nodes))
	for start := range nodes {
		if indeg[start] == 0 || done[start] {
			continue
		}
		step := map[int]int{} // node -> position in path
		var path []int
		var via []string // via[k]: the value path[k] reads from path[k+1]
		i := start
		for !done[i] {
			if _, seen := step[i]; seen {
				c.addCycle(where, nodes, path[step[i]:], via[step[i]:], flows)
				break
			}
			step[i] = len(path)
			path = append(path, i)
			for _, in := range nodes[i].GetInput() {
				if p, ok := producer[in]; ok && indeg[p] > 0 {
					via = append(via, in)
					i = p
					break
				}
			}
		}
		for _, k := range path {
			done[k] = true
		}
	}
	return flows
}

// addCycle reports the cycle whose nodes, walked against the data flow, are
// path (path[k] reads via[k] from path[k+1], and the last node reads its
// value from path[0]); it adds the values to flows.
func (c *checker) addCycle(where string, nodes []*NodeProto, path []int, via []string, flows map[string]bool) {
	var b strings.Builder
	b.WriteString(NodeLabel(path[0], nodes[path[0]]))
	for k := len(path) - 1; k >= 0; k-- {
		fmt.Fprintf(&b, " -> %q -> %s", via[k], NodeLabel(path[k], nodes[path[k]]))
		flows[via[k]] = true
	}
	c.addf("%s: nodes form a cycle: %s", where, b.String())
}
