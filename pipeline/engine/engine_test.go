package engine

import (
	"math"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testmodel"
	"github.com/ebmpipe/ebmpipe/internal/testutil"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// TestEnginesAgree runs a quadratic energy on both engines and checks the
// energies against the formula.
func TestEnginesAgree(t *testing.T) {
	te := testmodel.Energy{Mu: []float64{1, -2}, Sigma: []float64{0.5, 2}}
	m := te.Model()
	data, err := onnx.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{1, -2, 2, 0, 0.5, -4}
	want := make([]float64, 3)
	for r := range want {
		for j := range 2 {
			z := (x[2*r+j] - te.Mu[j]) / te.Sigma[j]
			want[r] += z * z / 2
		}
	}
	engines := map[string]func() (Engine, error){
		Go:  func() (Engine, error) { return NewGoEngine(m, 4) },
		ORT: func() (Engine, error) { testutil.NeedORT(t); return NewORTEngine(data, 4, ORTOptions{Threads: 1}) },
	}
	for name, newEngine := range engines {
		t.Run(name, func(t *testing.T) {
			e, err := newEngine()
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if in := e.Input(); in.Width != 2 || in.Name != "x" {
				t.Errorf("input %+v, want x of width 2", in)
			}
			if got := DescribePorts(e.Outputs()); got != "1 output (energy)" {
				t.Errorf("outputs: %s", got)
			}
			out, err := e.Run(x, 3)
			if err != nil {
				t.Fatal(err)
			}
			for r, w := range want {
				if math.Abs(out[0][r]-w) > 1e-5*(1+w) {
					t.Errorf("row %d: energy %g, want %g", r, out[0][r], w)
				}
			}
		})
	}
}
