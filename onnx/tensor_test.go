package onnx

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestTensorGolden reads testdata/tensors.onnx, in which the reference onnx
// library stored the same values for every numeric data type once in
// raw_data and once in the typed field, with the values as JSON in the
// doc_string.
func TestTensorGolden(t *testing.T) {
	m, err := Load("testdata/tensors.onnx")
	if err != nil {
		t.Fatal(err)
	}
	inits := m.GetGraph().GetInitializer()
	if len(inits) != 26 {
		t.Fatalf("%d tensors, want 13 data types stored two ways", len(inits))
	}
	for _, tp := range inits {
		t.Run(tp.GetName(), func(t *testing.T) {
			if raw := strings.HasSuffix(tp.GetName(), "_raw"); raw != (tp.RawData != nil) {
				t.Fatalf("raw_data present = %v", !raw)
			}
			var want []float64
			if err := json.Unmarshal([]byte(tp.GetDocString()), &want); err != nil {
				t.Fatal(err)
			}
			got, shape, err := TensorFloat64(tp)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(shape, []int{2, 3}) {
				t.Errorf("shape %v, want [2 3]", shape)
			}
			if !slices.Equal(got, want) {
				t.Errorf("TensorFloat64 = %v, want %v", got, want)
			}

			ints, shape, err := TensorInt64(tp)
			switch DataType(tp.GetDataType()) {
			case TensorProto_FLOAT, TensorProto_DOUBLE, TensorProto_FLOAT16, TensorProto_BFLOAT16:
				if err == nil || !strings.Contains(err.Error(), tp.GetName()) {
					t.Errorf("TensorInt64 of a float tensor: %v, want an error naming it", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(shape, []int{2, 3}) {
				t.Errorf("shape %v, want [2 3]", shape)
			}
			for i, x := range want {
				if ints[i] != int64(x) {
					t.Errorf("TensorInt64 = %v, want %v", ints, want)
					break
				}
			}
		})
	}
}

func TestNewTensor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tensor *TensorProto
		dtype  DataType
		shape  []int
		want   []float64
	}{
		{"float32", NewTensorFloat32("a", []int{2, 2}, []float32{1, -2, 0.5, 3e38}), TensorProto_FLOAT, []int{2, 2}, []float64{1, -2, 0.5, float64(float32(3e38))}},
		{"float64", NewTensorFloat64("b", []int{3}, []float64{math.Pi, -1e300, 0}), TensorProto_DOUBLE, []int{3}, []float64{math.Pi, -1e300, 0}},
		{"int64", NewTensorInt64("c", []int{1, 2}, []int64{-1 << 40, 7}), TensorProto_INT64, []int{1, 2}, []float64{-1 << 40, 7}},
		{"scalar", NewTensorFloat32("d", nil, []float32{4}), TensorProto_FLOAT, []int{}, []float64{4}},
		{"empty", NewTensorFloat64("e", []int{0, 3}, nil), TensorProto_DOUBLE, []int{0, 3}, []float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DataType(tc.tensor.GetDataType()); got != tc.dtype {
				t.Errorf("data type %v, want %v", got, tc.dtype)
			}
			if tc.tensor.RawData == nil {
				t.Error("data not in raw_data")
			}
			got, shape, err := TensorFloat64(tc.tensor)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(shape, tc.shape) || !slices.Equal(got, tc.want) {
				t.Errorf("got %v %v, want %v %v", shape, got, tc.shape, tc.want)
			}
		})
	}
	ints, _, err := TensorInt64(NewTensorInt64("c", []int{3}, []int64{math.MinInt64, 0, math.MaxInt64}))
	if err != nil || !slices.Equal(ints, []int64{math.MinInt64, 0, math.MaxInt64}) {
		t.Errorf("TensorInt64 = %v, %v", ints, err)
	}
}

func TestTensorErrors(t *testing.T) {
	external := NewTensorFloat32("ext", []int{2}, nil)
	external.RawData = nil
	external.DataLocation = TensorProto_EXTERNAL.Enum()
	external.ExternalData = []*StringStringEntryProto{{Key: ptr("location"), Value: ptr("weights.bin")}}

	short := NewTensorFloat32("short", []int{2, 3}, []float32{1, 2, 3})
	typedLong := &TensorProto{Name: ptr("long"), DataType: ptr(int32(TensorProto_INT32)), Dims: []int64{2}, Int32Data: []int32{1, 2, 3}}
	ragged := NewTensorFloat32("ragged", []int{1}, []float32{1})
	ragged.RawData = ragged.RawData[:3]
	negative := NewTensorFloat32("negative", []int{2}, []float32{1, 2})
	negative.Dims = []int64{-1, -2}
	huge := NewTensorFloat32("huge", []int{2}, []float32{1, 2})
	huge.Dims = []int64{1 << 40, 1 << 40, 1 << 40}
	strs := &TensorProto{Name: ptr("strs"), DataType: ptr(int32(TensorProto_STRING)), Dims: []int64{1}, StringData: [][]byte{[]byte("a")}}
	rawStrs := &TensorProto{Name: ptr("rawstrs"), DataType: ptr(int32(TensorProto_STRING)), Dims: []int64{1}, RawData: []byte("a")}
	unknown := &TensorProto{Name: ptr("unknown"), DataType: ptr(int32(99)), Dims: []int64{1}, RawData: []byte{1}}
	undefined := &TensorProto{Name: ptr("undefined"), Dims: []int64{1}, Int32Data: []int32{1}}
	segment := NewTensorFloat32("segment", []int{1}, []float32{1})
	segment.Segment = &TensorProto_Segment{Begin: ptr(int64(0)), End: ptr(int64(1))}
	bigUint := &TensorProto{Name: ptr("big"), DataType: ptr(int32(TensorProto_UINT64)), Dims: []int64{1}, Uint64Data: []uint64{math.MaxUint64}}
	emptyFloat := &TensorProto{Name: ptr("emptyfloat"), DataType: ptr(int32(TensorProto_FLOAT)), Dims: []int64{0}}

	for _, tc := range []struct {
		name   string
		tensor *TensorProto
		ints   bool // call TensorInt64 rather than TensorFloat64
		want   string
	}{
		{"nil", nil, false, "nil tensor"},
		{"external", external, false, `tensor "ext": external data is not loaded`},
		{"short raw", short, false, `tensor "short": shape [2 3] has 6 elements but 3 are stored`},
		{"long typed", typedLong, true, `tensor "long": shape [2] has 2 elements but 3 are stored`},
		{"ragged raw", ragged, false, `tensor "ragged": raw_data has 3 bytes`},
		{"negative dims", negative, false, `tensor "negative": dimension 0 is negative`},
		{"huge dims", huge, false, `tensor "huge": shape [1099511627776 1099511627776 1099511627776] is too large`},
		{"string", strs, false, `tensor "strs": data type STRING is not numeric`},
		{"string raw", rawStrs, false, `tensor "rawstrs": data type STRING cannot be stored in raw_data`},
		{"unknown type", unknown, false, `tensor "unknown": data type 99 cannot be stored in raw_data`},
		{"undefined type", undefined, true, `tensor "undefined": unknown data type 0`},
		{"segment", segment, false, `tensor "segment": segmented tensors are not supported`},
		{"uint64 overflow", bigUint, true, `tensor "big": element 0 (18446744073709551615) overflows int64`},
		{"int64 of float", emptyFloat, true, `tensor "emptyfloat": cannot read FLOAT elements as int64`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.ints {
				_, _, err = TensorInt64(tc.tensor)
			} else {
				_, _, err = TensorFloat64(tc.tensor)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
