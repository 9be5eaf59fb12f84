package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/x448/float16"
)

// DataType is the element type of a tensor: the values of
// TensorProto.data_type and TypeProto.Tensor.elem_type, which the ONNX
// specification declares as plain int32 fields.
type DataType = TensorProto_DataType

// rawSize is the size in bytes of one element of each data type in
// raw_data. STRING has no raw form.
var rawSize = map[DataType]int{
	TensorProto_FLOAT:      4,
	TensorProto_UINT8:      1,
	TensorProto_INT8:       1,
	TensorProto_UINT16:     2,
	TensorProto_INT16:      2,
	TensorProto_INT32:      4,
	TensorProto_INT64:      8,
	TensorProto_BOOL:       1,
	TensorProto_FLOAT16:    2,
	TensorProto_DOUBLE:     8,
	TensorProto_UINT32:     4,
	TensorProto_UINT64:     8,
	TensorProto_COMPLEX64:  8,
	TensorProto_COMPLEX128: 16,
	TensorProto_BFLOAT16:   2,
}

// tensorShape checks the parts of t that every reader depends on and returns
// its shape and its element count according to the dims.
func tensorShape(t *TensorProto) (shape []int, n int, err error) {
	if t == nil {
		return nil, 0, errors.New("nil tensor")
	}
	if t.GetDataLocation() == TensorProto_EXTERNAL {
		return nil, 0, fmt.Errorf("tensor %q: external data is not loaded (see LoadExternalData)", t.GetName())
	}
	if t.Segment != nil {
		return nil, 0, fmt.Errorf("tensor %q: segmented tensors are not supported", t.GetName())
	}
	shape = make([]int, len(t.Dims))
	n = 1
	for i, d := range t.Dims {
		if d < 0 {
			return nil, 0, fmt.Errorf("tensor %q: dimension %d is negative (%d)", t.GetName(), i, d)
		}
		if d > math.MaxInt || (d != 0 && n > math.MaxInt/int(d)) {
			return nil, 0, fmt.Errorf("tensor %q: shape %v is too large", t.GetName(), t.Dims)
		}
		shape[i] = int(d)
		n *= int(d)
	}
	return shape, n, nil
}

// storedLen returns how many elements t holds in raw_data or in the typed
// field its data type uses.
func storedLen(t *TensorProto) (int, error) {
	dt := DataType(t.GetDataType())
	if t.RawData != nil {
		size, ok := rawSize[dt]
		if !ok {
			return 0, fmt.Errorf("tensor %q: data type %v cannot be stored in raw_data", t.GetName(), dt)
		}
		if len(t.RawData)%size != 0 {
			return 0, fmt.Errorf("tensor %q: raw_data has %d bytes, not a multiple of the %d-byte %v element", t.GetName(), len(t.RawData), size, dt)
		}
		return len(t.RawData) / size, nil
	}
	switch dt {
	case TensorProto_FLOAT:
		return len(t.FloatData), nil
	case TensorProto_COMPLEX64:
		return len(t.FloatData) / 2, nil
	case TensorProto_DOUBLE:
		return len(t.DoubleData), nil
	case TensorProto_COMPLEX128:
		return len(t.DoubleData) / 2, nil
	case TensorProto_INT32, TensorProto_INT16, TensorProto_INT8, TensorProto_UINT16, TensorProto_UINT8,
		TensorProto_BOOL, TensorProto_FLOAT16, TensorProto_BFLOAT16:
		return len(t.Int32Data), nil
	case TensorProto_INT64:
		return len(t.Int64Data), nil
	case TensorProto_UINT32, TensorProto_UINT64:
		return len(t.Uint64Data), nil
	case TensorProto_STRING:
		return len(t.StringData), nil
	}
	return 0, fmt.Errorf("tensor %q: unknown data type %d", t.GetName(), t.GetDataType())
}

// checkTensor returns t's shape and element count after checking that the
// stored data matches the dims.
func checkTensor(t *TensorProto) ([]int, int, error) {
	shape, n, err := tensorShape(t)
	if err != nil {
		return nil, 0, err
	}
	stored, err := storedLen(t)
	if err != nil {
		return nil, 0, err
	}
	if stored != n {
		return nil, 0, fmt.Errorf("tensor %q: shape %v has %d elements but %d are stored", t.GetName(), shape, n, stored)
	}
	return shape, n, nil
}

