package export_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// summary describes m in text: its header, inputs and outputs,
// metadata, initializers (names, types and shapes) and nodes.
func summary(m *onnx.ModelProto) string {
	var b strings.Builder
	fmt.Fprintf(&b, "producer: %s %s\n", m.GetProducerName(), m.GetProducerVersion())
	fmt.Fprintf(&b, "ir_version: %d\n", m.GetIrVersion())
	for _, op := range m.GetOpsetImport() {
		fmt.Fprintf(&b, "opset: %q %d\n", op.GetDomain(), op.GetVersion())
	}
	port := func(kind string, v *onnx.ValueInfoProto) {
		dims, elem, err := onnx.ValueInfoShape(v)
		if err != nil {
			fmt.Fprintf(&b, "%s: %s: %v\n", kind, v.GetName(), err)
			return
		}
		fmt.Fprintf(&b, "%s: %s %v %v\n", kind, v.GetName(), elem, dims)
	}
	for _, v := range m.GetGraph().GetInput() {
		port("input", v)
	}
	for _, v := range m.GetGraph().GetOutput() {
		port("output", v)
	}
	b.WriteString("metadata:\n")
	for _, p := range m.GetMetadataProps() {
		fmt.Fprintf(&b, "  %s = %s\n", p.GetKey(), p.GetValue())
	}
	b.WriteString("initializers:\n")
	for _, t := range m.GetGraph().GetInitializer() {
		fmt.Fprintf(&b, "  %s %v %v\n", t.GetName(), onnx.DataType(t.GetDataType()), t.GetDims())
	}
	b.WriteString("nodes:\n")
	for _, n := range m.GetGraph().GetNode() {
		var attrs []string
		for _, a := range n.GetAttribute() {
			attrs = append(attrs, a.GetName())
		}
		fmt.Fprintf(&b, "  %s %q %v -> %v attrs %v\n", n.GetOpType(), n.GetName(), n.GetInput(), n.GetOutput(), attrs)
	}
	return b.String()
}

// TestGolden compares the summary of one small export, the opset-9 MLP
// with every metadata field and a normalisation, with
// testdata/energy_mlp_opset9.golden. Run with -update to rewrite it.
func TestGolden(t *testing.T) {
	m, err := onnx.Load(filepath.Join(torchDir, "energy_mlp_opset9.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := export.Model(m, nil, export.Meta{
		Kind:     export.KindEnergy,
		LogZ:     &export.LogZ{Value: 2.75, StdErr: 0.03, Method: "ais"},
		Shift:    []float64{0.5, -0.25},
		Scale:    []float64{2, 4},
		Features: []string{"u", "v"},
		Extra:    map[string]string{"ebmpipe.train.steps": "500"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := summary(exp)
	path := filepath.Join("testdata", "energy_mlp_opset9.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("summary differs from %s (run go test -update if the change is intended):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
