package onnx

import (
	"slices"
	"testing"
)

func TestAttrGolden(t *testing.T) {
	m, err := Load("testdata/tiny.onnx")
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]*NodeProto{}
	for _, n := range m.GetGraph().GetNode() {
		nodes[n.GetName()] = n
	}
	if got := AttrFloat(nodes["leaky"], "alpha", 0); got != float32(0.1) {
		t.Errorf("leaky alpha = %v, want 0.1", got)
	}
	if got := AttrInts(nodes["transpose"], "perm", nil); !slices.Equal(got, []int64{1, 0}) {
		t.Errorf("transpose perm = %v, want [1 0]", got)
	}
	value := AttrTensor(nodes["const"], "value")
	data, shape, err := TensorFloat64(value)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shape, []int{2}) || !slices.Equal(data, []float64{1.5, -2}) {
		t.Errorf("const value = %v %v, want [2] [1.5 -2]", shape, data)
	}
	if HasAttr(nodes["matmul"], "alpha") || !HasAttr(nodes["leaky"], "alpha") {
		t.Error("HasAttr wrong")
	}
}

func TestAttr(t *testing.T) {
	n := &NodeProto{OpType: ptr("Test"), Attribute: []*AttributeProto{
		{Name: ptr("i"), Type: AttributeProto_INT.Enum(), I: ptr(int64(7))},
		{Name: ptr("ints"), Type: AttributeProto_INTS.Enum(), Ints: []int64{1, 2}},
		{Name: ptr("f"), Type: AttributeProto_FLOAT.Enum(), F: ptr(float32(0.5))},
		{Name: ptr("floats"), Type: AttributeProto_FLOATS.Enum(), Floats: []float32{1.5}},
		{Name: ptr("s"), Type: AttributeProto_STRING.Enum(), S: []byte("same")},
		{Name: ptr("t"), Type: AttributeProto_TENSOR.Enum(), T: NewTensorInt64("t", nil, []int64{3})},
		{Name: ptr("zero"), Type: AttributeProto_INT.Enum(), I: ptr(int64(0))},
		// Written before AttributeProto.type existed: the set field decides.
		{Name: ptr("legacy_i"), I: ptr(int64(-4))},
		{Name: ptr("legacy_s"), S: []byte("old")},
	}}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"int", AttrInt(n, "i", -1), int64(7)},
		{"int zero", AttrInt(n, "zero", -1), int64(0)},
		{"int missing", AttrInt(n, "nope", -1), int64(-1)},
		{"int of float attr", AttrInt(n, "f", -1), int64(-1)},
		{"int legacy", AttrInt(n, "legacy_i", -1), int64(-4)},
		{"int legacy string", AttrInt(n, "legacy_s", -1), int64(-1)},
		{"float", AttrFloat(n, "f", 9), float32(0.5)},
		{"float missing", AttrFloat(n, "nope", 9), float32(9)},
		{"float of int attr", AttrFloat(n, "i", 9), float32(9)},
		{"string", AttrString(n, "s", "def"), "same"},
		{"string missing", AttrString(n, "nope", "def"), "def"},
		{"string legacy", AttrString(n, "legacy_s", "def"), "old"},
		{"has", HasAttr(n, "legacy_s"), true},
		{"has missing", HasAttr(n, "nope"), false},
		{"has on nil node", HasAttr(nil, "i"), false},
		{"attr type", Attr(n, "floats").GetType(), AttributeProto_FLOATS},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	for _, tc := range []struct {
		name      string
		got, want []int64
	}{
		{"ints", AttrInts(n, "ints", nil), []int64{1, 2}},
		{"ints missing", AttrInts(n, "nope", []int64{9}), []int64{9}},
		{"ints of int attr", AttrInts(n, "i", []int64{9}), []int64{9}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if got := AttrFloats(n, "floats", nil); !slices.Equal(got, []float32{1.5}) {
		t.Errorf("floats: got %v", got)
	}
	if got := AttrFloats(n, "nope", []float32{2}); !slices.Equal(got, []float32{2}) {
		t.Errorf("floats missing: got %v", got)
	}
	if ints, _, err := TensorInt64(AttrTensor(n, "t")); err != nil || !slices.Equal(ints, []int64{3}) {
		t.Errorf("tensor: got %v, %v", ints, err)
	}
	if AttrTensor(n, "i") != nil || AttrTensor(n, "nope") != nil {
		t.Error("AttrTensor returned a tensor for a non-tensor or missing attribute")
	}
}
