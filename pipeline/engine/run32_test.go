package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testutil"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// TestRun32 runs the ORT engine with Run32 and with Run on the same float32
// rows, on a model with a dynamic batch (full and smaller batches, and a
// model with two outputs) and on one that fixes its batch at 7 (runs in
// chunks, the last padded): Run32's outputs, converted, are Run's, bit for
// bit, and the Go engine is not a Float32Engine.
func TestRun32(t *testing.T) {
	testutil.NeedORT(t)
	models := []struct {
		path  string
		width int
	}{
		{"../../testdata/torch/energy_silu.onnx", 2},
		{filepath.Join(torchquirks, "energy_mlp_fixed.onnx"), 2},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range models {
		data, err := os.ReadFile(m.path)
		if err != nil {
			t.Fatal(err)
		}
		const batch = 10
		e, err := NewORTEngine(data, batch, ORTOptions{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		e32, ok := e.(Float32Engine)
		if !ok {
			t.Fatalf("%s: the ORT engine is not a Float32Engine", m.path)
		}
		for _, rows := range []int{batch, 3, 1, batch} {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(m.path), rows), func(t *testing.T) {
				x32 := make([]float32, rows*m.width)
				x := make([]float64, len(x32))
				for i := range x32 {
					x32[i] = float32(3 * rng.NormFloat64())
					x[i] = float64(x32[i])
				}
				want, err := e.Run(x, rows)
				if err != nil {
					t.Fatal(err)
				}
				got, err := e32.Run32(x32, rows)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("Run32 gave %d outputs, Run %d", len(got), len(want))
				}
				for k := range want {
					if len(got[k]) != len(want[k]) || len(want[k]) < rows {
						t.Fatalf("output %d: Run32 gave %d values, Run %d, for %d rows", k, len(got[k]), len(want[k]), rows)
					}
					for i, v := range want[k] {
						if math.Float64bits(float64(got[k][i])) != math.Float64bits(v) {
							t.Errorf("output %d, value %d: Run32 %v, Run %v", k, i, got[k][i], v)
						}
					}
				}
			})
		}
		if _, err := e32.Run32(make([]float32, 3), 2); err == nil {
			t.Errorf("%s: Run32 on 2 rows of 3 values: no error", m.path)
		}
	}
	m, err := onnx.Load(models[0].path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGoEngine(m, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.(Float32Engine); ok {
		t.Error("the Go engine claims Run32")
	}
}
