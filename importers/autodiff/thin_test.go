//go:build openblas && cgo

package autodiff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// TestGemmThinBits compares gemmThin with OpenBLAS's dgemm bit for bit on
// the thin products it takes, in every transposition, and checks that it
// takes those of the toy networks.
func TestGemmThinBits(t *testing.T) {
	if !blasThin {
		t.Skipf("OpenBLAS runs its %s kernel, whose order gemmThin does not follow", openBLASCore())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	taken := map[string]bool{}
	for _, sz := range [][3]int{ // m, n, k
		{256, 128, 1}, {256, 128, 2}, {1024, 128, 2}, {256, 128, 3}, {256, 128, 4}, {2, 5, 3}, {3, 130, 2},
		{2, 128, 256}, {4, 128, 256}, {3, 7, 100}, {128, 2, 256}, {128, 4, 256}, {130, 3, 17},
		{256, 2, 128}, {256, 1, 128}, {257, 128, 2}, {255, 16, 3}, {9, 12, 4}, {131, 3, 200}, {131, 2, 256}, {5, 9, 1}, {256, 2, 600}, {256, 1, 1024}, {130, 3, 515}, {2, 128, 1030}, {4, 9, 700}, {256, 2, 2}, {300, 1, 3}, {1024, 1, 128}, {1, 128, 256}, {128, 2, 1024}, {256, 128, 128},
	} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					name := fmt.Sprintf("%dx%dx%d/ta=%v/tb=%v/acc=%v", m, n, k, ta, tb, acc)
					if compareThin(t, rng, name, ta, tb, m, n, k, acc) {
						taken[name] = true
					}
				}
			}
		}
	}
	for _, name := range []string{
		"256x128x1/ta=false/tb=false/acc=false", "256x128x2/ta=false/tb=true/acc=true",
		"2x128x256/ta=true/tb=false/acc=false", "128x2x256/ta=true/tb=false/acc=false",
		"256x2x128/ta=false/tb=false/acc=false", "256x1x128/ta=false/tb=true/acc=true",
		"128x2x1024/ta=true/tb=false/acc=false",
	} {
		if !taken[name] {
			t.Errorf("%s: not taken", name)
		}
	}
	if taken["256x128x128/ta=false/tb=false/acc=false"] || taken["1x128x256/ta=true/tb=false/acc=false"] {
		t.Errorf("a thick product or one of a single row taken")
	}
}

// compareThin runs gemmThin and OpenBLAS's dgemm on the same random
// operands, fails the test on the first element whose bits differ and
// reports whether gemmThin took the product.
func compareThin(t *testing.T, rng *rand.Rand, name string, ta, tb bool, m, n, k int, acc bool) bool {
	ra, ca := m, k
	if ta {
		ra, ca = k, m
	}
	rb, cb := k, n
	if tb {
		rb, cb = n, k
	}
	fill := func(n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = rng.NormFloat64()
			if rng.IntN(16) == 0 {
				s[i] = 0
			}
		}
		return s
	}
	a, b, c := fill(ra*ca), fill(rb*cb), fill(m*n)
	want := append([]float64(nil), c...)
	tA, tB, beta := blas.NoTrans, blas.NoTrans, 0.0
	if ta {
		tA = blas.Trans
	}
	if tb {
		tB = blas.Trans
	}
	if acc {
		beta = 1
	}
	openBLAS{}.Dgemm(tA, tB, m, n, k, 1, a, ca, b, cb, beta, want, n)
	if !gemmThin(ta, tb, m, n, k, a, ca, b, cb, c, acc) {
		return false
	}
	for i := range c {
		if math.Float64bits(c[i]) != math.Float64bits(want[i]) {
			t.Errorf("%s: c[%d] = %v, OpenBLAS %v", name, i, c[i], want[i])
			break
		}
	}
	return true
}
