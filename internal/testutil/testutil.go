package testutil

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/ortlib"
	"github.com/ebmpipe/ebmpipe/internal/rows"
)

// NeedORT skips the test if the ONNX Runtime library cannot be loaded
// (make setup installs it).
func NeedORT(t testing.TB) {
	t.Helper()
	if err := ortlib.Init(""); err != nil {
		t.Skipf("no ONNX Runtime (%v)", err)
	}
}

// A Fixture is one entry of testdata/torch/manifest.json: a model exported
// from PyTorch, an input batch and PyTorch's output for it.
type Fixture struct {
	Name       string   `json:"name"`
	Opset      int64    `json:"opset"`
	Model      string   `json:"model"`  // the .onnx file, in the manifest's directory
	Input      string   `json:"input"`  // the input batch, a .npy file
	Output     string   `json:"output"` // PyTorch's output, a .npy file
	InputName  string   `json:"input_name"`
	OutputName string   `json:"output_name"`
	Ops        []string `json:"ops"`
	Kind       string   `json:"kind"` // "energy" or "generator"
	Training   bool     `json:"training"`
	Notes      string   `json:"notes"`
	// OutputDims are the output's declared dims (a name for a dynamic
	// one), Aliases the names a generator calls its ports by.
	OutputDims []any             `json:"output_dims"`
	Aliases    map[string]string `json:"aliases"`
}

// Fixtures reads dir/manifest.json, dir being the path of a fixture
// directory (testdata/torch, testdata/opset, testdata/torchquirks) from
// the test's package, and fails t if it lists no fixture.
func Fixtures(t testing.TB, dir string) []Fixture {
	t.Helper()
	return manifest[Fixture](t, dir, 1)
}

// A Hostile is one entry of testdata/hostile/manifest.json: a model that
// the importer must refuse, naming its culprit.
type Hostile struct {
	Name    string `json:"name"`
	Model   string `json:"model"` // the .onnx file, in the manifest's directory
	Culprit string `json:"culprit"`
	// Structural reports a model that onnx.Validate refuses; the others
	// are valid ONNX that the importer refuses.
	Structural bool   `json:"structural"`
	Want       string `json:"want"` // the error expected, in words
}

// HostileCorpus reads dir/manifest.json, dir being the path of
// testdata/hostile from the test's package, and fails t if it lists fewer
// than 10 models.
func HostileCorpus(t testing.TB, dir string) []Hostile {
	t.Helper()
	return manifest[Hostile](t, dir, 10)
}

// manifest reads the entries of dir/manifest.json, failing t if there
// are fewer than least.
func manifest[T any](t testing.TB, dir string, least int) []T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []T
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatalf("%s/manifest.json: %v", dir, err)
	}
	if len(entries) < least {
		t.Fatalf("%s/manifest.json lists %d entries; want at least %d", dir, len(entries), least)
	}
	return entries
}

// ReadRows reads every row of the row file path, and its column names.
func ReadRows(t testing.TB, path string) ([]float64, []string) {
	t.Helper()
	x, cols, _ := readRows(t, path)
	return x, cols
}

// ReadRowsWidth reads every row of the row file path, and the row width.
func ReadRowsWidth(t testing.TB, path string) ([]float64, int) {
	t.Helper()
	x, _, width := readRows(t, path)
	return x, width
}

func readRows(t testing.TB, path string) ([]float64, []string, int) {
	t.Helper()
	// Outputs, such as scores, may hold NaN and ±Inf.
	r, err := rows.OpenReader(path, rows.ReadOptions{NonFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var all []float64
	buf := make([]float64, 512*r.Width())
	for {
		n, err := r.Read(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, buf[:n*r.Width()]...)
	}
	return all, r.Columns(), r.Width()
}

// WriteRows writes x, rows of width values, to the row file path, with
// columns x0, x1, ... if the format names them.
func WriteRows(t testing.TB, path string, x []float64, width int) {
	t.Helper()
	cols := make([]string, width)
	for i := range cols {
		cols[i] = "x" + strconv.Itoa(i)
	}
	w, err := rows.CreateWriter(path, cols)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// WriteNPY32 writes x, rows of width values, to path as an NPY file of
// dtype little-endian float32 (the Writer writes float64 only).
func WriteNPY32(t testing.TB, path string, x []float32, width int) {
	t.Helper()
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", len(x)/width, width)
	pad := 64 - (10+len(dict)+1)%64 // numpy aligns the data to 64 bytes
	b := binary.LittleEndian.AppendUint16([]byte("\x93NUMPY\x01\x00"), uint16(len(dict)+pad+1))
	b = append(b, dict...)
	b = append(b, bytes.Repeat([]byte(" "), pad)...)
	b = append(b, '\n')
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// CloseTo reports whether got is within tol of want, relative to 1+|want|.
func CloseTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*(1+math.Abs(want))
}
