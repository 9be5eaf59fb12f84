package onnx

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// opsetDir holds the opset 18-23 test models (testdata/opset/README.md).
const opsetDir = "../testdata/opset"

func TestLoadExternalDataFixture(t *testing.T) {
	path := filepath.Join(opsetDir, "energy_mlp_external_o18.onnx")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	external := 0
	for _, init := range decoded.GetGraph().GetInitializer() {
		if init.GetDataLocation() == TensorProto_EXTERNAL {
			external++
		}
	}
	if external == 0 {
		t.Fatal("the fixture has no external initializer")
	}
	if _, _, err := TensorFloat64(decoded.Graph.Initializer[0]); err == nil || !strings.Contains(err.Error(), "not loaded") {
		t.Errorf("reading an external tensor before loading its data: %v, want a not-loaded error", err)
	}

	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(m); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(opsetDir, "energy_mlp_external_o18.data"))
	if err != nil {
		t.Fatal(err)
	}
	var bytes int64
	for _, init := range m.GetGraph().GetInitializer() {
		if init.GetDataLocation() == TensorProto_EXTERNAL || len(init.GetExternalData()) > 0 {
			t.Errorf("tensor %q is still external after Load", init.GetName())
		}
		if _, _, err := TensorFloat64(init); err != nil {
			t.Error(err)
		}
		bytes += int64(len(init.GetRawData()))
	}
	// onnx.save aligns the tensors in the file, so the data file may be
	// longer than the sum of the tensors, never shorter.
	if bytes == 0 || bytes > info.Size() {
		t.Errorf("loaded %d bytes from a %d-byte file", bytes, info.Size())
	}

	// LoadExternalData on the decoded model gives the same tensors.
	if err := LoadExternalData(decoded, opsetDir); err != nil {
		t.Fatal(err)
	}
	for i, init := range decoded.GetGraph().GetInitializer() {
		if string(init.GetRawData()) != string(m.Graph.Initializer[i].GetRawData()) {
			t.Errorf("tensor %q: LoadExternalData and Load disagree", init.GetName())
		}
	}
}

// externalTensor returns a FLOAT tensor named w whose data is in a file,
// described by the key-value pairs kv.
func externalTensor(dims []int64, kv ...string) *TensorProto {
	t := &TensorProto{
		Name:         ptr("w"),
		DataType:     ptr(int32(TensorProto_FLOAT)),
		Dims:         dims,
		DataLocation: TensorProto_EXTERNAL.Enum(),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		t.ExternalData = append(t.ExternalData, &StringStringEntryProto{Key: ptr(kv[i]), Value: ptr(kv[i+1])})
	}
	return t
}

