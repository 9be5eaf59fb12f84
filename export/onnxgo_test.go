package export_test

import (
	"fmt"
	"strings"
	"testing"

	onnxgo "github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"
	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// onnxGoRun decodes m with onnx-go's Gorgonia backend and runs it on x. It
// returns the stage that failed ("decode" or "run": the backend builds its
// graph when it first runs) and the error, turning onnx-go's panics into
// errors.
func onnxGoRun(m *onnx.ModelProto, x []float64, shape []int) (y []float64, stage string, err error) {
	data, err := onnx.Encode(m)
	if err != nil {
		return nil, "encode", err
	}
	stage = "decode"
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	backend := gorgonnx.NewGraph()
	model := onnxgo.NewModel(backend)
	if err := model.UnmarshalBinary(data); err != nil {
		return nil, stage, err
	}
	stage = "run"
	f := make([]float32, len(x))
	for i, v := range x {
		f[i] = float32(v)
	}
	// The input goes in as an encoded ONNX tensor, which onnx-go decodes
	// into its engine's tensor type.
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	in, err := proto.Marshal(&onnx.TensorProto{Dims: dims, DataType: proto.Int32(int32(onnx.TensorProto_FLOAT)), FloatData: f})
	if err != nil {
		return nil, stage, err
	}
	x0, err := onnxgo.NewTensor(in)
	if err != nil {
		return nil, stage, err
	}
	if err := model.SetInput(0, x0); err != nil {
		return nil, stage, err
	}
	if err := backend.Run(); err != nil {
		if fmt.Sprint(err) == "<nil>" {
			// onnx-go returns some failures as a typed nil pointer.
			err = fmt.Errorf("Run returned a nil %T", err)
		}
		return nil, stage, err
	}
	outs, err := model.GetOutputTensors()
	if err != nil {
		return nil, stage, err
	}
	if len(outs) != 1 {
		return nil, stage, fmt.Errorf("%d outputs", len(outs))
	}
	got, ok := outs[0].Data().([]float32)
	if !ok {
		return nil, stage, fmt.Errorf("output holds %T", outs[0].Data())
	}
	y = make([]float64, len(got))
	for i, v := range got {
		y[i] = float64(v)
	}
	return y, "", nil
}

// onnxGoExpect pins what onnx-go v0.5.0 (Gorgonia backend) does with each
// exported fixture: "" where it decodes and runs it, else the start of the
// error. Every export decodes; the failures come when the backend builds
// its graph, from operators it lacks (Elu, PRelu, Pad, Shape) or only has
// for 4-D inputs (BatchNormalization).
var onnxGoExpect = map[string]string{
	"energy_silu":         "",
	"energy_softplus":     "",
	"energy_leakyrelu":    "",
	"energy_tanh":         "",
	"energy_mlp_opset9":   "",
	"energy_elu":          "run: onnx: operator Elu not implemented",
	"energy_prelu":        "run: onnx: operator PRelu not implemented",
	"generator_mlp":       "run: onnx: operator Batchnormalization not implemented (Only CxBxHxW tensors are supported)",
	"generator_mlp_train": "run: onnx: operator Batchnormalization not implemented (Only CxBxHxW tensors are supported)",
	"energy_conv":         "run: onnx: operator Pad not implemented",
	"generator_dcgan":     "run: onnx: operator Shape not implemented",
}

// TestOnnxGo decodes every exported fixture (perturbed parameters) in
// onnx-go v0.5.0 and runs it, comparing with the Go engine where it runs.
// Which fixtures work, and why the others do not, is pinned in
// onnxGoExpect, so that a change either way is noticed.
func TestOnnxGo(t *testing.T) {
	for _, f := range torchFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			want, ok := onnxGoExpect[f.Name]
			if !ok {
				t.Fatalf("no onnx-go expectation for fixture %s", f.Name)
			}
			exp, _, ref := exportPerturbed(t, f)
			got, stage, err := onnxGoRun(exp, f.x, f.xShape)
			if err != nil {
				msg := stage + ": " + err.Error()
				t.Logf("onnx-go: %s", msg)
				if want == "" || !strings.HasPrefix(msg, want) {
					t.Errorf("onnx-go fails (%s), want %q", msg, want)
				}
				return
			}
			if want != "" {
				t.Errorf("onnx-go runs the model, want it to fail with %q", want)
			}
			checkClose(t, "onnx-go", got, goForward(t, ref, f.x, f.rows), tolORT)
		})
	}
}

// TestOnnxGoNormalised pins that onnx-go v0.5.0 does not run an energy
// with its normalisation baked in: its Sub fails to broadcast the
// per-feature shift, and its generated operator code (apigen_operators.go
// asserts the error to *onnx.ErrNotImplemented into a shadowing variable)
// turns that error into a nil *onnx.ErrNotImplemented.
func TestOnnxGoNormalised(t *testing.T) {
	for _, f := range torchFixtures(t) {
		if f.Name != "energy_tanh" {
			continue
		}
		exp, err := export.Model(f.model, nil, export.Meta{Kind: f.Kind, Shift: []float64{1, 2}, Scale: []float64{2, 3}})
		if err != nil {
			t.Fatal(err)
		}
		_, stage, err := onnxGoRun(exp, f.x, f.xShape)
		const want = "run: Run returned a nil *onnx.ErrNotImplemented"
		if err == nil {
			t.Fatalf("onnx-go runs a normalised energy, want it to fail with %q", want)
		}
		if msg := stage + ": " + err.Error(); msg != want {
			t.Errorf("onnx-go fails with %q, want %q", msg, want)
		}
		return
	}
	t.Fatal("fixture energy_tanh is missing")
}
