package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testutil"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// backendData is where Debian's libonnx-testdata installs the ONNX backend
// test models (see importers/conformance_test.go).
const backendData = "/usr/share/libonnx-testdata/data"

// The tolerances of the ONNX backend tests, as importers' conformance test
// takes them.
const (
	confRtol = 1e-4
	confAtol = 1e-5
)

// TestCLIConformance runs every single-input model of the backend suite's
// PyTorch sets through `ebmpipe score --engine go --raw` with default
// flags, as a user would: each must reproduce the expected output at the
// suite's tolerances, or be refused with one line on stderr — never give
// a wrong number.
func TestCLIConformance(t *testing.T) {
	if _, err := os.Stat(backendData); err != nil {
		t.Skipf("ONNX backend test data not found at %s (Debian package libonnx-testdata)", backendData)
	}
	if testing.Short() {
		t.Skip("runs the binary on a hundred models; skipped in -short mode")
	}
	var models []string
	for _, sub := range []string{"pytorch-converted", "pytorch-operator"} {
		m, _ := filepath.Glob(filepath.Join(backendData, sub, "*", "model.onnx"))
		models = append(models, m...)
	}
	var matched, refused, wrong int
	for _, path := range models {
		m, err := onnx.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if inputs(m) != 1 {
			continue
		}
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			switch res := scoreBackendModel(t, path); {
			case res == "":
				matched++
			case strings.HasPrefix(res, "refused: "):
				refused++
				t.Log(res)
			default:
				wrong++
				t.Error(res)
			}
		})
	}
	t.Logf("CLI conformance: %d single-input PyTorch models: %d match, %d refused with one line, %d wrong",
		matched+refused+wrong, matched, refused, wrong)
	if matched+refused+wrong == 0 {
		t.Error("no single-input PyTorch models found")
	}
}

// inputs counts the graph inputs of m that are not initializers.
func inputs(m *onnx.ModelProto) int {
	inits := onnx.InitializerNames(m.GetGraph())
	n := 0
	for _, v := range m.GetGraph().GetInput() {
		if !inits[v.GetName()] {
			n++
		}
	}
	return n
}

// scoreBackendModel scores the first test data set of the model at path
// with the binary and returns "" if the output matches, "refused: MESSAGE"
// if the binary refused it with one line, else what is wrong.
func scoreBackendModel(t *testing.T, path string) string {
	set := filepath.Join(filepath.Dir(path), "test_data_set_0")
	in, err := onnx.LoadTensor(filepath.Join(set, "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	x, shape, err := tensorValues(in)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rows, width := 1, len(x)
	if len(shape) > 0 && shape[0] > 0 {
		rows, width = shape[0], len(x)/shape[0]
	}
	input := filepath.Join(dir, "input.npy")
	if width == 0 {
		// An empty tensor has no rows to write: the binary must refuse the
		// model or the file.
		if err := os.WriteFile(filepath.Join(dir, "input.csv"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		input = filepath.Join(dir, "input.csv")
	} else {
		testutil.WriteRows(t, input, x, width)
	}
	output := filepath.Join(dir, "output.npy")
	r := runBinary(t, dir, "score", "--engine", "go", "--raw", "--model", path, "--input", input, "--output", output)
	if r.code != 0 {
		msg := strings.TrimRight(r.stderr, "\n")
		if strings.Contains(msg, "\n") || msg == "" || strings.Contains(msg, "panic") {
			return fmt.Sprintf("exit %d without one line on stderr:\n%s", r.code, r.stderr)
		}
		return "refused: " + msg
	}
	got, _ := testutil.ReadRows(t, output)
	want, err := expectedRows(set, rows)
	if err != nil {
		return fmt.Sprintf("exit 0, but the expected output cannot be laid out in %d rows (%v): the binary should have refused the model", rows, err)
	}
	if len(got) != len(want) {
		return fmt.Sprintf("exit 0 with %d values, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if !(math.IsNaN(w) && math.IsNaN(g)) && w != g && !(math.Abs(g-w) <= confAtol+confRtol*math.Abs(w)) {
			return fmt.Sprintf("exit 0, but value %d is %g, want %g", i, g, w)
		}
	}
	return ""
}

// tensorValues returns the values of a float or int64 tensor as float64,
// and its shape.
func tensorValues(tt *onnx.TensorProto) ([]float64, []int, error) {
	if onnx.DataType(tt.GetDataType()) == onnx.TensorProto_INT64 {
		v, shape, err := onnx.TensorInt64(tt)
		if err != nil {
			return nil, nil, err
		}
		x := make([]float64, len(v))
		for i, e := range v {
			x[i] = float64(e)
		}
		return x, shape, nil
	}
	return onnx.TensorFloat64(tt)
}

// expectedRows returns the expected outputs of a test data set as the rows
// `score --raw` writes: row after row, each output's values for the row in
// turn. Every output must have rows rows first.
func expectedRows(set string, rows int) ([]float64, error) {
	var outs [][]float64
	for k := 0; ; k++ {
		p := filepath.Join(set, fmt.Sprintf("output_%d.pb", k))
		if _, err := os.Stat(p); err != nil {
			break
		}
		tt, err := onnx.LoadTensor(p)
		if err != nil {
			return nil, err
		}
		v, shape, err := tensorValues(tt)
		if err != nil {
			return nil, err
		}
		if len(shape) == 0 || shape[0] != rows {
			return nil, fmt.Errorf("output %d has shape %v", k, shape)
		}
		outs = append(outs, v)
	}
	var want []float64
	for i := range rows {
		for _, o := range outs {
			w := len(o) / rows
			want = append(want, o[i*w:(i+1)*w]...)
		}
	}
	return want, nil
}
