package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/table"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const fixtures = "../../testdata/torch"

// runCLI runs the command line in-process and returns its exit status,
// stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errw bytes.Buffer
	code := run(args, &out, &errw)
	return code, out.String(), errw.String()
}

type fixture struct {
	Name   string `json:"name"`
	Model  string `json:"model"`
	Input  string `json:"input"`
	Output string `json:"output"`
	Train  bool   `json:"training"`
}

func loadManifest(t *testing.T) []fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fs []fixture
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatal(err)
	}
	return fs
}

func readAll(t *testing.T, path string) ([]float64, int) {
	t.Helper()
	r, err := table.OpenReader(path, table.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var all []float64
	buf := make([]float64, 64*r.Width())
	for {
		n, err := r.Read(buf)
		all = append(all, buf[:n*r.Width()]...)
		if err != nil {
			break
		}
	}
	return all, r.Width()
}

// TestScoreFixtures checks that `ebmpipe score --engine go --raw` reproduces
// PyTorch's outputs on every fixture exported from PyTorch.
func TestScoreFixtures(t *testing.T) {
	for _, f := range loadManifest(t) {
		t.Run(f.Name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.npy")
			// Batch size 7 holds the whole fixture batch, which matters for
			// a generator normalising with batch statistics.
			code, _, stderr := runCLI("score", "--model", filepath.Join(fixtures, f.Model),
				"--input", filepath.Join(fixtures, f.Input), "--output", out, "--engine", "go", "--raw", "--batch-size", "7")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, _ := readAll(t, out)
			want, _ := readAll(t, filepath.Join(fixtures, f.Output))
			if len(got) != len(want) {
				t.Fatalf("got %d values, want %d", len(got), len(want))
			}
			for i := range got {
				if d := math.Abs(got[i] - want[i]); d > 1e-4*(1+math.Abs(want[i])) {
					t.Fatalf("value %d: got %.7g, PyTorch %.7g", i, got[i], want[i])
				}
			}
		})
	}
}

// TestErrors runs the CLI on bad input: each case must exit non-zero with
// one clear line on stderr, matching the golden file, and leave no output.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	model := filepath.Join(fixtures, "energy_tanh.onnx")
	raw, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	truncated := write("truncated.onnx", string(raw[:len(raw)/2]))
	notONNX := write("notes.onnx", "this is not a model\n")
	good := write("good.csv", "x0,x1\n0.5,1\n-1,2\n")
	wide := write("wide.csv", "1,2,3\n4,5,6\n")
	badCell := write("bad.csv", "x0,x1\n1,2\n3,abc\n")
	unsupported := filepath.Join(dir, "unsupported.onnx")
	if err := onnx.Save(unsupported, unsupportedModel()); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")

	cases := []struct {
		name string
		args []string
		code int
	}{
		{"no-command", nil, 2},
		{"unknown-command", []string{"frobnicate"}, 2},
		{"unknown-flag", []string{"score", "--modle", model}, 2},
		{"score-missing-model", []string{"score", "--input", good, "--output", out}, 2},
		{"inspect-missing-file", []string{"inspect", filepath.Join(dir, "nope.onnx")}, 1},
		{"inspect-not-onnx", []string{"inspect", notONNX}, 1},
		{"inspect-truncated", []string{"inspect", truncated}, 1},
		{"inspect-directory", []string{"inspect", dir}, 1},
		{"score-unsupported-op", []string{"score", "--engine", "go", "--model", unsupported, "--input", good, "--output", out}, 1},
		{"score-row-shape", []string{"score", "--engine", "go", "--model", model, "--input", wide, "--output", out}, 1},
		{"score-bad-cell", []string{"score", "--engine", "go", "--model", model, "--input", badCell, "--output", out}, 1},
		{"score-bad-extension", []string{"score", "--engine", "go", "--model", model, "--input", good, "--output", filepath.Join(dir, "out.xlsx")}, 1},
		{"score-unwritable", []string{"score", "--engine", "go", "--model", model, "--input", good, "--output", filepath.Join(dir, "missing", "out.csv")}, 1},
	}
	var golden strings.Builder
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d; stderr:\n%s", c.name, code, c.code, stderr)
		}
		if c.code == 1 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%s: want one line on stderr, got:\n%s", c.name, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: left %s behind", c.name, out)
		}
		golden.WriteString("== " + c.name + "\n")
		golden.WriteString(strings.ReplaceAll(stderr, dir, "$TMP"))
	}
	checkGolden(t, "testdata/errors.golden", golden.String())
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// unsupportedModel is a valid model whose only node is an op ebmpipe
// cannot import.
func unsupportedModel() *onnx.ModelProto {
	batch := onnx.Dim{Param: "batch"}
	return &onnx.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: proto.Int64(17)}},
		Graph: &onnx.GraphProto{
			Name:   proto.String("g"),
			Input:  []*onnx.ValueInfoProto{onnx.NewValueInfo("x", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: 2})},
			Output: []*onnx.ValueInfoProto{onnx.NewValueInfo("y", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: 2})},
			Node: []*onnx.NodeProto{
				{Name: proto.String("fft"), OpType: proto.String("DFT"), Input: []string{"x"}, Output: []string{"y"}},
			},
		},
	}
}
