package autodiff

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestSymEig checks the Jacobi and Gonum paths of symEig against Gonum's
// eigenvalues, and the eigenvectors by their residuals and orthonormality,
// including matrices with repeated eigenvalues and diagonal ones.
func TestSymEig(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range []int{1, 2, 3, 4, smallK, smallK + 2} {
		cases := map[string][]float64{"random": randSPD(r, 1, k, -1)}
		diag := make([]float64, k*k)
		rep := make([]float64, k*k)
		for i := 0; i < k; i++ {
			diag[i*k+i] = float64(k - i)
			rep[i*k+i] = 2
		}
		rep[0] = 5 // eigenvalues 5, 2, 2, …
		cases["diagonal"], cases["repeated"] = diag, rep
		for name, a := range cases {
			v, w := make([]float64, k*k), make([]float64, k)
			if !symEig(k, slices.Clone(a), v, w) {
				t.Fatalf("k=%d %s: failed", k, name)
			}
			var es mat.EigenSym
			es.Factorize(mat.NewSymDense(k, slices.Clone(a)), false)
			got := slices.Clone(w)
			slices.Sort(got)
			for i, want := range es.Values(nil) {
				if math.Abs(got[i]-want) > 1e-12*(1+math.Abs(want)) {
					t.Errorf("k=%d %s: eigenvalue %d %.15g, gonum %.15g", k, name, i, got[i], want)
				}
			}
			am, vm := mat.NewDense(k, k, a), mat.NewDense(k, k, v)
			var av, vtv mat.Dense
			av.Mul(am, vm)
			vtv.Mul(vm.T(), vm)
			for j := 0; j < k; j++ {
				for i := 0; i < k; i++ {
					if d := av.At(i, j) - w[j]*vm.At(i, j); math.Abs(d) > 1e-12*float64(k*k) {
						t.Errorf("k=%d %s: residual of vector %d row %d: %g", k, name, j, i, d)
					}
					id := 0.0
					if i == j {
						id = 1
					}
					if d := vtv.At(i, j) - id; math.Abs(d) > 1e-12 {
						t.Errorf("k=%d %s: VᵀV[%d,%d] off by %g", k, name, i, j, d)
					}
				}
			}
		}
	}
}

// TestInverseLogDetLarge runs the LU kernels on matrices above smallK.
func TestInverseLogDetLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const k = 12
	data := randSPD(r, 1, k, 0.3)
	out := runNodes(t, func(tp *Tape) []*Node {
		a := tp.Const(data, k, k)
		return []*Node{tp.Inverse(a), tp.LogDet(a)}
	})
	var inv mat.Dense
	if err := inv.Inverse(mat.NewDense(k, k, data)); err != nil {
		t.Fatal(err)
	}
	for j, v := range inv.RawMatrix().Data {
		if got := out[0][j]; math.Abs(got-v) > 1e-10*(1+math.Abs(v)) {
			t.Errorf("inverse[%d] %.12g, gonum %.12g", j, got, v)
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(k, data)) {
		t.Fatal("not positive definite")
	}
	if got, want := out[1][0], ch.LogDet(); math.Abs(got-want) > 1e-10*(1+math.Abs(want)) {
		t.Errorf("log det %.12g, gonum %.12g", got, want)
	}
}
