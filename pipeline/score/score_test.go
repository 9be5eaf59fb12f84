package score

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testutil"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/onnx"
)

// fixtureModel is the energy the scoring tests run: a 2-32-32-1 SiLU MLP
// exported from PyTorch, with its inputs and PyTorch's outputs.
const (
	fixtureModel  = "../../testdata/torch/energy_silu.onnx"
	fixtureInput  = "../../testdata/torch/energy_silu.input.npy"
	fixtureOutput = "../../testdata/torch/energy_silu.output.npy"
)

// TestORTEngineFixture checks the ort engine against PyTorch's outputs for
// the fixture, with a batch larger than the input and one that leaves a
// smaller last batch.
func TestORTEngineFixture(t *testing.T) {
	testutil.NeedORT(t)
	want, _ := testutil.ReadRows(t, fixtureOutput)
	for _, batch := range []int{3, 7, 64} {
		t.Run("batch="+strconv.Itoa(batch), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.npy")
			o := Options{Model: fixtureModel, Input: fixtureInput, Output: out, Engine: engine.ORT, BatchSize: batch, Workers: 2, Raw: true}
			st, err := Score(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if st.Engine != engine.ORT || st.Rows != len(want) {
				t.Fatalf("stats %+v, want engine ort and %d rows", st, len(want))
			}
			got, _ := testutil.ReadRows(t, out)
			for i := range want {
				if !testutil.CloseTo(got[i], want[i], 1e-5) {
					t.Errorf("row %d: got %.7g, PyTorch %.7g", i, got[i], want[i])
				}
			}
		})
	}
}

