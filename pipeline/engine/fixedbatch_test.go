package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/internal/testutil"
	"github.com/ebmpipe/ebmpipe/onnx"
)

const torchquirks = "../../testdata/torchquirks"

// TestFixedBatch runs torch's energy exported without dynamic_axes (batch
// fixed at 7) on both engines, on batches of 3 and of 10 rows made of its
// test input, and checks every row against ONNX Runtime's output for it.
func TestFixedBatch(t *testing.T) {
	path := filepath.Join(torchquirks, "energy_mlp_fixed.onnx")
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if in, b := FixedBatch(m); in != "x" || b != 7 {
		t.Fatalf("FixedBatch = %q, %d; want x, 7", in, b)
	}
	x, _ := testutil.ReadRows(t, filepath.Join(torchquirks, "energy_mlp_fixed.input.npy"))
	want, _ := testutil.ReadRows(t, filepath.Join(torchquirks, "energy_mlp_fixed.output.npy"))
	// 10 rows: the 7 of the test input, then its first 3 again.
	x10 := append(append([]float64(nil), x...), x[:6]...)
	want10 := append(append([]float64(nil), want...), want[:3]...)
	for _, batch := range []int{3, 10} {
		engines := map[string]func() (Engine, error){
			Go:  func() (Engine, error) { return NewGoEngine(m, batch) },
			ORT: func() (Engine, error) { testutil.NeedORT(t); return NewORTEngine(data, batch, ORTOptions{Threads: 1}) },
		}
		for name, newEngine := range engines {
			t.Run(name, func(t *testing.T) {
				e, err := newEngine()
				if err != nil {
					t.Fatal(err)
				}
				defer e.Close()
				for first := 0; first < 10; first += batch {
					n := min(batch, 10-first)
					out, err := e.Run(x10[2*first:2*(first+n)], n)
					if err != nil {
						t.Fatalf("batch %d, rows %d+%d: %v", batch, first, n, err)
					}
					if len(out[0]) != n {
						t.Fatalf("batch %d: %d energies for %d rows", batch, len(out[0]), n)
					}
					for i, v := range out[0] {
						if w := want10[first+i]; !testutil.CloseTo(v, w, 1e-5) {
							t.Errorf("batch %d, row %d: energy %g, want %g", batch, first+i, v, w)
						}
					}
				}
			})
		}
	}
}

// TestORTSizeBudget checks that the ORT engine refuses a model whose
// declared input holds a terabyte before allocating it.
func TestORTSizeBudget(t *testing.T) {
	testutil.NeedORT(t)
	data, err := os.ReadFile("../../testdata/hostile/fixed_batch_1e12.onnx")
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewORTEngine(data, 4, ORTOptions{Threads: 1})
	var le *importers.LimitError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), `input "x"`) {
		t.Fatalf("NewORTEngine: %v; want a LimitError naming input x", err)
	}
}
