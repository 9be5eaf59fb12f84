package onnx_test

import (
	"fmt"
	"log"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/onnx"
)

func ExampleLoad() {
	m, err := onnx.Load("testdata/tiny.onnx")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("opset", onnx.OpsetVersion(m, ""))
	for _, v := range m.GetGraph().GetInput() {
		dims, elem, err := onnx.ValueInfoShape(v)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("input", v.GetName(), elem, dims)
	}
	for _, n := range m.GetGraph().GetNode() {
		fmt.Println(n.GetOpType(), n.GetInput(), "->", n.GetOutput())
	}
	// Output:
	// opset 13
	// input x FLOAT [batch 3]
	// MatMul [x W] -> [h]
	// Add [h b] -> [a]
	// LeakyRelu [a] -> [l]
	// Constant [] -> [c]
	// Mul [l c] -> [m]
	// Reshape [m shape] -> [r]
	// Transpose [r] -> [y]
}

func ExampleValidate() {
	m := &onnx.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph: &onnx.GraphProto{
			Name: proto.String("energy"),
			Input: []*onnx.ValueInfoProto{
				onnx.NewValueInfo("x", onnx.TensorProto_FLOAT, onnx.Dim{Param: "batch"}, onnx.Dim{Value: 2}),
			},
			Initializer: []*onnx.TensorProto{
				onnx.NewTensorFloat32("w", []int{2, 1}, []float32{0.5, -1}),
			},
			Node: []*onnx.NodeProto{
				// Out of order: "h" is used before the MatMul defines it.
				{Name: proto.String("relu"), OpType: proto.String("Relu"), Input: []string{"h"}, Output: []string{"energy"}},
				{Name: proto.String("matmul"), OpType: proto.String("MatMul"), Input: []string{"x", "w"}, Output: []string{"h"}},
			},
			Output: []*onnx.ValueInfoProto{
				onnx.NewValueInfo("energy", onnx.TensorProto_FLOAT, onnx.Dim{Param: "batch"}, onnx.Dim{Value: 1}),
			},
		},
	}
	fmt.Println(onnx.Validate(m))

	g := m.GetGraph()
	g.Node[0], g.Node[1] = g.Node[1], g.Node[0]
	fmt.Println(onnx.Validate(m))
	// Output:
	// onnx: invalid model: graph "energy": node "relu" (Relu): input "h" is used before the node that defines it (nodes must be in topological order)
	// <nil>
}

func ExampleInlineFunctions() {
	// A model in the shape of a dynamo export with module functions.
	m, err := onnx.Load("../testdata/opset/energy_functions_o18.onnx")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(m.GetFunctions()), "functions,", len(m.GetGraph().GetNode()), "nodes")
	if err := onnx.InlineFunctions(m); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(m.GetFunctions()), "functions,", len(m.GetGraph().GetNode()), "nodes")
	// Output:
	// 3 functions, 5 nodes
	// 0 functions, 13 nodes
}
