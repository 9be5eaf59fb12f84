package export_test

import (
	"math"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// graphBuilder assembles small test models.
type graphBuilder struct{ g *onnx.GraphProto }

func newGraph(in string, inDims []int64, out string, outDims []int64) *graphBuilder {
	dims := func(ds []int64) []onnx.Dim {
		out := []onnx.Dim{{Param: "batch"}}
		for _, d := range ds {
			out = append(out, onnx.Dim{Value: d})
		}
		return out
	}
	return &graphBuilder{g: &onnx.GraphProto{
		Name:   proto.String("test"),
		Input:  []*onnx.ValueInfoProto{onnx.NewValueInfo(in, onnx.TensorProto_FLOAT, dims(inDims)...)},
		Output: []*onnx.ValueInfoProto{onnx.NewValueInfo(out, onnx.TensorProto_FLOAT, dims(outDims)...)},
	}}
}

// node adds a node; attributes are given as name, value pairs of int64,
// []int64 or float32.
func (b *graphBuilder) node(name, op string, in, out []string, attrs ...any) *graphBuilder {
	n := &onnx.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: out}
	for i := 0; i < len(attrs); i += 2 {
		a := &onnx.AttributeProto{Name: proto.String(attrs[i].(string))}
		switch v := attrs[i+1].(type) {
		case int:
			a.Type, a.I = onnx.AttributeProto_INT.Enum(), proto.Int64(int64(v))
		case []int64:
			a.Type, a.Ints = onnx.AttributeProto_INTS.Enum(), v
		case float64:
			a.Type, a.F = onnx.AttributeProto_FLOAT.Enum(), proto.Float32(float32(v))
		}
		n.Attribute = append(n.Attribute, a)
	}
	b.g.Node = append(b.g.Node, n)
	return b
}

func (b *graphBuilder) init(t *onnx.TensorProto) *graphBuilder {
	b.g.Initializer = append(b.g.Initializer, t)
	return b
}

func (b *graphBuilder) model(opset int64) *onnx.ModelProto {
	return &onnx.ModelProto{
		IrVersion:   proto.Int64(4),
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: proto.Int64(opset)}},
		Graph:       b.g,
	}
}

// ramp returns n deterministic values in about (−2, 2).
func ramp(n int, phase float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(float32(2 * math.Sin(phase+0.37*float64(i))))
	}
	return v
}

func float32s(v []float64) []float32 {
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return f
}