func TestLoadExternalData(t *testing.T) {
	// A directory holding the model, with data.bin (16 bytes: four float32
	// 1, 2, 3, 4), a subdirectory, and a file and a symbolic link outside.
	parent := t.TempDir()
	dir := filepath.Join(parent, "model")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, v := range []float32{1, 2, 3, 4} {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	for _, p := range []string{filepath.Join(dir, "data.bin"), filepath.Join(dir, "sub", "data.bin"), filepath.Join(parent, "outside.bin")} {
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(parent, "outside.bin"), filepath.Join(dir, "link.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("data.bin", filepath.Join(dir, "inside.bin")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		tensor *TensorProto
		want   []float64
		err    string // substring of the error; "" for success
	}{
		{"whole file", externalTensor([]int64{2, 2}, "location", "data.bin"), []float64{1, 2, 3, 4}, ""},
		{"offset and length", externalTensor([]int64{2}, "location", "data.bin", "offset", "4", "length", "8"), []float64{2, 3}, ""},
		{"offset to the end", externalTensor([]int64{1}, "location", "data.bin", "offset", "12"), []float64{4}, ""},
		{"subdirectory", externalTensor([]int64{4}, "location", "sub/data.bin"), []float64{1, 2, 3, 4}, ""},
		{"link inside", externalTensor([]int64{4}, "location", "inside.bin"), []float64{1, 2, 3, 4}, ""},
		{"empty tensor", externalTensor([]int64{0}, "location", "data.bin", "offset", "16"), []float64{}, ""},
		{"no location", externalTensor([]int64{4}, "offset", "0"), nil, `tensor "w": external_data has no location`},
		{"absolute", externalTensor([]int64{4}, "location", filepath.Join(parent, "outside.bin")), nil, `tensor "w": location "` + filepath.Join(parent, "outside.bin") + `" is an absolute path`},
		{"dot dot", externalTensor([]int64{4}, "location", "../outside.bin"), nil, `tensor "w": location "../outside.bin" leaves the model's directory`},
		{"dot dot inside", externalTensor([]int64{4}, "location", "sub/../../outside.bin"), nil, `leaves the model's directory`},
		{"link outside", externalTensor([]int64{4}, "location", "link.bin"), nil, `tensor "w": file "link.bin": openat link.bin: path escapes`},
		{"missing file", externalTensor([]int64{4}, "location", "none.bin"), nil, `tensor "w": file "none.bin" does not exist`},
		{"directory", externalTensor([]int64{4}, "location", "sub"), nil, `file "sub" is not a regular file`},
		{"bad offset", externalTensor([]int64{4}, "location", "data.bin", "offset", "x"), nil, `offset "x" is not a byte count`},
		{"negative length", externalTensor([]int64{4}, "location", "data.bin", "length", "-4"), nil, `length "-4" is not a byte count`},
		{"offset past end", externalTensor([]int64{1}, "location", "data.bin", "offset", "20"), nil, `file "data.bin": offset 20 is past its end (16 bytes)`},
		{"length past end", externalTensor([]int64{4}, "location", "data.bin", "offset", "4", "length", "16"), nil, `file "data.bin": 16 bytes at offset 4 run past its end (16 bytes)`},
		{"too few bytes", externalTensor([]int64{5}, "location", "data.bin"), nil, `file "data.bin": shape [5] needs 5 elements of 4 bytes (FLOAT), but 16 bytes are given`},
		{"huge dims", externalTensor([]int64{1_000_000, 1_000_000}, "location", "data.bin"), nil, `needs 1000000000000 elements of 4 bytes`},
		{"overflowing dims", externalTensor([]int64{math.MaxInt64, 4}, "location", "data.bin"), nil, `is too large`},
		{"string", &TensorProto{Name: ptr("w"), DataType: ptr(int32(TensorProto_STRING)), DataLocation: TensorProto_EXTERNAL.Enum(),
			ExternalData: []*StringStringEntryProto{{Key: ptr("location"), Value: ptr("data.bin")}}}, nil, `data type STRING cannot be stored externally`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testModel()
			m.Graph.Initializer = append(m.Graph.Initializer, tt.tensor)
			err := LoadExternalData(m, dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				if !strings.HasPrefix(err.Error(), `onnx: external data of tensor "w": `) {
					t.Errorf("error %q does not name the tensor", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := TensorFloat64(tt.tensor)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
			if err := Validate(m); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestLoadExternalDataEverywhere checks that the data of tensors in node
// attributes, subgraphs and functions is loaded too, and that Load reads it
// relative to the model file, not to the working directory.
func TestLoadExternalDataEverywhere(t *testing.T) {
	dir := t.TempDir()
	raw := binary.LittleEndian.AppendUint32(nil, math.Float32bits(2.5))
	if err := os.WriteFile(filepath.Join(dir, "c.bin"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	constant := func() *NodeProto {
		return &NodeProto{OpType: ptr("Constant"), Output: []string{"c"}, Attribute: []*AttributeProto{{
			Name: ptr("value"), Type: AttributeProto_TENSOR.Enum(), T: externalTensor([]int64{1}, "location", "c.bin"),
		}}}
	}
	m := testModel()
	m.Graph.Node = append(m.Graph.Node, constant(), &NodeProto{OpType: ptr("If"), Attribute: []*AttributeProto{{
		Name: ptr("then_branch"), Type: AttributeProto_GRAPH.Enum(), G: &GraphProto{Node: []*NodeProto{constant()}},
	}}})
	m.Functions = []*FunctionProto{{Name: ptr("f"), Node: []*NodeProto{constant()}}}
	if err := Save(filepath.Join(dir, "m.onnx"), m); err != nil {
		t.Fatal(err)
	}
	got, err := Load(filepath.Join(dir, "m.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = walkTensors(got, func(tp *TensorProto) error {
		if tp.GetName() != "w" {
			return nil
		}
		n++
		v, _, err := TensorFloat64(tp)
		if err != nil || len(v) != 1 || v[0] != 2.5 {
			t.Errorf("tensor %d: %v, %v; want [2.5]", n, v, err)
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Errorf("walked %d external tensors (%v), want 3", n, err)
	}

	// The same model saved where c.bin is missing: Load names the model,
	// the tensor and the file.
	other := t.TempDir()
	if err := Save(filepath.Join(other, "m.onnx"), m); err != nil {
		t.Fatal(err)
	}
	_, err = Load(filepath.Join(other, "m.onnx"))
	want := `external data of tensor "w": file "c.bin" does not exist`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "m.onnx") {
		t.Errorf("Load: %v, want an error naming m.onnx and containing %q", err, want)
	}
}
