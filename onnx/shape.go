package onnx

import (
	"errors"
	"fmt"
	"strconv"
)

// Dim is one dimension of a value's shape: a known size, a symbolic name
// such as "batch", or, when both fields are zero, unknown.
//
// A dim_value of 0 in a file (an empty axis) reads as an unknown Dim: ONNX
// graphs exchanged by this toolkit have no empty axes, and the zero Dim is
// kept for the common case of an unknown size.
type Dim struct {
	Value int64  // size, when known
	Param string // symbolic name, when the size varies
}

// String returns the size, the symbolic name, or "?" for an unknown Dim.
func (d Dim) String() string {
	switch {
	case d.Param != "":
		return d.Param
	case d.Value != 0:
		return strconv.FormatInt(d.Value, 10)
	}
	return "?"
}

// ValueInfoShape returns the element type and the dimensions of a tensor
// value. The dims are nil when the shape is absent (unknown rank) and empty
// but not nil for a scalar. Values that are not tensors, tensors without an
// element type and negative dimensions are errors.
func ValueInfoShape(v *ValueInfoProto) (dims []Dim, elem DataType, err error) {
	if v == nil {
		return nil, 0, errors.New("onnx: nil value info")
	}
	tt := v.GetType().GetTensorType()
	if tt == nil {
		return nil, 0, fmt.Errorf("onnx: value %q: not a tensor type", v.GetName())
	}
	elem = DataType(tt.GetElemType())
	if elem == TensorProto_UNDEFINED {
		return nil, 0, fmt.Errorf("onnx: value %q: no element type", v.GetName())
	}
	if tt.Shape == nil {
		return nil, elem, nil
	}
	dims = make([]Dim, len(tt.Shape.Dim))
	for i, d := range tt.Shape.Dim {
		if d.GetDimValue() < 0 {
			return nil, 0, fmt.Errorf("onnx: value %q: dimension %d is negative (%d)", v.GetName(), i, d.GetDimValue())
		}
		dims[i] = Dim{Value: d.GetDimValue(), Param: d.GetDimParam()}
	}
	return dims, elem, nil
}

// NewValueInfo returns the description of a tensor value with the given
// element type and dimensions. With no dims it describes a scalar; a zero
// Dim is written as an unknown dimension.
func NewValueInfo(name string, elem DataType, dims ...Dim) *ValueInfoProto {
	shape := &TensorShapeProto{Dim: make([]*TensorShapeProto_Dimension, len(dims))}
	for i, d := range dims {
		sd := new(TensorShapeProto_Dimension)
		switch {
		case d.Param != "":
			sd.Value = &TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
		case d.Value != 0:
			sd.Value = &TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
		}
		shape.Dim[i] = sd
	}
	return &ValueInfoProto{
		Name: &name,
		Type: &TypeProto{Value: &TypeProto_TensorType{TensorType: &TypeProto_Tensor{
			ElemType: ptr(int32(elem)),
			Shape:    shape,
		}}},
	}
}
