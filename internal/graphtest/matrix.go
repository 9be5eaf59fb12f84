package graphtest

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// RandOrtho returns a random n×n orthogonal matrix: the Q of a Gaussian
// matrix, for test matrices U diag(s) Vᵀ of chosen singular values s.
func RandOrtho(r *rand.Rand, n int) *mat.Dense {
	a := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			a.Set(i, j, r.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(a)
	var q mat.Dense
	qr.QTo(&q)
	return &q
}
