package onnx

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// backendData is where Debian's libonnx-testdata installs the ONNX backend
// test data.
const backendData = "/usr/share/libonnx-testdata/data"

// backendFile returns the path of a file of the ONNX backend test data,
// skipping the test when that data is not installed.
func backendFile(t testing.TB, rel string) string {
	t.Helper()
	path := filepath.Join(backendData, rel)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("ONNX backend test data not installed (apt-get install libonnx-testdata): %v", err)
	}
	return path
}

// testModel returns a small valid model: y = Relu(x·W) for x of shape
// [batch, 3].
func testModel() *ModelProto {
	return &ModelProto{
		IrVersion:    ptr(int64(8)),
		ProducerName: ptr("ebmpipe-test"),
		OpsetImport:  []*OperatorSetIdProto{{Domain: ptr(""), Version: ptr(int64(13))}},
		Graph: &GraphProto{
			Name: ptr("test"),
			Node: []*NodeProto{
				{Name: ptr("matmul"), OpType: ptr("MatMul"), Input: []string{"x", "W"}, Output: []string{"h"}},
				{Name: ptr("relu"), OpType: ptr("Relu"), Input: []string{"h"}, Output: []string{"y"}},
			},
			Initializer: []*TensorProto{
				NewTensorFloat32("W", []int{3, 2}, []float32{1, 2, 3, 4, 5, 6}),
			},
			Input:  []*ValueInfoProto{NewValueInfo("x", TensorProto_FLOAT, Dim{Param: "batch"}, Dim{Value: 3})},
			Output: []*ValueInfoProto{NewValueInfo("y", TensorProto_FLOAT, Dim{Param: "batch"}, Dim{Value: 2})},
		},
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tiny, err := os.ReadFile("testdata/tiny.onnx")
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := Decode(tiny)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		model *ModelProto
	}{
		{"built", testModel()},
		{"golden", fromFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := Encode(tc.model)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tc.model) {
				t.Errorf("decoded model differs from the encoded one:\n got %v\nwant %v", got, tc.model)
			}
		})
	}
}