// legacyModels are models in old opsets, using the attribute forms that
// changed before opset 17, each with its input width.
func legacyModels() map[string]struct {
	m     *onnx.ModelProto
	width int
} {
	type entry = struct {
		m     *onnx.ModelProto
		width int
	}
	out := map[string]entry{}

	// Opset 11: axes and split as attributes, Softmax with 2-D coercion.
	out["opset11_axes_split"] = entry{newGraph("x", []int64{3}, "y", []int64{2}).
		node("unsq", "Unsqueeze", []string{"x"}, []string{"u"}, "axes", []int64{1}).
		node("rsum", "ReduceSum", []string{"u"}, []string{"r"}, "axes", []int64{2}, "keepdims", 1).
		node("sq", "Squeeze", []string{"r"}, []string{"s"}, "axes", []int64{2}).
		node("split", "Split", []string{"x"}, []string{"p", "q"}, "axis", 1, "split", []int64{1, 2}).
		node("qsum", "ReduceSum", []string{"q"}, []string{"qs"}, "axes", []int64{1}).
		node("mul", "Mul", []string{"p", "qs"}, []string{"m"}).
		node("add", "Add", []string{"s", "m"}, []string{"a"}).
		node("cat", "Concat", []string{"a", "p"}, []string{"c"}, "axis", 1).
		node("lsm", "LogSoftmax", []string{"c"}, []string{"y"}).
		model(11), 3}

	// Opset 9: Pad, Clip and Slice attributes, Softmax over a coerced
	// 3-D tensor, Dropout with an unused mask.
	out["opset9_pad_clip_slice_softmax"] = entry{newGraph("x", []int64{6}, "y", []int64{6}).
		init(onnx.NewTensorInt64("shape", []int{3}, []int64{0, 2, 3})).
		node("pad", "Pad", []string{"x"}, []string{"p"}, "pads", []int64{0, 1, 0, 1}, "value", 0.5).
		node("clip", "Clip", []string{"p"}, []string{"c"}, "min", -0.5, "max", 0.7).
		node("slice", "Slice", []string{"c"}, []string{"s"}, "starts", []int64{1}, "ends", []int64{7}, "axes", []int64{1}).
		node("mulx", "Mul", []string{"s", "x"}, []string{"sx"}).
		node("reshape", "Reshape", []string{"sx", "shape"}, []string{"r"}).
		node("softmax", "Softmax", []string{"r"}, []string{"sm"}, "axis", 1).
		node("drop", "Dropout", []string{"sm"}, []string{"d", "mask"}, "ratio", 0.3).
		node("flat", "Flatten", []string{"d"}, []string{"y"}, "axis", 1).
		model(9), 6}

	// Opset 6: Gemm and Add with broadcast, BatchNormalization with
	// is_test and spatial, a DOUBLE initializer (of values float32 holds).
	out["opset6_broadcast_batchnorm"] = entry{newGraph("x", []int64{3}, "y", []int64{4}).
		init(onnx.NewTensorFloat32("W", []int{4, 3}, float32s(ramp(12, 0)))).
		init(onnx.NewTensorFloat32("b", []int{4}, float32s(ramp(4, 1)))).
		init(onnx.NewTensorFloat32("gamma", []int{4}, float32s(ramp(4, 2)))).
		init(onnx.NewTensorFloat32("beta", []int{4}, float32s(ramp(4, 3)))).
		init(onnx.NewTensorFloat32("mean", []int{4}, float32s(ramp(4, 4)))).
		init(onnx.NewTensorFloat32("var", []int{4}, []float32{0.5, 1, 1.5, 2})).
		init(onnx.NewTensorFloat64("shift", []int{4}, []float64{0.125, -0.25, 0.375, -0.5})).
		node("gemm", "Gemm", []string{"x", "W", "b"}, []string{"g"}, "transB", 1, "broadcast", 1).
		node("bn", "BatchNormalization", []string{"g", "gamma", "beta", "mean", "var"}, []string{"n"}, "is_test", 1, "spatial", 1, "epsilon", 1e-3).
		node("add", "Add", []string{"n", "shift"}, []string{"a"}, "broadcast", 1).
		node("relu", "Relu", []string{"a"}, []string{"y"}).
		model(6), 3}

	// Opset 4: Reshape's shape attribute.
	out["opset4_reshape"] = entry{newGraph("x", []int64{6}, "y", []int64{6}).
		node("r1", "Reshape", []string{"x"}, []string{"r"}, "shape", []int64{0, 2, 3}).
		node("tr", "Transpose", []string{"r"}, []string{"t"}, "perm", []int64{0, 2, 1}).
		node("r2", "Reshape", []string{"t"}, []string{"f"}, "shape", []int64{0, 6}).
		node("sm", "Softmax", []string{"f"}, []string{"y"}).
		model(4), 6}
	return out
}

// TestConvertOpset exports models of old opsets and checks that the
// opset-17 export computes what the importer computes from the original
// (which it reads in its own opset), in the importer and in ONNX Runtime.
func TestConvertOpset(t *testing.T) {
	const rows = 5
	dir := t.TempDir()
	var paths []string
	for name, c := range legacyModels() {
		t.Run(name, func(t *testing.T) {
			if err := onnx.Validate(c.m); err != nil {
				t.Fatal(err)
			}
			x := ramp(rows*c.width, 0.5)
			want := goForward(t, c.m, x, rows)
			exp, err := export.Model(c.m, nil, export.Meta{Kind: export.KindEnergy})
			if err != nil {
				t.Fatal(err)
			}
			checkExportedForm(t, exp)
			checkClose(t, "importer", goForward(t, exp, x, rows), want, 1e-12)
			checkClose(t, "ONNX Runtime", ortForward(t, exp, x, []int{rows, c.width}), want, tolORT)
			path := filepath.Join(dir, name+".onnx")
			if err := onnx.Save(path, exp); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, path)
		})
	}
	onnxCheck(t, paths)
}
