package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestSpectralVectors checks σ and the singular vectors from power
// iteration against gonum's SVD on random matrices of the toy sizes. A
// random square matrix has nearly equal top singular values, the slowest
// case for power iteration: σ is then within 1%, not exact.
func TestSpectralVectors(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range [][2]int{{2, 100}, {100, 100}, {100, 2}, {7, 5}} {
		rows, cols := s[0], s[1]
		w := make([]float64, rows*cols)
		for i := range w {
			w[i] = r.NormFloat64() / math.Sqrt(float64(cols))
		}
		u, v, sigma := spectralVectors(w, rows)
		var svd mat.SVD
		if !svd.Factorize(mat.NewDense(rows, cols, w), mat.SVDThin) {
			t.Fatal("SVD failed")
		}
		want := svd.Values(nil)[0]
		if sigma > want*(1+1e-12) || sigma < want*0.99 {
			t.Errorf("%d×%d: σ = %v, SVD %v", rows, cols, sigma, want)
		}
		// uᵀ W v = σ for unit u, v.
		uwv := 0.0
		for i := range rows {
			uwv += u[i] * dot(w[i*cols:(i+1)*cols], v)
		}
		if math.Abs(uwv-sigma) > 1e-9*sigma || math.Abs(dot(u, u)-1) > 1e-12 || math.Abs(dot(v, v)-1) > 1e-12 {
			t.Errorf("%d×%d: uᵀWv = %v, σ = %v, |u|² = %v, |v|² = %v", rows, cols, uwv, sigma, dot(u, u), dot(v, v))
		}
	}
}

// TestSpectralNormTraining checks that the energy's weight matrices are
// exported with spectral norm 1 and the output layer is left free.
func TestSpectralNormTraining(t *testing.T) {
	o := DefaultOptions()
	o.Energy, o.Generator = "mlp:2-16-16-1", "mlp:2-16-16-2"
	o.DataRows, o.BatchSize, o.Out = 500, 32, t.TempDir()
	o.SpectralNorm = true
	tr, err := NewTrainer(o, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := tr.iterate(); err != nil {
			t.Fatal(err)
		}
	}
	if len(tr.energy.sn) != 2 {
		t.Fatalf("normalised parameters %v of %v; want the two 16-wide weight matrices", tr.energy.sn, tr.energy.params)
	}
	vals := tr.energy.snValues()
	for i, p := range tr.energy.params {
		if len(p.Shape) < 2 {
			continue
		}
		_, _, sigma := spectralVectors(vals[i], p.Shape[0])
		_, _, raw := spectralVectors(tr.energy.values[i], p.Shape[0])
		normalised := math.Abs(sigma-1) < 1e-9
		if want := containsInt(tr.energy.sn, i); normalised != want {
			t.Errorf("%s %v: σ = %v exported (%v trained); normalised %v, want %v", p.Name, p.Shape, sigma, raw, normalised, want)
		}
	}
}

func containsInt(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