func TestEncodeNil(t *testing.T) {
	if _, err := Encode(nil); err == nil {
		t.Error("Encode(nil) succeeded")
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := Encode(testModel())
	if err != nil {
		t.Fatal(err)
	}
	noGraph := testModel()
	noGraph.Graph = nil
	noGraphData, err := Encode(noGraph)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"nil", nil, "empty input"},
		{"empty", []byte{}, "empty input"},
		{"text", []byte("this is not an ONNX model\n"), "onnx: decode: "},
		{"invalid wire type", []byte{0x0f, 0x01}, "onnx: decode: "},
		{"truncated", good[:len(good)/2], "onnx: decode: "},
		{"truncated length prefix", good[:len(good)-1], "onnx: decode: "},
		{"no graph", noGraphData, "model has no graph"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.data)
			if err == nil {
				t.Fatalf("Decode succeeded: %v", m)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadBackendModel(t *testing.T) {
	dir := filepath.Dir(backendFile(t, "pytorch-converted/test_Conv2d/model.onnx"))
	m, err := Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(m); err != nil {
		t.Fatal(err)
	}
	if OpsetVersion(m, "") == 0 {
		t.Error("no default opset version")
	}
	var conv *NodeProto
	for _, n := range m.GetGraph().GetNode() {
		if n.GetOpType() == "Conv" {
			conv = n
		}
	}
	if conv == nil {
		t.Fatal("no Conv node")
	}
	kernel := AttrInts(conv, "kernel_shape", nil)
	if len(kernel) != 2 {
		t.Fatalf("kernel_shape = %v, want two dims", kernel)
	}

	// The weights are an initializer of shape [out, in, kh, kw].
	weights := map[string]*TensorProto{}
	for _, init := range m.GetGraph().GetInitializer() {
		weights[init.GetName()] = init
	}
	w := weights[conv.GetInput()[1]]
	data, shape, err := TensorFloat64(w)
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) != 4 || shape[2] != int(kernel[0]) || shape[3] != int(kernel[1]) {
		t.Errorf("weight shape %v does not end in kernel_shape %v", shape, kernel)
	}
	if len(data) != shape[0]*shape[1]*shape[2]*shape[3] {
		t.Errorf("%d weights for shape %v", len(data), shape)
	}

	// The test input matches the graph input's static shape.
	in, err := LoadTensor(filepath.Join(dir, "test_data_set_0", "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	dims, elem, err := ValueInfoShape(m.GetGraph().GetInput()[0])
	if err != nil {
		t.Fatal(err)
	}
	x, xshape, err := TensorFloat64(in)
	if err != nil {
		t.Fatal(err)
	}
	if DataType(in.GetDataType()) != elem {
		t.Errorf("input tensor type %v, graph input type %v", DataType(in.GetDataType()), elem)
	}
	if len(xshape) != len(dims) {
		t.Fatalf("input tensor shape %v, graph input shape %v", xshape, dims)
	}
	for i, d := range dims {
		if d.Param == "" && int64(xshape[i]) != d.Value {
			t.Errorf("input tensor shape %v, graph input shape %v", xshape, dims)
		}
	}
	if n := len(x); n == 0 {
		t.Error("empty input tensor")
	}
}

func TestLoadErrorsNamePath(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("\xff\xff\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.onnx")
	for _, tc := range []struct {
		name string
		load func(string) error
		path string
	}{
		{"model missing", func(p string) error { _, err := Load(p); return err }, missing},
		{"model garbage", func(p string) error { _, err := Load(p); return err }, garbage},
		{"tensor missing", func(p string) error { _, err := LoadTensor(p); return err }, missing},
		{"tensor garbage", func(p string) error { _, err := LoadTensor(p); return err }, garbage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.load(tc.path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name %s", err, tc.path)
			}
		})
	}
	if _, err := Load(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestDecodeTensorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte{0xff, 0xff, 0xff}},
		{"no data type", []byte{0x08, 0x02}}, // dims: [2]
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tp, err := DecodeTensor(tc.data); err == nil {
				t.Errorf("DecodeTensor succeeded: %v", tp)
			} else if !strings.HasPrefix(err.Error(), "onnx: decode tensor: ") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	m := testModel()
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, m) {
		t.Errorf("loaded model differs from the saved one")
	}

	// A failed save leaves the previous file intact and no temporary file.
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(path, nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Save of a nil model: %v, want an error naming %s", err, path)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Error("failed Save changed the file")
	}
	// Renaming over a directory fails after the data has been written.
	sub := filepath.Join(dir, "sub.onnx")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Save(sub, m); err == nil {
		t.Error("Save over a directory succeeded")
	} else if !strings.Contains(err.Error(), sub) {
		t.Errorf("error %q does not name %s", err, sub)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "model.onnx sub.onnx" {
		t.Errorf("directory holds %v, want only model.onnx and sub.onnx", names)
	}

	if err := Save(filepath.Join(dir, "no", "such", "dir.onnx"), m); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}

// TestGolden checks the fields of testdata/tiny.onnx, written by the
// reference onnx library (testdata/gen.py).
func TestGolden(t *testing.T) {
	m, err := Load("testdata/tiny.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(m); err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	for _, tc := range []struct {
		field     string
		got, want any
	}{
		{"ir_version", m.GetIrVersion(), int64(7)},
		{"producer_name", m.GetProducerName(), "ebmpipe-gen"},
		{"producer_version", m.GetProducerVersion(), "1"},
		{"opset", OpsetVersion(m, "ai.onnx"), int64(13)},
		{"metadata key", m.GetMetadataProps()[0].GetKey(), "purpose"},
		{"metadata value", m.GetMetadataProps()[0].GetValue(), "golden"},
		{"graph name", g.GetName(), "tiny"},
		{"graph doc", g.GetDocString(), "golden model for package onnx"},
		{"nodes", len(g.GetNode()), 7},
		{"node 0", g.GetNode()[0].GetOpType() + " " + g.GetNode()[0].GetName(), "MatMul matmul"},
		{"node 0 inputs", strings.Join(g.GetNode()[0].GetInput(), ","), "x,W"},
		{"node 6 output", g.GetNode()[6].GetOutput()[0], "y"},
		{"initializers", len(g.GetInitializer()), 3},
		{"input", g.GetInput()[0].GetName(), "x"},
		{"output", g.GetOutput()[0].GetName(), "y"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.field, tc.got, tc.want)
		}
	}

	init := map[string]*TensorProto{}
	for _, in := range g.GetInitializer() {
		init[in.GetName()] = in
	}
	if init["W"].RawData == nil || init["b"].RawData != nil {
		t.Error("W should be stored in raw_data and b in float_data")
	}
	for _, tc := range []struct {
		name  string
		shape []int
		data  []float64
	}{
		{"W", []int{3, 2}, []float64{1, 2, 3, 4, 5, 6}},
		{"b", []int{2}, []float64{0.5, -0.5}},
		{"shape", []int{2}, []float64{-1, 2}},
	} {
		data, shape, err := TensorFloat64(init[tc.name])
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(shape, tc.shape) || !slices.Equal(data, tc.data) {
			t.Errorf("%s = %v %v, want %v %v", tc.name, shape, data, tc.shape, tc.data)
		}
	}
}