// numeric holds a tensor's elements in the typed-field layout of the ONNX
// specification, decoded from raw_data if that is where they were. Exactly
// one slice is set, chosen by the data type:
//
//	f32  FLOAT
//	f64  DOUBLE
//	i32  INT32 INT16 INT8 UINT16 UINT8 BOOL, FLOAT16 and BFLOAT16 bit patterns
//	i64  INT64
//	u64  UINT32 UINT64
type numeric struct {
	f32 []float32
	f64 []float64
	i32 []int32
	i64 []int64
	u64 []uint64
}

// numericData checks t and returns its elements and shape.
func numericData(t *TensorProto) (numeric, []int, error) {
	shape, n, err := checkTensor(t)
	if err != nil {
		return numeric{}, nil, err
	}
	dt := DataType(t.GetDataType())
	raw := t.RawData
	le := binary.LittleEndian
	var v numeric
	switch dt {
	case TensorProto_FLOAT:
		v.f32 = t.FloatData
		if raw != nil {
			v.f32 = make([]float32, n)
			for i := range v.f32 {
				v.f32[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
			}
		}
	case TensorProto_DOUBLE:
		v.f64 = t.DoubleData
		if raw != nil {
			v.f64 = make([]float64, n)
			for i := range v.f64 {
				v.f64[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
			}
		}
	case TensorProto_INT64:
		v.i64 = t.Int64Data
		if raw != nil {
			v.i64 = make([]int64, n)
			for i := range v.i64 {
				v.i64[i] = int64(le.Uint64(raw[8*i:]))
			}
		}
	case TensorProto_UINT32:
		v.u64 = t.Uint64Data
		if raw != nil {
			v.u64 = make([]uint64, n)
			for i := range v.u64 {
				v.u64[i] = uint64(le.Uint32(raw[4*i:]))
			}
		}
	case TensorProto_UINT64:
		v.u64 = t.Uint64Data
		if raw != nil {
			v.u64 = make([]uint64, n)
			for i := range v.u64 {
				v.u64[i] = le.Uint64(raw[8*i:])
			}
		}
	case TensorProto_INT32, TensorProto_INT16, TensorProto_INT8, TensorProto_UINT16, TensorProto_UINT8,
		TensorProto_BOOL, TensorProto_FLOAT16, TensorProto_BFLOAT16:
		v.i32 = t.Int32Data
		if raw != nil {
			v.i32 = make([]int32, n)
			for i := range v.i32 {
				switch dt {
				case TensorProto_INT32:
					v.i32[i] = int32(le.Uint32(raw[4*i:]))
				case TensorProto_INT16:
					v.i32[i] = int32(int16(le.Uint16(raw[2*i:])))
				case TensorProto_UINT16, TensorProto_FLOAT16, TensorProto_BFLOAT16:
					v.i32[i] = int32(le.Uint16(raw[2*i:]))
				case TensorProto_INT8:
					v.i32[i] = int32(int8(raw[i]))
				case TensorProto_UINT8, TensorProto_BOOL:
					v.i32[i] = int32(raw[i])
				}
			}
		}
	default:
		return numeric{}, nil, fmt.Errorf("tensor %q: data type %v is not numeric", t.GetName(), dt)
	}
	return v, shape, nil
}

// TensorFloat64 returns the elements of t, converted to float64, and its
// shape. It reads every real numeric data type (FLOAT, DOUBLE, FLOAT16,
// BFLOAT16, all signed and unsigned integers, BOOL as 0 or 1) from raw_data
// or from the typed fields. STRING, COMPLEX64 and COMPLEX128 tensors,
// tensors whose external data is not loaded, and tensors whose data does
// not match their dims are errors.
func TensorFloat64(t *TensorProto) ([]float64, []int, error) {
	v, shape, err := numericData(t)
	if err != nil {
		return nil, nil, fmt.Errorf("onnx: %w", err)
	}
	var out []float64
	switch dt := DataType(t.GetDataType()); dt {
	case TensorProto_FLOAT:
		out = make([]float64, len(v.f32))
		for i, x := range v.f32 {
			out[i] = float64(x)
		}
	case TensorProto_DOUBLE:
		out = append([]float64{}, v.f64...)
	case TensorProto_INT64:
		out = make([]float64, len(v.i64))
		for i, x := range v.i64 {
			out[i] = float64(x)
		}
	case TensorProto_UINT32, TensorProto_UINT64:
		out = make([]float64, len(v.u64))
		for i, x := range v.u64 {
			if dt == TensorProto_UINT32 {
				x = uint64(uint32(x))
			}
			out[i] = float64(x)
		}
	default:
		out = make([]float64, len(v.i32))
		for i, x := range v.i32 {
			out[i] = smallToFloat64(dt, x)
		}
	}
	return out, shape, nil
}

// smallToFloat64 converts one element of a data type stored in int32_data.
// Like numpy, it keeps only the bits of the declared type.
func smallToFloat64(dt DataType, x int32) float64 {
	switch dt {
	case TensorProto_INT16:
		return float64(int16(x))
	case TensorProto_UINT16:
		return float64(uint16(x))
	case TensorProto_INT8:
		return float64(int8(x))
	case TensorProto_UINT8:
		return float64(uint8(x))
	case TensorProto_BOOL:
		if x != 0 {
			return 1
		}
		return 0
	case TensorProto_FLOAT16:
		return float64(float16.Frombits(uint16(x)).Float32())
	case TensorProto_BFLOAT16:
		return float64(math.Float32frombits(uint32(uint16(x)) << 16))
	}
	return float64(x)
}

// TensorInt64 returns the elements of t, converted to int64, and its shape.
// It reads the integer data types and BOOL (as 0 or 1) from raw_data or from
// the typed fields. Floating-point tensors are an error rather than being
// truncated, as are UINT64 values above math.MaxInt64.
func TensorInt64(t *TensorProto) ([]int64, []int, error) {
	dt := DataType(t.GetDataType())
	switch dt {
	case TensorProto_FLOAT, TensorProto_DOUBLE, TensorProto_FLOAT16, TensorProto_BFLOAT16:
		return nil, nil, fmt.Errorf("onnx: tensor %q: cannot read %v elements as int64", t.GetName(), dt)
	}
	v, shape, err := numericData(t)
	if err != nil {
		return nil, nil, fmt.Errorf("onnx: %w", err)
	}
	var out []int64
	switch dt {
	case TensorProto_INT64:
		out = append([]int64{}, v.i64...)
	case TensorProto_UINT32, TensorProto_UINT64:
		out = make([]int64, len(v.u64))
		for i, x := range v.u64 {
			if dt == TensorProto_UINT32 {
				x = uint64(uint32(x))
			}
			if x > math.MaxInt64 {
				return nil, nil, fmt.Errorf("onnx: tensor %q: element %d (%d) overflows int64", t.GetName(), i, x)
			}
			out[i] = int64(x)
		}
	default:
		out = make([]int64, len(v.i32))
		for i, x := range v.i32 {
			out[i] = int64(smallToFloat64(dt, x))
		}
	}
	return out, shape, nil
}

// newTensor builds a tensor of the given type holding raw little-endian
// data.
func newTensor(name string, dt DataType, shape []int, raw []byte) *TensorProto {
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	if raw == nil {
		raw = []byte{} // present but empty: a tensor with a zero dimension
	}
	return &TensorProto{
		Name:     &name,
		DataType: ptr(int32(dt)),
		Dims:     dims,
		RawData:  raw,
	}
}

// NewTensorFloat32 returns a FLOAT tensor with the given name, shape and
// row-major data, stored in raw_data. An empty shape makes a scalar. The
// length of data is not checked here; a mismatch makes Validate and the
// readers fail on the tensor.
func NewTensorFloat32(name string, shape []int, data []float32) *TensorProto {
	raw := make([]byte, 0, 4*len(data))
	for _, x := range data {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	return newTensor(name, TensorProto_FLOAT, shape, raw)
}

// NewTensorFloat64 is like NewTensorFloat32 for a DOUBLE tensor.
func NewTensorFloat64(name string, shape []int, data []float64) *TensorProto {
	raw := make([]byte, 0, 8*len(data))
	for _, x := range data {
		raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(x))
	}
	return newTensor(name, TensorProto_DOUBLE, shape, raw)
}

// NewTensorInt64 is like NewTensorFloat32 for an INT64 tensor.
func NewTensorInt64(name string, shape []int, data []int64) *TensorProto {
	raw := make([]byte, 0, 8*len(data))
	for _, x := range data {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(x))
	}
	return newTensor(name, TensorProto_INT64, shape, raw)
}

func ptr[T any](v T) *T { return &v }
