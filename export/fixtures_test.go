package export_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/internal/testutil"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// torchDir holds the PyTorch fixtures shared by the packages' tests.
const torchDir = "../testdata/torch"

// A torchFixture is one entry of testdata/torch/manifest.json with its
// files loaded.
type torchFixture struct {
	testutil.Fixture

	model  *onnx.ModelProto
	x      []float64 // the input batch, row-major
	xShape []int
	y      []float64 // PyTorch's output for x
	rows   int
}

// torchFixtures loads every fixture of the manifest.
func torchFixtures(t *testing.T) []*torchFixture {
	t.Helper()
	var fs []*torchFixture
	for _, f := range testutil.Fixtures(t, torchDir) {
		fs = append(fs, &torchFixture{Fixture: f})
	}
	var err error
	for _, f := range fs {
		if f.model, err = onnx.Load(filepath.Join(torchDir, f.Model)); err != nil {
			t.Fatal(err)
		}
		if f.x, f.xShape, err = readNPY(filepath.Join(torchDir, f.Input)); err != nil {
			t.Fatal(err)
		}
		if f.y, _, err = readNPY(filepath.Join(torchDir, f.Output)); err != nil {
			t.Fatal(err)
		}
		f.rows = f.xShape[0]
	}
	return fs
}

// readNPY reads a float32 .npy array as float64 values, and its shape.
func readNPY(path string) ([]float64, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var f32 []float32
	if err := r.Read(&f32); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	v := make([]float64, len(f32))
	for i, x := range f32 {
		v[i] = float64(x)
	}
	return v, r.Header.Descr.Shape, nil
}

// perturbParams returns every float parameter of m moved deterministically
// away from its value, rounded to float32 so that the exported FLOAT model
// holds exactly these values. Trained weights get an additive shift, state
// such as BatchNormalization's running variance a multiplicative one that
// keeps its sign.
func perturbParams(t *testing.T, m *onnx.ModelProto) map[string][]float64 {
	t.Helper()
	net, err := importers.New(m)
	if err != nil {
		t.Fatalf("importers.New: %v", err)
	}
	out := map[string][]float64{}
	for k, p := range net.Params() {
		v := make([]float64, len(p.Data))
		for i, x := range p.Data {
			d := math.Sin(1 + 0.7*float64(i) + 1.3*float64(k))
			if p.Trainable {
				x += 0.05 * d
			} else {
				x *= 1 + 0.2*d
			}
			v[i] = float64(float32(x))
		}
		out[p.Name] = v
	}
	if len(out) == 0 {
		t.Fatal("model has no parameters to perturb")
	}
	return out
}

// withParams returns a copy of m whose FLOAT initializers named in params
// hold those values: the reference the export is compared with, built
// independently of export.Model.
func withParams(t *testing.T, m *onnx.ModelProto, params map[string][]float64) *onnx.ModelProto {
	t.Helper()
	// The initializers the parameters name: aliases resolved.
	m, err := importers.Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	m = proto.Clone(m).(*onnx.ModelProto)
	for i, init := range m.Graph.Initializer {
		v, ok := params[init.GetName()]
		if !ok {
			continue
		}
		shape := make([]int, len(init.Dims))
		for k, d := range init.Dims {
			shape[k] = int(d)
		}
		switch onnx.DataType(init.GetDataType()) {
		case onnx.TensorProto_FLOAT:
			f := make([]float32, len(v))
			for k, x := range v {
				f[k] = float32(x)
			}
			m.Graph.Initializer[i] = onnx.NewTensorFloat32(init.GetName(), shape, f)
		case onnx.TensorProto_DOUBLE:
			m.Graph.Initializer[i] = onnx.NewTensorFloat64(init.GetName(), shape, v)
		default:
			t.Fatalf("initializer %q is not FLOAT or DOUBLE", init.GetName())
		}
	}
	return m
}

// inferenceForm returns m with every BatchNormalization's training_mode
// set to 0, so that the importer normalises with running statistics.
func inferenceForm(m *onnx.ModelProto) *onnx.ModelProto {
	m = proto.Clone(m).(*onnx.ModelProto)
	for _, n := range m.Graph.Node {
		if a := onnx.Attr(n, "training_mode"); a != nil {
			a.I = proto.Int64(0)
		}
	}
	return m
}

// goForward runs m in the importer's Go engine on rows rows of x and
// returns its only output.
func goForward(t *testing.T, m *onnx.ModelProto, x []float64, rows int) []float64 {
	t.Helper()
	net, err := importers.New(m)
	if err != nil {
		t.Fatalf("importers.New: %v", err)
	}
	ev, err := net.NewEvaluator(rows)
	if err != nil {
		t.Fatalf("NewEvaluator: %v", err)
	}
	out, err := ev.Run(x, rows)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(out) != 1 {
		t.Fatalf("%d outputs, want 1", len(out))
	}
	return out[0]
}

// maxRelErr returns the largest |got − want| / max(|want|, floor) and its
// index, or an error if the lengths differ. floor keeps the measure
// meaningful for values near zero.
func maxRelErr(got, want []float64, floor float64) (float64, int, error) {
	if len(got) != len(want) {
		return 0, 0, fmt.Errorf("%d values, want %d", len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range got {
		e := math.Abs(got[i]-want[i]) / math.Max(math.Abs(want[i]), floor)
		if math.IsNaN(e) {
			e = math.Inf(1)
		}
		if at < 0 || e > worst {
			worst, at = e, i
		}
	}
	return worst, at, nil
}

// checkClose fails t if got and want differ by more than tol relative: the
// error of each value is measured against its own magnitude, or against
// 1% of the largest magnitude in want if that is more (float32 arithmetic
// leaves an absolute error of the order of the values it sums, which
// dwarfs outputs that are near zero).
func checkClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	peak := 0.0
	for _, v := range want {
		peak = math.Max(peak, math.Abs(v))
	}
	e, i, err := maxRelErr(got, want, math.Max(1e-2*peak, 1e-30))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if e > tol {
		t.Errorf("%s: relative error %.3g at %d (got %v, want %v), above %g", what, e, i, got[i], want[i], tol)
		return
	}
	t.Logf("%s: max relative error %.2g", what, e)
}
