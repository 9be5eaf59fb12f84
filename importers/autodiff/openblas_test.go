//go:build openblas && cgo

package autodiff

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
)

// TestOpenBLASGemm checks the OpenBLAS products against Gonum's for every
// transpose pair, odd sizes, padded strides and both element types.
func TestOpenBLASGemm(t *testing.T) {
	if _, ok := blas64.Implementation().(openBLAS); !ok {
		t.Fatalf("blas64 uses %T, want openBLAS", blas64.Implementation())
	}
	r := rand.New(rand.NewPCG(5, 6))
	fill := func(n int) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = r.NormFloat64()
		}
		return x
	}
	for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
		for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, s := range [][3]int{{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {256, 128, 2}} {
				m, n, k := s[0], s[1], s[2]
				ra, ca := m, k
				if tA == blas.Trans {
					ra, ca = k, m
				}
				rb, cb := k, n
				if tB == blas.Trans {
					rb, cb = n, k
				}
				lda, ldb, ldc := ca+2, cb+1, n+3
				a, b := fill(ra*lda), fill(rb*ldb)
				c0 := fill(m * ldc)
				want := append([]float64(nil), c0...)
				got := append([]float64(nil), c0...)
				gonum.Implementation{}.Dgemm(tA, tB, m, n, k, 1.5, a, lda, b, ldb, 0.5, want, ldc)
				openBLAS{}.Dgemm(tA, tB, m, n, k, 1.5, a, lda, b, ldb, 0.5, got, ldc)
				a32, b32, got32 := to32(a), to32(b), to32(c0)
				openBLAS{}.Sgemm(tA, tB, m, n, k, 1.5, a32, lda, b32, ldb, 0.5, got32, ldc)
				for i := range want {
					if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i]))*float64(k) {
						t.Fatalf("Dgemm %c%c %v: c[%d] = %v, Gonum %v", tA, tB, s, i, got[i], want[i])
					}
					if math.Abs(float64(got32[i])-want[i]) > 1e-4*(1+math.Abs(want[i]))*float64(k) {
						t.Fatalf("Sgemm %c%c %v: c[%d] = %v, Gonum (float64) %v", tA, tB, s, i, got32[i], want[i])
					}
				}
			}
		}
	}
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func TestBLASThreads(t *testing.T) {
	for _, c := range []struct {
		v    string
		want int
	}{{"", 1}, {"1", 1}, {"3", 3}, {" 2 ", 2}, {"0", 1}, {"-4", 1}, {"two", 1}, {"1.5", 1}} {
		if got := blasThreads(c.v); got != c.want {
			t.Errorf("blasThreads(%q) = %d, want %d", c.v, got, c.want)
		}
	}
}

// TestOpenBLASThreads runs the test binary again with OpenBLAS's own
// thread variables set, and checks that the products still run on the
// threads EBMPIPE_BLAS_THREADS asks for (one when unset).
func TestOpenBLASThreads(t *testing.T) {
	if want := os.Getenv("EBMPIPE_TEST_BLAS_THREADS"); want != "" {
		if got := strconv.Itoa(openBLASThreads()); got != want {
			t.Fatalf("OpenBLAS runs on %s threads, want %s", got, want)
		}
		return
	}
	for _, c := range []struct{ ours, want string }{{"", "1"}, {"2", "2"}} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestOpenBLASThreads$")
		cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=3", "OMP_NUM_THREADS=3", "GOTO_NUM_THREADS=3",
			blasThreadsEnv+"="+c.ours, "EBMPIPE_TEST_BLAS_THREADS="+c.want)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s=%q: %v\n%s", blasThreadsEnv, c.ours, err, out)
		}
	}
}
