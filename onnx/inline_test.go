package onnx

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// walkNodes calls fn on every node of g and of its subgraphs.
func walkNodes(g *GraphProto, fn func(*NodeProto)) {
	for _, n := range g.GetNode() {
		fn(n)
		for _, a := range n.GetAttribute() {
			for _, sub := range subgraphs(a) {
				walkNodes(sub, fn)
			}
		}
	}
}

func TestInlineFunctionsFixture(t *testing.T) {
	m, err := Load(filepath.Join(opsetDir, "energy_functions_o18.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(m); err != nil {
		t.Fatal(err)
	}
	local := map[string]bool{}
	for _, f := range m.GetFunctions() {
		local[f.GetDomain()+":"+f.GetName()] = true
	}
	if len(local) != 3 {
		t.Fatalf("the fixture has %d local functions, want 3", len(local))
	}
	// The Python writer predates FunctionProto.attribute_proto; check that
	// the default it appended as raw bytes decodes.
	defaults := 0
	for _, f := range m.GetFunctions() {
		defaults += len(f.GetAttributeProto())
	}
	if defaults != 1 {
		t.Fatalf("the fixture's functions have %d attribute defaults, want 1", defaults)
	}

	if err := InlineFunctions(m); err != nil {
		t.Fatal(err)
	}
	if err := Validate(m); err != nil {
		t.Fatalf("the inlined model is invalid: %v", err)
	}
	if len(m.GetFunctions()) != 0 {
		t.Errorf("%d functions left", len(m.GetFunctions()))
	}
	ops := map[string]int{}
	names := map[string]bool{}
	var alphas []float32
	walkNodes(m.GetGraph(), func(n *NodeProto) {
		if local[n.GetDomain()+":"+n.GetOpType()] {
			t.Errorf("node %q still calls %s:%s", n.GetName(), n.GetDomain(), n.GetOpType())
		}
		if names[n.GetName()] {
			t.Errorf("node name %q is used twice", n.GetName())
		}
		names[n.GetName()] = true
		ops[n.GetOpType()]++
		for _, a := range n.GetAttribute() {
			if a.GetRefAttrName() != "" {
				t.Errorf("node %q: attribute %q still refers to %q", n.GetName(), a.GetName(), a.GetRefAttrName())
			}
		}
		if n.GetOpType() == "LeakyRelu" {
			alphas = append(alphas, AttrFloat(n, "alpha", -1))
		}
	})
	// Block = Linear (MatMul, Add) + aten_leaky_relu (LeakyRelu, Constant,
	// Mul); then Linear and aten_leaky_relu, Linear, and the final Identity.
	want := map[string]int{"MatMul": 3, "Add": 3, "LeakyRelu": 2, "Constant": 2, "Mul": 2, "Identity": 1}
	if len(m.Graph.Node) != 13 || fmt.Sprint(ops) != fmt.Sprint(want) {
		t.Errorf("inlined graph has %d nodes %v, want 13 %v", len(m.Graph.Node), ops, want)
	}
	// The first call passes negative_slope 0.05 through Block; the second
	// leaves it to aten_leaky_relu's default 0.2.
	if !slices.Equal(alphas, []float32{0.05, 0.2}) {
		t.Errorf("LeakyRelu alphas %v, want [0.05 0.2]", alphas)
	}
	for _, op := range m.GetOpsetImport() {
		if op.GetDomain() != "" {
			t.Errorf("the model still imports domain %q", op.GetDomain())
		}
	}
}

// callModel returns a model whose graph calls the function "f" of domain
// "local" on x (of shape [batch, 2]) with the given attributes, giving y.
func callModel(fns []*FunctionProto, attrs ...*AttributeProto) *ModelProto {
	m := testModel()
	m.OpsetImport = append(m.OpsetImport, &OperatorSetIdProto{Domain: ptr("local"), Version: ptr(int64(1))})
	m.Graph.Initializer = nil
	m.Graph.Node = []*NodeProto{
		{Name: ptr("call"), Domain: ptr("local"), OpType: ptr("f"), Input: []string{"x"}, Output: []string{"y"}, Attribute: attrs},
	}
	m.Functions = fns
	return m
}

// function returns a function of domain "local" with one opset import,
// the default domain at version 13.
func function(name string, in, out []string, nodes ...*NodeProto) *FunctionProto {
	return &FunctionProto{
		Name: ptr(name), Domain: ptr("local"), Input: in, Output: out, Node: nodes,
		OpsetImport: []*OperatorSetIdProto{{Domain: ptr(""), Version: ptr(int64(13))}},
	}
}

func node(name, op string, in, out []string, attrs ...*AttributeProto) *NodeProto {
	return &NodeProto{Name: ptr(name), OpType: ptr(op), Input: in, Output: out, Attribute: attrs}
}

func floatAttr(name string, v float32) *AttributeProto {
	return &AttributeProto{Name: ptr(name), Type: AttributeProto_FLOAT.Enum(), F: ptr(v)}
}

func refAttr(name, ref string) *AttributeProto {
	return &AttributeProto{Name: ptr(name), Type: AttributeProto_FLOAT.Enum(), RefAttrName: ptr(ref)}
}

// graphString lists the nodes of g as "Op(inputs)->outputs{attr=value}".
func graphString(g *GraphProto) string {
	var parts []string
	for _, n := range g.GetNode() {
		s := fmt.Sprintf("%s(%s)->%s", n.GetOpType(), strings.Join(n.GetInput(), ","), strings.Join(n.GetOutput(), ","))
		for _, a := range n.GetAttribute() {
			switch {
			case a.GetG() != nil:
				s += fmt.Sprintf("{%s=[%s]}", a.GetName(), graphString(a.GetG()))
			default:
				s += fmt.Sprintf("{%s=%g}", a.GetName(), a.GetF())
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestInlineFunctions(t *testing.T) {
	leaky := function("f", []string{"x"}, []string{"y"},
		node("n", "LeakyRelu", []string{"x"}, []string{"y"}, refAttr("alpha", "slope")))
	withDefault := proto.Clone(leaky).(*FunctionProto)
	withDefault.AttributeProto = []*AttributeProto{floatAttr("slope", 0.3)}
	// g's inner value "t" and the graph's own "call/t" clash.
	clash := function("f", []string{"x"}, []string{"y"},
		node("a", "Neg", []string{"x"}, []string{"t"}),
		node("b", "Abs", []string{"t"}, []string{"y"}))
	twoOut := function("f", []string{"x"}, []string{"y", "z"},
		node("a", "Split", []string{"x"}, []string{"y", "z"}))
	optional := function("f", []string{"x", "opt"}, []string{"y"},
		node("a", "Clip", []string{"x", "opt"}, []string{"y"}))
	nested := []*FunctionProto{
		function("f", []string{"x"}, []string{"y"},
			&NodeProto{Name: ptr("inner"), Domain: ptr("local"), OpType: ptr("g"), Input: []string{"x"}, Output: []string{"y"},
				Attribute: []*AttributeProto{refAttr("slope", "s")}}),
		function("g", []string{"u"}, []string{"v"},
			node("n", "LeakyRelu", []string{"u"}, []string{"v"}, refAttr("alpha", "slope"))),
	}
	ifBody := function("f", []string{"x"}, []string{"y"},
		node("a", "Neg", []string{"x"}, []string{"t"}),
		&NodeProto{Name: ptr("if"), OpType: ptr("If"), Input: []string{"x"}, Output: []string{"y"}, Attribute: []*AttributeProto{{
			Name: ptr("then_branch"), Type: AttributeProto_GRAPH.Enum(),
			G: &GraphProto{Node: []*NodeProto{node("s", "Relu", []string{"t"}, []string{"o"}, refAttr("alpha", "slope"))}},
		}}})

	for _, tc := range []struct {
		name  string
		model *ModelProto
		edit  func(m *ModelProto)
		want  string // graphString of the inlined main graph
	}{
		{"attribute from the call", callModel([]*FunctionProto{leaky}, floatAttr("slope", 0.1)), nil,
			"LeakyRelu(x)->y{alpha=0.1}"},
		{"attribute from the default", callModel([]*FunctionProto{withDefault}), nil,
			"LeakyRelu(x)->y{alpha=0.3}"},
		{"call overrides the default", callModel([]*FunctionProto{withDefault}, floatAttr("slope", 0.1)), nil,
			"LeakyRelu(x)->y{alpha=0.1}"},
		{"attribute absent", callModel([]*FunctionProto{leaky}), nil,
			"LeakyRelu(x)->y"},
		{"inner name clashes with a graph value", callModel([]*FunctionProto{clash}), func(m *ModelProto) {
			m.Graph.Node = append([]*NodeProto{node("pre", "Relu", []string{"x"}, []string{"call/t"})}, m.Graph.Node...)
			m.Graph.Node[1].Input[0] = "call/t"
		}, "Relu(x)->call/t Neg(call/t)->call/t_1 Abs(call/t_1)->y"},
		{"two calls", callModel([]*FunctionProto{clash}), func(m *ModelProto) {
			second := proto.Clone(m.Graph.Node[0]).(*NodeProto)
			m.Graph.Node[0].Output[0] = "h"
			second.Input[0] = "h"
			m.Graph.Node = append(m.Graph.Node, second)
		}, "Neg(x)->call/t Abs(call/t)->h Neg(h)->call/t_1 Abs(call/t_1)->y"},
		{"omitted output", callModel([]*FunctionProto{twoOut}), nil,
			"Split(x)->y,call/z"},
		{"omitted input", callModel([]*FunctionProto{optional}), nil,
			"Clip(x,)->y"},
		{"nested, reference through a reference", callModel(nested, floatAttr("s", 0.4)), nil,
			"LeakyRelu(x)->y{alpha=0.4}"},
		{"call in a subgraph", callModel([]*FunctionProto{leaky}, floatAttr("slope", 0.1)), func(m *ModelProto) {
			call := m.Graph.Node[0]
			call.Output[0] = "o"
			m.Graph.Node = []*NodeProto{{Name: ptr("if"), OpType: ptr("If"), Input: []string{"x"}, Output: []string{"y"}, Attribute: []*AttributeProto{{
				Name: ptr("then_branch"), Type: AttributeProto_GRAPH.Enum(), G: &GraphProto{Node: []*NodeProto{call}},
			}}}}
		}, "If(x)->y{then_branch=[LeakyRelu(x)->o{alpha=0.1}]}"},
		{"subgraph in the body", callModel([]*FunctionProto{ifBody}, floatAttr("slope", 0.2)), nil,
			"Neg(x)->call/t If(x)->y{then_branch=[Relu(call/t)->call/o{alpha=0.2}]}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.model
			if tc.edit != nil {
				tc.edit(m)
			}
			if err := InlineFunctions(m); err != nil {
				t.Fatal(err)
			}
			if got := graphString(m.Graph); got != tc.want {
				t.Errorf("inlined graph\n%s\nwant\n%s", got, tc.want)
			}
			if len(m.Functions) != 0 {
				t.Errorf("%d functions left", len(m.Functions))
			}
			if OpsetVersion(m, "local") != 0 {
				t.Error("the model still imports the functions' domain")
			}
		})
	}
}

func TestInlineFunctionsErrors(t *testing.T) {
	self := function("f", []string{"x"}, []string{"y"},
		&NodeProto{Name: ptr("again"), Domain: ptr("local"), OpType: ptr("g"), Input: []string{"x"}, Output: []string{"y"}})
	g := function("g", []string{"x"}, []string{"y"},
		&NodeProto{Name: ptr("back"), Domain: ptr("local"), OpType: ptr("f"), Input: []string{"x"}, Output: []string{"y"}})
	id := function("f", []string{"x"}, []string{"y"}, node("n", "Identity", []string{"x"}, []string{"y"}))
	newer := proto.Clone(id).(*FunctionProto)
	newer.OpsetImport[0].Version = ptr(int64(18))
	// f0 is one node; f(k) calls f(k-1) twice, so inlining f20 makes 2^20
	// nodes from a few hundred bytes.
	var doubling []*FunctionProto
	for k := 0; k <= 20; k++ {
		if k == 0 {
			doubling = append(doubling, function("f0", []string{"x"}, []string{"y"}, node("n", "Identity", []string{"x"}, []string{"y"})))
			continue
		}
		prev := fmt.Sprint("f", k-1)
		doubling = append(doubling, function(fmt.Sprint("f", k), []string{"x"}, []string{"y"},
			&NodeProto{Name: ptr("a"), Domain: ptr("local"), OpType: ptr(prev), Input: []string{"x"}, Output: []string{"t"}},
			&NodeProto{Name: ptr("b"), Domain: ptr("local"), OpType: ptr(prev), Input: []string{"t"}, Output: []string{"y"}}))
	}
	bomb := callModel(doubling)
	bomb.Graph.Node[0].OpType = ptr("f20")

	for _, tc := range []struct {
		name  string
		model *ModelProto
		limit int
		want  string
	}{
		{"no graph", &ModelProto{}, MaxInlinedNodes, "onnx: inline functions: model has no graph"},
		{"recursion", callModel([]*FunctionProto{self, g}), MaxInlinedNodes,
			`node "call" (f): in function "f" of domain "local": node "call/again" (g): in function "g" of domain "local": node "call/again/back" (f): function "f" of domain "local" calls itself ("f" -> "g" -> "f")`},
		{"too many inputs", func() *ModelProto {
			m := callModel([]*FunctionProto{id})
			m.Graph.Node[0].Input = []string{"x", "x"}
			return m
		}(), MaxInlinedNodes, `node "call" (f): calls function "f" of domain "local" with 2 inputs and 1 outputs; it has 1 and 1`},
		{"defined twice", callModel([]*FunctionProto{id, id}), MaxInlinedNodes, `function "f" of domain "local" is defined twice`},
		{"opset conflict", callModel([]*FunctionProto{newer}), MaxInlinedNodes,
			`node "call" (f): function "f" of domain "local" imports domain "" at version 18, the model at version 13`},
		{"node bomb", bomb, 1000, `inlining function "f0" of domain "local" makes more than 1000 nodes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := proto.Clone(tc.model)
			err := inlineFunctions(tc.model, tc.limit)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if !proto.Equal(tc.model, before) {
				t.Error("a failed InlineFunctions changed the model")
			}
		})
	}
}

func TestInlineFunctionsNone(t *testing.T) {
	m := testModel()
	before := proto.Clone(m)
	if err := InlineFunctions(m); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, before) {
		t.Error("InlineFunctions changed a model without functions")
	}
}
