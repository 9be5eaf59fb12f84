package onnx

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// ifModel returns testModel with a final If node whose branches read the
// outer value y.
func ifModel() *ModelProto {
	m := testModel()
	g := m.Graph
	g.Input = append(g.Input, NewValueInfo("cond", TensorProto_BOOL))
	branch := func(name, op string) *GraphProto {
		return &GraphProto{
			Name:   ptr(name),
			Node:   []*NodeProto{{OpType: ptr(op), Input: []string{"y"}, Output: []string{name + "_out"}}},
			Output: []*ValueInfoProto{{Name: ptr(name + "_out")}},
		}
	}
	g.Node = append(g.Node, &NodeProto{
		Name: ptr("if"), OpType: ptr("If"), Input: []string{"cond"}, Output: []string{"z"},
		Attribute: []*AttributeProto{
			{Name: ptr("then_branch"), Type: AttributeProto_GRAPH.Enum(), G: branch("then", "Neg")},
			{Name: ptr("else_branch"), Type: AttributeProto_GRAPH.Enum(), G: branch("else", "Abs")},
		},
	})
	g.Output = append(g.Output, NewValueInfo("z", TensorProto_FLOAT, Dim{Param: "batch"}, Dim{Value: 2}))
	return m
}

func TestValidateValid(t *testing.T) {
	tiny, err := Load("testdata/tiny.onnx")
	if err != nil {
		t.Fatal(err)
	}
	aiOnnx := testModel()
	aiOnnx.OpsetImport[0].Domain = ptr("ai.onnx")
	optional := testModel()
	optional.Graph.Node[1].Output = append(optional.Graph.Node[1].Output, "")
	optional.Graph.Node[1].Input = append(optional.Graph.Node[1].Input, "")
	for _, tc := range []struct {
		name  string
		model *ModelProto
	}{
		{"built", testModel()},
		{"golden", tiny},
		{"ai.onnx domain", aiOnnx},
		{"omitted optional input and output", optional},
		{"subgraph reads outer value", ifModel()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(tc.model); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestValidateBackendModels validates every model of the ONNX backend test
// data, all of which pass onnx.checker.
func TestValidateBackendModels(t *testing.T) {
	backendFile(t, ".")
	paths, err := filepath.Glob(filepath.Join(backendData, "*", "*", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skipf("no models under %s", backendData)
	}
	for _, path := range paths {
		m, err := Load(path)
		if err != nil {
			t.Error(err)
			continue
		}
		if err := Validate(m); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model *ModelProto // if nil, testModel changed by edit
		edit  func(m *ModelProto)
		want  []string
	}{
		{name: "nil model", model: (*ModelProto)(nil), want: []string{"nil model"}},
		{name: "no ir_version", edit: func(m *ModelProto) { m.IrVersion = nil },
			want: []string{"ir_version is not set"}},
		{name: "no graph", edit: func(m *ModelProto) { m.Graph = nil },
			want: []string{"model has no graph"}},
		{name: "missing opset", edit: func(m *ModelProto) { m.OpsetImport = nil },
			want: []string{"model imports no operator set", `node "matmul" (MatMul): no opset import for domain ""`}},
		{name: "default opset missing", edit: func(m *ModelProto) {
			m.OpsetImport[0].Domain = ptr("com.example")
		}, want: []string{`node "relu" (Relu): no opset import for domain ""`}},
		{name: "node domain not imported", edit: func(m *ModelProto) { m.Graph.Node[1].Domain = ptr("com.example") },
			want: []string{`node "relu" (Relu): no opset import for domain "com.example"`}},
		{name: "undefined input", edit: func(m *ModelProto) { m.Graph.Node[0].Input[1] = "V" },
			want: []string{`graph "test": node "matmul" (MatMul): input "V" is not defined`}},
		{name: "wrong order", edit: func(m *ModelProto) {
			g := m.Graph
			g.Node[0], g.Node[1] = g.Node[1], g.Node[0]
		}, want: []string{`node "relu" (Relu): input "h" is used before the node that defines it`}},
		{name: "cycle of two", edit: func(m *ModelProto) {
			// matmul reads y from relu, which reads h from matmul.
			m.Graph.Node[0].Input[0] = "y"
		}, want: []string{`graph "test": nodes form a cycle: node "matmul" (MatMul) -> "h" -> node "relu" (Relu) -> "y" -> node "matmul" (MatMul)`}},
		{name: "self loop", edit: func(m *ModelProto) {
			m.Graph.Node[1].Input[0] = "y"
		}, want: []string{`nodes form a cycle: node "relu" (Relu) -> "y" -> node "relu" (Relu)`}},
		{name: "cycle of three with a node after it", edit: func(m *ModelProto) {
			g := m.Graph
			g.Node = []*NodeProto{
				{Name: ptr("a"), OpType: ptr("Add"), Input: []string{"x", "vc"}, Output: []string{"va"}},
				{Name: ptr("b"), OpType: ptr("Neg"), Input: []string{"va"}, Output: []string{"vb"}},
				{Name: ptr("c"), OpType: ptr("Abs"), Input: []string{"vb"}, Output: []string{"vc"}},
				{Name: ptr("d"), OpType: ptr("Neg"), Input: []string{"vc", "late"}, Output: []string{"y"}},
				{Name: ptr("e"), OpType: ptr("Neg"), Input: []string{"x"}, Output: []string{"late"}},
			}
		}, want: []string{
			`nodes form a cycle: node "a" (Add) -> "va" -> node "b" (Neg) -> "vb" -> node "c" (Abs) -> "vc" -> node "a" (Add)`,
			`node "d" (Neg): input "late" is used before the node that defines it`,
		}},
		{name: "duplicate output", edit: func(m *ModelProto) { m.Graph.Node[1].Output[0] = "h" },
			want: []string{`node "relu" (Relu): output "h" is already defined`, `output "y" is not defined`}},
		{name: "output shadows input", edit: func(m *ModelProto) {
			m.Graph.Node[0].Output[0] = "x"
			m.Graph.Node[1].Input[0] = "x"
		}, want: []string{`node "matmul" (MatMul): output "x" is already defined`}},
		{name: "output shadows initializer", edit: func(m *ModelProto) {
			m.Graph.Node[1].Output[0] = "W"
			m.Graph.Output[0].Name = ptr("W")
		}, want: []string{`node "relu" (Relu): output "W" is already defined`}},
		{name: "same output twice in one node", edit: func(m *ModelProto) {
			m.Graph.Node[1].Output = []string{"y", "y"}
		}, want: []string{`node "relu" (Relu): output "y" is already defined`}},
		{name: "duplicate input", edit: func(m *ModelProto) {
			m.Graph.Input = append(m.Graph.Input, m.Graph.Input[0])
		}, want: []string{`input "x" is defined twice`}},
		{name: "duplicate initializer", edit: func(m *ModelProto) {
			m.Graph.Initializer = append(m.Graph.Initializer, m.Graph.Initializer[0])
		}, want: []string{`initializer "W" is defined twice`}},
		{name: "undefined graph output", edit: func(m *ModelProto) { m.Graph.Output[0].Name = ptr("z") },
			want: []string{`graph "test": output "z" is not defined`}},
		{name: "bad initializer size", edit: func(m *ModelProto) {
			m.Graph.Initializer[0] = NewTensorFloat32("W", []int{3, 2}, []float32{1, 2, 3, 4, 5})
		}, want: []string{`initializer: tensor "W": shape [3 2] has 6 elements but 5 are stored`}},
		{name: "negative initializer dims", edit: func(m *ModelProto) { m.Graph.Initializer[0].Dims[0] = -3 },
			want: []string{`tensor "W": dimension 0 is negative`}},
		{name: "initializer without data type", edit: func(m *ModelProto) { m.Graph.Initializer[0].DataType = nil },
			want: []string{`initializer "W" has no data type`}},
		{name: "unnamed initializer", edit: func(m *ModelProto) { m.Graph.Initializer[0].Name = nil },
			want: []string{`initializer #0 has no name`, `input "W" is not defined`}},
		{name: "initializer not an input in IR 3", edit: func(m *ModelProto) { m.IrVersion = ptr(int64(3)) },
			want: []string{`initializer "W" is not a graph input, as IR version 3 requires`}},
		{name: "empty op_type", edit: func(m *ModelProto) { m.Graph.Node[1].OpType = nil },
			want: []string{`node "relu" (): op_type is empty`}},
		{name: "unnamed node", edit: func(m *ModelProto) {
			m.Graph.Node[1].Name = nil
			m.Graph.Node[1].Input[0] = "nope"
		}, want: []string{`node #1 (Relu): input "nope" is not defined`}},
		{name: "input without type", edit: func(m *ModelProto) { m.Graph.Input[0].Type = nil },
			want: []string{`input "x" has no type`}},
		{name: "input without elem_type", edit: func(m *ModelProto) {
			m.Graph.Input[0].Type.GetTensorType().ElemType = nil
		}, want: []string{`input "x" has no element type`}},
		{name: "output without shape", edit: func(m *ModelProto) {
			m.Graph.Output[0].Type.GetTensorType().Shape = nil
		}, want: []string{`output "y" has no shape`}},
		{name: "unnamed input", edit: func(m *ModelProto) { m.Graph.Input[0].Name = nil },
			want: []string{`graph "test": input #0 has no name`, `input "x" is not defined`}},
		{name: "value_info without elem_type", edit: func(m *ModelProto) {
			m.Graph.ValueInfo = []*ValueInfoProto{NewValueInfo("h", TensorProto_UNDEFINED)}
		}, want: []string{`value_info "h" has no element type`}},
		{name: "unnamed attribute", edit: func(m *ModelProto) {
			m.Graph.Node[1].Attribute = []*AttributeProto{{Type: AttributeProto_INT.Enum(), I: ptr(int64(1))}}
		}, want: []string{`node "relu" (Relu): attribute #0 has no name`}},
		{name: "bad attribute tensor", edit: func(m *ModelProto) {
			m.Graph.Node[1].Attribute = []*AttributeProto{{Name: ptr("value"), Type: AttributeProto_TENSOR.Enum(),
				T: NewTensorFloat32("", []int{2}, []float32{1})}}
		}, want: []string{`node "relu" (Relu): attribute "value": tensor "": shape [2] has 2 elements but 1 are stored`}},
		{name: "attribute tensor without data type", edit: func(m *ModelProto) {
			m.Graph.Node[1].Attribute = []*AttributeProto{{Name: ptr("values"), Type: AttributeProto_TENSORS.Enum(),
				Tensors: []*TensorProto{{Name: ptr("v"), Dims: []int64{1}, FloatData: []float32{1}}}}}
		}, want: []string{`node "relu" (Relu): attribute "values": tensor "v": unknown data type 0`}},
		{name: "subgraph undefined input", model: ifModel(), edit: func(m *ModelProto) {
			m.Graph.Node[2].Attribute[1].G.Node[0].Input[0] = "q"
		}, want: []string{`node "if" (If): attribute "else_branch": graph "else": node #0 (Abs): input "q" is not defined`}},
		{name: "subgraph redefines outer value", model: ifModel(), edit: func(m *ModelProto) {
			m.Graph.Node[2].Attribute[0].G.Node[0].Output[0] = "h"
			m.Graph.Node[2].Attribute[0].G.Output[0].Name = ptr("h")
		}, want: []string{`attribute "then_branch": graph "then": node #0 (Neg): output "h" is already defined`}},
		{name: "subgraph reads later outer value", model: ifModel(), edit: func(m *ModelProto) {
			g := m.Graph
			g.Node[1], g.Node[2] = g.Node[2], g.Node[1]
		}, want: []string{`graph "then": node #0 (Neg): input "y" is not defined`}},
		{name: "many problems", edit: func(m *ModelProto) {
			for i := range 30 {
				m.Graph.Node = append(m.Graph.Node, &NodeProto{OpType: ptr("Relu"), Input: []string{fmt.Sprint("u", i)}})
			}
		}, want: []string{`node #2 (Relu): input "u0" is not defined`, `node #21 (Relu): input "u19" is not defined`, "... and 10 more problems"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.model
			if m == nil && tc.edit != nil {
				m = testModel()
			}
			if tc.edit != nil {
				tc.edit(m)
			}
			err := Validate(m)
			if err == nil {
				t.Fatal("Validate accepted the model")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestValidateDoesNotModify(t *testing.T) {
	m := ifModel()
	before := proto.Clone(m)
	Validate(m)
	if !proto.Equal(m, before) {
		t.Error("Validate changed the model")
	}
}

func TestOpsetVersion(t *testing.T) {
	m := testModel()
	m.OpsetImport = []*OperatorSetIdProto{
		{Domain: ptr("ai.onnx"), Version: ptr(int64(17))},
		{Domain: ptr("com.microsoft"), Version: ptr(int64(1))},
	}
	for _, tc := range []struct {
		domain string
		want   int64
	}{
		{"", 17},
		{"ai.onnx", 17},
		{"com.microsoft", 1},
		{"ai.onnx.ml", 0},
	} {
		if got := OpsetVersion(m, tc.domain); got != tc.want {
			t.Errorf("OpsetVersion(%q) = %d, want %d", tc.domain, got, tc.want)
		}
	}
	if got := OpsetVersion(nil, ""); got != 0 {
		t.Errorf("OpsetVersion(nil) = %d", got)
	}
}
