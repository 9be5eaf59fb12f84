package onnx

import (
	"os"
	"testing"

	"google.golang.org/protobuf/proto"
)

// FuzzDecode feeds arbitrary bytes to Decode and everything that reads a
// decoded model. None of it may panic or allocate in proportion to a
// claimed (rather than stored) size; whatever decodes must validate or
// fail with an error, and re-encode to the same model.
func FuzzDecode(f *testing.F) {
	for _, path := range []string{"testdata/tiny.onnx", "testdata/tensors.onnx"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	built, err := Encode(testModel())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(built)
	f.Add(built[:len(built)/3])
	f.Add([]byte{})
	f.Add([]byte("not a model"))
	f.Add([]byte{0x3a, 0x06, 0x2a, 0x04, 0x08, 0xff, 0xff, 0x7f}) // graph{initializer{dims: huge}}

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			if m != nil {
				t.Fatal("Decode returned a model and an error")
			}
			return
		}
		_ = Validate(m)
		g := m.GetGraph()
		for _, init := range g.GetInitializer() {
			TensorFloat64(init)
			TensorInt64(init)
		}
		for _, n := range g.GetNode() {
			for _, a := range n.GetAttribute() {
				TensorFloat64(a.GetT())
			}
		}
		for _, v := range append(g.GetInput(), g.GetOutput()...) {
			ValueInfoShape(v)
		}
		again, err := Encode(m)
		if err != nil {
			t.Fatalf("decoded model does not encode: %v", err)
		}
		m2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded model does not decode: %v", err)
		}
		if !proto.Equal(m, m2) {
			t.Fatal("model changed in an encode/decode round trip")
		}
	})
}
