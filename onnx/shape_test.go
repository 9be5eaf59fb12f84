package onnx

import (
	"slices"
	"strings"
	"testing"
)

func TestValueInfoShape(t *testing.T) {
	noShape := NewValueInfo("noshape", TensorProto_INT64)
	noShape.GetType().GetTensorType().Shape = nil
	for _, tc := range []struct {
		name string
		v    *ValueInfoProto
		dims []Dim
		elem DataType
	}{
		{"static", NewValueInfo("x", TensorProto_FLOAT, Dim{Value: 2}, Dim{Value: 3}), []Dim{{Value: 2}, {Value: 3}}, TensorProto_FLOAT},
		{"symbolic", NewValueInfo("x", TensorProto_DOUBLE, Dim{Param: "batch"}, Dim{Value: 8}), []Dim{{Param: "batch"}, {Value: 8}}, TensorProto_DOUBLE},
		{"unknown dim", NewValueInfo("x", TensorProto_FLOAT, Dim{}, Dim{Value: 4}), []Dim{{}, {Value: 4}}, TensorProto_FLOAT},
		{"scalar", NewValueInfo("x", TensorProto_BOOL), []Dim{}, TensorProto_BOOL},
		{"unknown rank", noShape, nil, TensorProto_INT64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dims, elem, err := ValueInfoShape(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if elem != tc.elem || !slices.Equal(dims, tc.dims) || (dims == nil) != (tc.dims == nil) {
				t.Errorf("got %v %#v, want %v %#v", elem, dims, tc.elem, tc.dims)
			}
		})
	}
}

func TestValueInfoShapeGolden(t *testing.T) {
	m, err := Load("testdata/tiny.onnx")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v    *ValueInfoProto
		elem DataType
		dims []Dim
	}{
		{m.GetGraph().GetInput()[0], TensorProto_FLOAT, []Dim{{Param: "batch"}, {Value: 3}}},
		{m.GetGraph().GetOutput()[0], TensorProto_FLOAT, []Dim{{Value: 2}, {Param: "batch"}}},
	} {
		dims, elem, err := ValueInfoShape(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if elem != tc.elem || !slices.Equal(dims, tc.dims) {
			t.Errorf("%s: %v %v, want %v %v", tc.v.GetName(), elem, dims, tc.elem, tc.dims)
		}
	}
}

func TestValueInfoShapeErrors(t *testing.T) {
	negative := NewValueInfo("neg", TensorProto_FLOAT, Dim{Value: -3})
	for _, tc := range []struct {
		name string
		v    *ValueInfoProto
		want string
	}{
		{"nil", nil, "nil value info"},
		{"no type", &ValueInfoProto{Name: ptr("notype")}, `value "notype": not a tensor type`},
		{"sequence", &ValueInfoProto{Name: ptr("seq"), Type: &TypeProto{Value: &TypeProto_SequenceType{SequenceType: &TypeProto_Sequence{}}}}, `value "seq": not a tensor type`},
		{"no elem type", NewValueInfo("noelem", TensorProto_UNDEFINED, Dim{Value: 1}), `value "noelem": no element type`},
		{"negative dim", negative, `value "neg": dimension 0 is negative (-3)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ValueInfoShape(tc.v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDimString(t *testing.T) {
	for _, tc := range []struct {
		d    Dim
		want string
	}{
		{Dim{Value: 3}, "3"},
		{Dim{Param: "batch"}, "batch"},
		{Dim{}, "?"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.d, got, tc.want)
		}
	}
}
