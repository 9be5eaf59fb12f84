package simd

import (
	"math"
	"math/rand"
	"testing"
)

// axpyRowsRef is the loop AxpyRows stands for.
func axpyRowsRef(m, n, k int, a []float64, ai, al int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	for i := range m {
		for j := range n {
			v := 0.0
			for l := range k {
				v = math.FMA(a[i*ai+l*al], b[l*ldb+j], v)
			}
			if acc {
				c[i*ldc+j] = c[i*ldc+j] + v
			} else {
				c[i*ldc+j] = 0 + v
			}
		}
	}
}

func TestAxpyRows(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, tc := range []struct {
		name            string
		m, n, k, ai, al int
		ldb, ldc        int
		acc             bool
	}{
		{"outer", 7, 37, 1, 1, 1, 37, 37, false},
		{"outer, accumulate, strided", 6, 21, 1, 3, 1, 22, 23, true},
		{"two terms, transposed a", 5, 40, 2, 1, 5, 41, 40, false},
		{"two terms, accumulate", 5, 128, 2, 2, 1, 128, 128, true},
		{"under four columns", 3, 3, 2, 2, 1, 3, 3, true},
		{"transposed a", 2, 133, 50, 1, 2, 140, 135, false},
		{"long, accumulate", 3, 100, 70, 70, 1, 100, 100, true},
		{"strided c", 4, 20, 9, 9, 1, 20, 24, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := make([]float64, (tc.m-1)*tc.ai+(tc.k-1)*tc.al+1)
			b := make([]float64, (tc.k-1)*tc.ldb+tc.n)
			c := make([]float64, (tc.m-1)*tc.ldc+tc.n)
			fillRandom(rng, 7, a, b, c)
			want := append([]float64(nil), c...)
			axpyRowsRef(tc.m, tc.n, tc.k, a, tc.ai, tc.al, b, tc.ldb, want, tc.ldc, tc.acc)
			AxpyRows(tc.m, tc.n, tc.k, a, tc.ai, tc.al, b, tc.ldb, c, tc.ldc, tc.acc)
			for i := range c {
				if math.Float64bits(c[i]) != math.Float64bits(want[i]) && !(math.IsNaN(c[i]) && math.IsNaN(want[i])) {
					t.Fatalf("c[%d] = %v (%#x), want %v (%#x)", i, c[i], math.Float64bits(c[i]), want[i], math.Float64bits(want[i]))
				}
			}
		})
	}
}

func TestDotRows(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, tc := range []struct {
		name    string
		m, n, k int
		lda     int
		acc     bool
	}{
		{"one column", 24, 1, 128, 128, false},
		{"one column, accumulate, rows left", 29, 1, 8, 10, true},
		{"two columns", 16, 2, 12, 12, false},
		{"two columns, accumulate", 40, 2, 128, 130, true},
		{"inner not a multiple of four", 16, 2, 6, 6, true},
		{"three columns", 9, 3, 8, 8, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := make([]float64, (tc.m-1)*tc.lda+tc.k)
			b := make([]float64, tc.k*tc.n)
			c := make([]float64, tc.m*tc.n)
			fillRandom(rng, 7, a, b, c)
			want := append([]float64(nil), c...)
			// DotRows is AxpyRows with a's rows walked along l and b's
			// rows of length n.
			axpyRowsRef(tc.m, tc.n, tc.k, a, tc.lda, 1, b, tc.n, want, tc.n, tc.acc)
			DotRows(tc.m, tc.n, tc.k, a, tc.lda, b, c, tc.acc)
			for i := range c {
				if math.Float64bits(c[i]) != math.Float64bits(want[i]) && !(math.IsNaN(c[i]) && math.IsNaN(want[i])) {
					t.Fatalf("c[%d] = %v (%#x), want %v (%#x)", i, c[i], math.Float64bits(c[i]), want[i], math.Float64bits(want[i]))
				}
			}
		})
	}
}
