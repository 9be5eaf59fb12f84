package export_test

import (
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/ebmpipe/ebmpipe/internal/testutil"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// ortForward runs the model m in ONNX Runtime on x, of the given shape,
// fed to its only input, and returns its only output as float64 values.
func ortForward(t *testing.T, m *onnx.ModelProto, x []float64, shape []int) []float64 {
	t.Helper()
	testutil.NeedORT(t)
	data, err := onnx.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Graph.Input) != 1 || len(m.Graph.Output) != 1 {
		t.Fatalf("model has %d inputs and %d outputs, want 1 and 1", len(m.Graph.Input), len(m.Graph.Output))
	}
	in, out := m.Graph.Input[0].GetName(), m.Graph.Output[0].GetName()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{in}, []string{out}, opts)
	if err != nil {
		t.Fatalf("ONNX Runtime session: %v", err)
	}
	defer s.Destroy()
	f := make([]float32, len(x))
	for i, v := range x {
		f[i] = float32(v)
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	xt, err := ort.NewTensor(ort.NewShape(dims...), f)
	if err != nil {
		t.Fatal(err)
	}
	defer xt.Destroy()
	outs := []ort.Value{nil}
	if err := s.Run([]ort.Value{xt}, outs); err != nil {
		t.Fatalf("ONNX Runtime run: %v", err)
	}
	defer outs[0].Destroy()
	yt, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		t.Fatalf("ONNX Runtime output is %T, want a float32 tensor", outs[0])
	}
	y := make([]float64, len(yt.GetData()))
	for i, v := range yt.GetData() {
		y[i] = float64(v)
	}
	return y
}
