package onnx

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
)

func TestSummarize(t *testing.T) {
	node := func(op string) *NodeProto { return &NodeProto{OpType: proto.String(op)} }
	m := &ModelProto{Graph: &GraphProto{
		Node: []*NodeProto{node("Gemm"), node("Relu"), node("Gemm"), node("Add")},
		Initializer: []*TensorProto{
			NewTensorFloat32("w", []int{2, 3}, make([]float32, 6)),
			NewTensorFloat64("b", []int{3}, make([]float64, 3)),
			NewTensorInt64("axes", []int{2}, []int64{0, 1}),
		},
	}}
	got := Summarize(m)
	want := Summary{Nodes: 4, Ops: []OpCount{{"Add", 1}, {"Gemm", 2}, {"Relu", 1}}, Parameters: 9, Initializers: 3}
	if got.Nodes != want.Nodes || !slices.Equal(got.Ops, want.Ops) || got.Parameters != want.Parameters || got.Initializers != want.Initializers {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	if names := InitializerNames(m.Graph); len(names) != 3 || !names["w"] || !names["axes"] || names["x"] {
		t.Errorf("InitializerNames = %v", names)
	}
}

func TestRowShape(t *testing.T) {
	cases := []struct {
		dims []Dim
		want []int
		err  string
	}{
		{[]Dim{{Param: "batch"}, {Value: 3}, {Value: 4}}, []int{3, 4}, ""},
		{[]Dim{{Param: "batch"}}, []int{}, ""},
		{nil, nil, "no batch axis"},
		{[]Dim{{Value: 1}, {Param: "n"}}, nil, "dimension 1 (n) is not fixed"},
	}
	for _, c := range cases {
		got, err := RowShape(c.dims)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("RowShape(%v): error %v, want %q", c.dims, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("RowShape(%v) = %v, %v; want %v", c.dims, got, err, c.want)
		}
	}
	if ShapeSize([]int{2, 3, 4}) != 24 || ShapeSize(nil) != 1 || ShapeSize([]int{5, 0}) != 0 {
		t.Error("ShapeSize")
	}
	for dt, want := range map[DataType]bool{TensorProto_FLOAT: true, TensorProto_BFLOAT16: true, TensorProto_INT64: false, TensorProto_BOOL: false} {
		if IsFloat(dt) != want {
			t.Errorf("IsFloat(%v) = %v", dt, !want)
		}
	}
}
