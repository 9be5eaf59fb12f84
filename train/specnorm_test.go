package train

import (
	"context"
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
	tr, err := NewTrainer(context.Background(), o, Hooks{})
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

// TestSNOuterCache checks that u vᵀ follows the weight's value: the same
// as computed afresh after every change, whether or not it was kept.
func TestSNOuterCache(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const rows, cols = 6, 4
	n := &network{values: [][]float64{make([]float64, rows*cols)}}
	fresh := func() []float64 {
		u, v, _ := spectralVectors(n.values[0], rows)
		out := make([]float64, 0, rows*cols)
		for _, ui := range u {
			for _, vj := range v {
				out = append(out, ui*vj)
			}
		}
		return out
	}
	for _, c := range []struct {
		name   string
		change func(w []float64)
	}{
		{"first", func(w []float64) {
			for i := range w {
				w[i] = r.NormFloat64()
			}
		}},
		{"unchanged", func([]float64) {}},
		{"one element", func(w []float64) { w[5] += 0.5 }},
		{"scaled", func(w []float64) {
			for i := range w {
				w[i] *= -2
			}
		}},
		{"unchanged again", func([]float64) {}},
	} {
		c.change(n.values[0])
		got, want := n.snOuter(0, rows), fresh()
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: u vᵀ[%d] = %v, afresh %v", c.name, i, got[i], want[i])
			}
		}
	}
}

// TestRowDotsAddRows checks that the four-row kernels of the power
// iteration give exactly the bits of one row at a time, in order, for row
// counts around multiples of four.
func TestRowDotsAddRows(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][2]int{{1, 3}, {3, 128}, {4, 2}, {7, 5}, {128, 128}, {130, 2}} {
		rows, cols := s[0], s[1]
		w, u, v := make([]float64, rows*cols), make([]float64, rows), make([]float64, cols)
		for i := range w {
			w[i] = r.NormFloat64()
		}
		for i := range u {
			u[i] = r.NormFloat64()
		}
		for j := range v {
			v[j] = r.NormFloat64()
		}
		gotU, gotV := make([]float64, rows), make([]float64, cols)
		rowDots(gotU, w, v)
		addRows(gotV, u, w)
		wantV := make([]float64, cols)
		for i := range rows {
			if want := dot(w[i*cols:(i+1)*cols], v); gotU[i] != want {
				t.Errorf("%d×%d: rowDots[%d] = %v, want %v", rows, cols, i, gotU[i], want)
			}
			for j := range cols {
				wantV[j] += u[i] * w[i*cols+j]
			}
		}
		for j := range cols {
			if gotV[j] != wantV[j] {
				t.Errorf("%d×%d: addRows[%d] = %v, want %v", rows, cols, j, gotV[j], wantV[j])
			}
		}
	}
}
