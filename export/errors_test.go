package export_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// TestModelErrors checks that bad models, parameters and metadata are
// errors naming what is at fault, that the source model is left alone, and
// that Save writes nothing then.
func TestModelErrors(t *testing.T) {
	var tanh *onnx.ModelProto
	for _, f := range torchFixtures(t) {
		if f.Name == "energy_tanh" {
			tanh = f.model
		}
	}
	if tanh == nil {
		t.Fatal("fixture energy_tanh is missing")
	}
	legacy := legacyModels()
	energy := export.Meta{Kind: export.KindEnergy}
	edit := func(m *onnx.ModelProto, f func(*onnx.ModelProto)) *onnx.ModelProto {
		m = proto.Clone(m).(*onnx.ModelProto)
		f(m)
		return m
	}
	weight := tanh.Graph.Initializer[0].GetName()
	cases := []struct {
		name   string
		m      *onnx.ModelProto
		params map[string][]float64
		meta   export.Meta
		want   string
	}{
		{name: "nil model", want: "no model graph"},
		{name: "no kind", m: tanh, want: `kind ""`},
		{name: "unknown kind", m: tanh, meta: export.Meta{Kind: "critic"}, want: `kind "critic"`},
		{name: "unknown parameter", m: tanh, meta: energy, params: map[string][]float64{"nope": {1}},
			want: `parameter "nope": the model has no initializer`},
		{name: "parameter size", m: tanh, meta: energy, params: map[string][]float64{weight: {1, 2, 3}},
			want: `parameter "` + weight + `": 3 values for an initializer of shape`},
		{name: "NaN parameter", m: tanh, meta: energy, params: map[string][]float64{weight: nanParam(tanh)},
			want: `parameter "` + weight + `": element 0 (NaN)`},
		{name: "integer initializer", m: legacy["opset9_pad_clip_slice_softmax"].m, meta: energy,
			params: map[string][]float64{"shape": {0, 2, 3}}, want: `parameter "shape": initializer holds INT64`},
		{name: "log Z of a generator", m: tanh, meta: export.Meta{Kind: export.KindGenerator, LogZ: &export.LogZ{}},
			want: "a generator model has no log Z"},
		{name: "infinite log Z", m: tanh, meta: export.Meta{Kind: export.KindEnergy, LogZ: &export.LogZ{Value: math.Inf(1)}},
			want: "log Z +Inf is not finite"},
		{name: "negative log Z stderr", m: tanh, meta: export.Meta{Kind: export.KindEnergy, LogZ: &export.LogZ{StdErr: -1}},
			want: "standard error -1"},
		{name: "reserved extra key", m: tanh, meta: export.Meta{Kind: export.KindEnergy, Extra: map[string]string{export.MetaLogZ: "1"}},
			want: `key "ebmpipe.log_z" is reserved`},
		{name: "shift length", m: tanh, meta: export.Meta{Kind: export.KindEnergy, Shift: []float64{1, 2, 3}},
			want: `3 shift values for "x", whose rows have 2 values`},
		{name: "features length", m: tanh, meta: export.Meta{Kind: export.KindEnergy, Features: []string{"a"}},
			want: `1 feature names for "x", whose rows have 2 values`},
		{name: "zero scale", m: tanh, meta: export.Meta{Kind: export.KindEnergy, Scale: []float64{1, 0}},
			want: "scale[1] = 0"},
		{name: "scale overflows float32", m: tanh, meta: export.Meta{Kind: export.KindEnergy, Scale: []float64{1, 1e300}},
			want: "overflows float32"},
		{name: "opset 24", m: edit(tanh, func(m *onnx.ModelProto) { m.OpsetImport[0].Version = proto.Int64(24) }), meta: energy,
			want: "opset 24 is newer than opset 23, the newest the importer reads"},
		{name: "invalid graph", m: edit(tanh, func(m *onnx.ModelProto) { m.Graph.Node[0].Input[0] = "missing" }), meta: energy,
			want: `input "missing" is not defined`},
		{name: "dropout mask used", meta: energy,
			m: edit(legacy["opset9_pad_clip_slice_softmax"].m, func(m *onnx.ModelProto) {
				m.Graph.Output = append(m.Graph.Output, onnx.NewValueInfo("mask", onnx.TensorProto_BOOL, onnx.Dim{Param: "batch"}, onnx.Dim{Value: 6}))
			}),
			want: `node "drop" (Dropout): output 1 ("mask") is used`},
		{name: "legacy axis broadcast", meta: energy,
			m: edit(legacy["opset6_broadcast_batchnorm"].m, func(m *onnx.ModelProto) {
				m.Graph.Node[2].Attribute = append(m.Graph.Node[2].Attribute,
					&onnx.AttributeProto{Name: proto.String("axis"), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(1)})
			}),
			want: `node "add" (Add): legacy broadcasting along axis 1`},
		{name: "two outputs to normalise", meta: export.Meta{Kind: export.KindGenerator, Shift: []float64{1}},
			m: edit(legacy["opset9_pad_clip_slice_softmax"].m, func(m *onnx.ModelProto) {
				m.Graph.Output = append(m.Graph.Output, onnx.NewValueInfo("d", onnx.TensorProto_FLOAT, onnx.Dim{Param: "batch"}, onnx.Dim{Value: 2}, onnx.Dim{Value: 3}))
			}),
			want: "a generator model with 1 inputs and 2 outputs cannot take a normalisation"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before *onnx.ModelProto
			if c.m != nil {
				before = proto.Clone(c.m).(*onnx.ModelProto)
			}
			out, err := export.Model(c.m, c.params, c.meta)
			if err == nil {
				t.Fatalf("Model succeeded, want an error containing %q", c.want)
			}
			if out != nil {
				t.Error("Model returned a model with its error")
			}
			if !strings.HasPrefix(err.Error(), "export: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want one containing %q", err, c.want)
			}
			if c.m != nil && !proto.Equal(before, c.m) {
				t.Error("Model modified its argument")
			}
			path := filepath.Join(dir, "out.onnx")
			if err := export.Save(path, c.m, c.params, c.meta); err == nil {
				t.Error("Save succeeded")
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("Save left a file behind: %v", err)
			}
		})
	}
}

// nanParam returns the first initializer of m's values with a NaN first.
func nanParam(m *onnx.ModelProto) []float64 {
	v, _, _ := onnx.TensorFloat64(m.Graph.Initializer[0])
	v[0] = math.NaN()
	return v
}

// TestModelLeavesSourceAlone checks that a successful export does not
// modify its argument, and that Save writes what Model returns.
func TestModelLeavesSourceAlone(t *testing.T) {
	for _, f := range torchFixtures(t) {
		before := proto.Clone(f.model).(*onnx.ModelProto)
		params := perturbParams(t, f.model)
		meta := export.Meta{Kind: f.Kind, Extra: map[string]string{"source": f.Name}}
		exp, err := export.Model(f.model, params, meta)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if !proto.Equal(before, f.model) {
			t.Errorf("%s: Model modified its argument", f.Name)
		}
		path := filepath.Join(t.TempDir(), "m.onnx")
		if err := export.Save(path, f.model, params, meta); err != nil {
			t.Fatalf("%s: Save: %v", f.Name, err)
		}
		saved, err := onnx.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(saved, exp) {
			t.Errorf("%s: Save wrote another model than Model returns", f.Name)
		}
	}
}