// TestScoreEnginesAgree scores a 100,000-row file with both engines, with
// several workers and a batch size that leaves a smaller last batch, and
// checks that they agree row by row.
func TestScoreEnginesAgree(t *testing.T) {
	testutil.NeedORT(t)
	if testing.Short() {
		t.Skip("100,000 rows through the go engine take seconds")
	}
	const rows = 100_000
	dir := t.TempDir()
	in := writeBenchInput(t, dir, "in.csv", rows, false)
	results := map[string][]float64{}
	for _, eng := range []string{engine.ORT, engine.Go} {
		out := filepath.Join(dir, eng+".npy")
		st, err := Score(context.Background(), Options{Model: fixtureModel, Input: in, Output: out, Engine: eng, BatchSize: 4093, Workers: 3})
		if err != nil {
			t.Fatalf("--engine %s: %v", eng, err)
		}
		if st.Rows != rows || st.Engine != eng {
			t.Fatalf("--engine %s: stats %+v, want %d rows", eng, st, rows)
		}
		results[eng], _ = testutil.ReadRows(t, out)
	}
	x, _ := testutil.ReadRows(t, in)
	ortE, goE := results[engine.ORT], results[engine.Go]
	if len(ortE) != rows || len(goE) != rows {
		t.Fatalf("got %d (ort) and %d (go) energies, want %d", len(ortE), len(goE), rows)
	}
	bad := 0
	for i := range rows {
		// float32 against float64 arithmetic.
		if !testutil.CloseTo(ortE[i], goE[i], 1e-5) {
			if bad++; bad <= 5 {
				t.Errorf("row %d (%g, %g): ort %.9g, go %.9g", i, x[2*i], x[2*i+1], ortE[i], goE[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d rows differ", bad, rows)
	}
}

// TestScoreFormats scores the same rows read from and written to every
// format, with each engine, and checks values and column names.
func TestScoreFormats(t *testing.T) {
	dir := t.TempDir()
	x, _ := testutil.ReadRows(t, fixtureInput)
	want, _ := testutil.ReadRows(t, fixtureOutput)
	// Repeat the fixture so that 3 workers with batches of 4 each get some.
	const reps = 9
	var xs, energies []float64
	for range reps {
		xs = append(xs, x...)
		energies = append(energies, want...)
	}
	for _, eng := range []string{engine.ORT, engine.Go} {
		for _, inFmt := range []string{"csv", "npy", "jsonl"} {
			in := filepath.Join(dir, "in."+inFmt)
			testutil.WriteRows(t, in, xs, 2)
			for _, outFmt := range []string{"csv", "npy", "jsonl"} {
				t.Run(eng+"/"+inFmt+"-to-"+outFmt, func(t *testing.T) {
					if eng == engine.ORT {
						testutil.NeedORT(t)
					}
					out := filepath.Join(t.TempDir(), "out."+outFmt)
					st, err := Score(context.Background(), Options{Model: fixtureModel, Input: in, Output: out, Engine: eng, BatchSize: 4, Workers: 3})
					if err != nil {
						t.Fatal(err)
					}
					if st.Rows != len(energies) {
						t.Errorf("scored %d rows, want %d", st.Rows, len(energies))
					}
					got, cols := testutil.ReadRows(t, out)
					wantCols := []string{"energy"}
					if outFmt == "npy" {
						wantCols = nil
					}
					if !reflect.DeepEqual(cols, wantCols) {
						t.Errorf("columns %q, want %q", cols, wantCols)
					}
					if len(got) != len(energies) {
						t.Fatalf("got %d energies, want %d", len(got), len(energies))
					}
					for i := range got {
						if !testutil.CloseTo(got[i], energies[i], 1e-5) {
							t.Errorf("row %d: got %.7g, PyTorch %.7g", i, got[i], energies[i])
						}
					}
				})
			}
		}
	}
}

// TestScoreLogDensity checks the log_density column of a model carrying
// ebmpipe.log_z.
func TestScoreLogDensity(t *testing.T) {
	testutil.NeedORT(t)
	m, err := onnx.Load(fixtureModel)
	if err != nil {
		t.Fatal(err)
	}
	const logZ = 1.25
	m.MetadataProps = append(m.MetadataProps,
		&onnx.StringStringEntryProto{Key: proto.String(export.MetaKind), Value: proto.String("energy")},
		&onnx.StringStringEntryProto{Key: proto.String(export.MetaLogZ), Value: proto.String(strconv.FormatFloat(logZ, 'g', -1, 64))})
	dir := t.TempDir()
	model := filepath.Join(dir, "energy.onnx")
	if err := onnx.Save(model, m); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")
	if _, err := Score(context.Background(), Options{Model: model, Input: fixtureInput, Output: out, Engine: engine.Auto, BatchSize: 5}); err != nil {
		t.Fatal(err)
	}
	got, cols := testutil.ReadRows(t, out)
	if want := []string{"energy", "log_density"}; !reflect.DeepEqual(cols, want) {
		t.Fatalf("columns %q, want %q", cols, want)
	}
	want, _ := testutil.ReadRows(t, fixtureOutput)
	for i, e := range want {
		if !testutil.CloseTo(got[2*i], e, 1e-5) || got[2*i+1] != -got[2*i]-logZ {
			t.Errorf("row %d: got energy %g, log_density %g; want %g, %g", i, got[2*i], got[2*i+1], e, -e-logZ)
		}
	}
}

// TestScoreOrder checks that rows come out in input order whatever the
// number of workers, with batches much smaller than the input.
func TestScoreOrder(t *testing.T) {
	testutil.NeedORT(t)
	dir := t.TempDir()
	// float64 and float32 values (the float32 path).
	for _, f32 := range []bool{false, true} {
		in := writeBenchInput(t, dir, "in"+strconv.FormatBool(f32)+".npy", 5000, f32)
		var first []float64
		for _, workers := range []int{1, 2, 5} {
			out := filepath.Join(dir, "out"+strconv.Itoa(workers)+".npy")
			if _, err := Score(context.Background(), Options{Model: fixtureModel, Input: in, Output: out, Engine: engine.ORT, BatchSize: 3, Workers: workers}); err != nil {
				t.Fatal(err)
			}
			got, _ := testutil.ReadRows(t, out)
			if first == nil {
				first = got
				continue
			}
			if !reflect.DeepEqual(got, first) {
				t.Errorf("float32 %v, --workers %d: energies differ from --workers 1", f32, workers)
			}
		}
	}
}

// TestScoreSkipBadRows checks that bad rows go to OUTPUT.rejects, in file
// order, and good rows are scored.
func TestScoreSkipBadRows(t *testing.T) {
	testutil.NeedORT(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	text := "x0,x1\n0.5,1\nabc,2\n-1,2\n\n3,4,5\n0,0\n"
	if err := os.WriteFile(in, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")
	st, err := Score(context.Background(), Options{Model: fixtureModel, Input: in, Output: out, Engine: engine.ORT, BatchSize: 2, Workers: 2, SkipBadRows: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 3 || st.Rejected != 2 {
		t.Errorf("stats %+v, want 3 rows and 2 rejected", st)
	}
	rejects, err := os.ReadFile(out + ".rejects")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(rejects)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "3\tabc,2\t") || !strings.HasPrefix(lines[1], "6\t3,4,5\t") {
		t.Errorf("rejects file:\n%s", rejects)
	}
	got, _ := testutil.ReadRows(t, out)
	if len(got) != 3 {
		t.Errorf("got %d energies, want 3", len(got))
	}

	// A clean run on the same output removes the rejects of this one.
	if err := os.WriteFile(in, []byte("x0,x1\n0.5,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = Score(context.Background(), Options{Model: fixtureModel, Input: in, Output: out, Engine: engine.Go, BatchSize: 2, Workers: 1, SkipBadRows: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rejected != 0 {
		t.Errorf("clean run: %d rejected", st.Rejected)
	}
	if _, err := os.Stat(out + ".rejects"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("clean run left the earlier rejects file (%v)", err)
	}
}

// TestScoreErrors checks the one-line error of each failing run, and that
// it leaves no output behind.
func TestScoreErrors(t *testing.T) {
	testutil.NeedORT(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.csv", "x0,x1\n0.5,1\n-1,2\n")
	wide := write("wide.csv", "1,2,3\n4,5,6\n")
	badCell := write("bad.csv", "x0,x1\n1,2\n3,abc\n")
	int64Model := filepath.Join(dir, "int64.onnx")
	if err := onnx.Save(int64Model, castModel(onnx.TensorProto_INT64)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")
	cases := []struct {
		name string
		o    Options
		want string // the error, with the test's directory as $TMP
	}{
		{"wrong-feature-count", Options{Model: fixtureModel, Input: wide, Engine: engine.ORT},
			"$TMP/wide.csv: rows of 3 values (shape [3]), but " + fixtureModel + " wants 2 (shape [2])"},
		{"wrong-feature-count-go", Options{Model: fixtureModel, Input: wide, Engine: engine.Go},
			"$TMP/wide.csv: rows of 3 values (shape [3]), but " + fixtureModel + " wants 2 (shape [2])"},
		{"bad-cell", Options{Model: fixtureModel, Input: badCell, Engine: engine.ORT},
			`$TMP/bad.csv:3: column 2: "abc" is not a number`},
		{"int64-input", Options{Model: int64Model, Input: good, Engine: engine.ORT},
			`$TMP/int64.onnx: input "x" has element type int64; the ort engine takes float32 inputs only`},
		{"cuda-unavailable", Options{Model: fixtureModel, Input: good, Engine: engine.ORT, Device: "cuda"},
			"Device cuda: the CUDA execution provider is not available with "},
		{"cuda-go-engine", Options{Model: fixtureModel, Input: good, Engine: engine.Go, Device: "cuda"},
			"Device cuda: the go engine runs on the CPU only; use Engine ort"},
		{"bad-engine", Options{Model: fixtureModel, Input: good, Engine: "tpu"},
			`Engine "tpu": want auto, ort or go`},
		{"other-library", Options{Model: fixtureModel, Input: good, Engine: engine.ORT, ORTLib: "/nonexistent/libonnxruntime.so.1"},
			"Engine ort: ONNX Runtime unavailable: ONNX Runtime is already loaded from "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.o.Output, c.o.BatchSize = out, 16
			_, err := Score(context.Background(), c.o)
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.ReplaceAll(err.Error(), dir, "$TMP")
			want := c.want
			if strings.HasSuffix(want, " ") {
				if !strings.HasPrefix(msg, want) {
					t.Errorf("error\n%s\nwant it to start with\n%s", msg, want)
				}
			} else if msg != want {
				t.Errorf("error\n%s\nwant\n%s", msg, want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines:\n%s", msg)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("left %s behind", out)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, ".out.csv.*")); len(m) > 0 {
				t.Errorf("left %s behind", m)
			}
		})
	}
}

// TestScoreCanceled checks that a canceled run writes nothing.
func TestScoreCanceled(t *testing.T) {
	testutil.NeedORT(t)
	dir := t.TempDir()
	in := writeBenchInput(t, dir, "in.npy", 20_000, false)
	out := filepath.Join(dir, "out.csv")
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	o := Options{Model: fixtureModel, Input: in, Output: out, Engine: engine.ORT, BatchSize: 100, Workers: 2,
		Progress: func(rows, total int) {
			if total != 20_000 {
				t.Errorf("Progress total %d, want 20000", total)
			}
			if calls++; calls == 3 {
				cancel()
			}
		}}
	st, err := Score(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if st.Rows != 300 {
		t.Errorf("stopped after %d rows, want 300", st.Rows)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "in.npy" {
			t.Errorf("left %s behind", e.Name())
		}
	}
}

// castModel is a model whose input x of shape [batch, 2] has element type
// typ, cast to float and summed into one energy per row.
func castModel(typ onnx.TensorProto_DataType) *onnx.ModelProto {
	batch := onnx.Dim{Param: "batch"}
	to := int64(onnx.TensorProto_FLOAT)
	return &onnx.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph: &onnx.GraphProto{
			Name:   proto.String("g"),
			Input:  []*onnx.ValueInfoProto{onnx.NewValueInfo("x", typ, batch, onnx.Dim{Value: 2})},
			Output: []*onnx.ValueInfoProto{onnx.NewValueInfo("energy", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: 1})},
			Node: []*onnx.NodeProto{
				{Name: proto.String("cast"), OpType: proto.String("Cast"), Input: []string{"x"}, Output: []string{"xf"},
					Attribute: []*onnx.AttributeProto{{Name: proto.String("to"), Type: onnx.AttributeProto_INT.Enum(), I: &to}}},
				{Name: proto.String("sum"), OpType: proto.String("ReduceSum"), Input: []string{"xf"}, Output: []string{"energy"}},
			},
		},
	}
}
