package importers

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebmpipe/ebmpipe/onnx"
)

// fuzzMaxElements is the element budget of the fuzz target and the mutant
// test: enough for every testdata model at two rows, small enough that
// each input runs in milliseconds.
const fuzzMaxElements = 1 << 16

// testdataModels returns the paths of the ONNX models under testdata.
func testdataModels(tb testing.TB) []string {
	tb.Helper()
	var paths []string
	for _, dir := range []string{fixtureDir, opsetDir, quirksDir, hostileDir} {
		p, err := filepath.Glob(filepath.Join(dir, "*.onnx"))
		if err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, p...)
	}
	if len(paths) < 40 {
		tb.Fatalf("%d testdata models, want at least 40", len(paths))
	}
	return paths
}

// importAndRun decodes data, imports it with the fuzz budget and, if it
// has one float input with fixed row dimensions, runs it forward on two
// rows. It returns the first error; it must never panic.
func importAndRun(data []byte) error {
	m, err := onnx.Decode(data)
	if err != nil {
		return err
	}
	net, err := NewWith(m, Options{MaxElements: fuzzMaxElements})
	if err != nil {
		return err
	}
	_ = Unsupported(m)
	ev, err := net.NewEvaluator(2)
	if err != nil {
		return err
	}
	x := make([]float64, 2*ev.RowSize())
	for i := range x {
		x[i] = float64(i%7) - 3
	}
	_, err = ev.Run(x, 2)
	return err
}

// FuzzImport decodes, imports and runs arbitrary models under a small
// element budget, seeded with every testdata model: no input may panic
// or allocate beyond the budget.
func FuzzImport(f *testing.F) {
	for _, p := range testdataModels(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = importAndRun(data)
	})
}

var mutants = flag.Int("mutants", 50, "byte mutants of each testdata model TestMutants imports and runs (1000 for the issue's check)")

// TestMutants imports and runs -mutants byte mutants (1 to 4 bytes set to
// random values) of each testdata model: none may panic, and each either
// fails with an error or runs.
func TestMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("imports thousands of models; skipped in -short mode")
	}
	r := rand.New(rand.NewPCG(15, 7))
	failed, ran := 0, 0
	for _, p := range testdataModels(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for range *mutants {
			m := append([]byte(nil), data...)
			for range 1 + r.IntN(4) {
				m[r.IntN(len(m))] = byte(r.Uint32())
			}
			if importAndRun(m) != nil {
				failed++
			} else {
				ran++
			}
		}
	}
	t.Logf("%d mutants refused with an error, %d ran; no panic", failed, ran)
}
