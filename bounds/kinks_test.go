package bounds_test

import (
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/onnx/mlp"
)

func TestKinkedOps(t *testing.T) {
	node := func(op string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
		return &onnx.NodeProto{OpType: proto.String(op), Attribute: attrs}
	}
	graph := func(nodes ...*onnx.NodeProto) *onnx.GraphProto { return &onnx.GraphProto{Node: nodes} }
	sub := &onnx.AttributeProto{Name: proto.String("then_branch"), Type: onnx.AttributeProto_GRAPH.Enum(),
		G: graph(node("Gemm"), node("Relu"))}
	for _, tc := range []struct {
		name string
		g    *onnx.GraphProto
		want []string
	}{
		{"elu alpha 1 (C¹)", graph(node("Gemm"), node("Elu", onnx.NewAttrFloat("alpha", 1))), nil},
		{"elu alpha 2", graph(node("Elu", onnx.NewAttrFloat("alpha", 2))), []string{"Elu"}},
		{"elu default alpha", graph(node("Elu")), nil},
		{"selu default alpha", graph(node("Selu")), []string{"Selu"}},
		{"selu alpha 1", graph(node("Selu", onnx.NewAttrFloat("alpha", 1))), nil},
		{"smooth ops", graph(node("Gemm"), node("Softplus"), node("Tanh"), node("Sigmoid"), node("Mul"), node("Exp")), nil},
		{"sorted and distinct", graph(node("Relu"), node("Max"), node("Abs"), node("Relu"), node("Clip")), []string{"Abs", "Clip", "Max", "Relu"}},
		{"subgraph", graph(node("If", sub)), []string{"Relu"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bounds.KinkedOps(tc.g); !slices.Equal(got, tc.want) {
				t.Errorf("KinkedOps = %q, want %q", got, tc.want)
			}
		})
	}
	// The built-in MLPs: every activation, as mlp.New writes it.
	want := map[string][]string{"prelu": {"PRelu"}, "relu": {"Relu"}, "leakyrelu": {"LeakyRelu"}}
	for _, act := range mlp.Activations {
		t.Run("mlp "+act, func(t *testing.T) {
			m, err := mlp.New("mlp:2-8-8-2:"+act, mlp.Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if got := bounds.KinkedOps(m.GetGraph()); !slices.Equal(got, want[act]) {
				t.Errorf("KinkedOps = %q, want %q", got, want[act])
			}
		})
	}
}

// ExampleKinkedOps finds the piecewise-linear activations of the built-in
// MLP generators: with any, gp and diffusion are no bounds on the pair.
func ExampleKinkedOps() {
	for _, spec := range []string{"mlp:2-100-100-2", "mlp:2-100-100-2:softplus"} {
		m, err := mlp.New(spec, mlp.Options{Seed: 1})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %q\n", spec, bounds.KinkedOps(m.GetGraph()))
	}
	// Output:
	// mlp:2-100-100-2: ["PRelu"]
	// mlp:2-100-100-2:softplus: []
}
