package autodiff

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Kernels for the k×k matrices of linalg_small.go. Up to smallK the work is
// done in place in buffers allocated once per batch (LU with partial
// pivoting, cyclic Jacobi rotations for symmetric eigenproblems); larger
// matrices go through Gonum's LAPACK.

// smallK is the largest matrix size the in-place kernels handle.
const smallK = 8

// luSmall factors the k×k row-major a in place as P A = L U (L unit lower,
// stored below the diagonal) with partial pivoting, recording the row
// swapped into place at each step in piv, and returns the permutation's
// sign. A zero pivot (a singular matrix) is left in U.
func luSmall(k int, a []float64, piv []int) float64 {
	sign := 1.0
	for j := 0; j < k; j++ {
		p := j
		for i := j + 1; i < k; i++ {
			if math.Abs(a[i*k+j]) > math.Abs(a[p*k+j]) {
				p = i
			}
		}
		piv[j] = p
		if p != j {
			for c := 0; c < k; c++ {
				a[j*k+c], a[p*k+c] = a[p*k+c], a[j*k+c]
			}
			sign = -sign
		}
		d := a[j*k+j]
		if d == 0 {
			continue
		}
		for i := j + 1; i < k; i++ {
			l := a[i*k+j] / d
			a[i*k+j] = l
			for c := j + 1; c < k; c++ {
				a[i*k+c] -= l * a[j*k+c]
			}
		}
	}
	return sign
}

// logDetLU returns log |det A| and the sign of det A from luSmall's factors
// (−Inf and 0 for a singular matrix).
func logDetLU(k int, lu []float64, sign float64) (float64, float64) {
	ld := 0.0
	for j := 0; j < k; j++ {
		d := lu[j*k+j]
		if d == 0 {
			return math.Inf(-1), 0
		}
		if d < 0 {
			sign = -sign
		}
		ld += math.Log(math.Abs(d))
	}
	return ld, sign
}

// invLU writes A⁻¹ (row-major) into out from luSmall's factors, column by
// column; it reports false for a singular matrix.
func invLU(k int, lu []float64, piv []int, out []float64) bool {
	for j := 0; j < k; j++ {
		if lu[j*k+j] == 0 {
			return false
		}
	}
	// Start from the permuted identity: the row swaps applied to I.
	clear(out[:k*k])
	perm := make([]int, k)
	for i := range perm {
		perm[i] = i
	}
	for j, p := range piv[:k] {
		perm[j], perm[p] = perm[p], perm[j]
	}
	for i, p := range perm {
		out[i*k+p] = 1
	}
	for c := 0; c < k; c++ {
		// Forward substitution with L, then back substitution with U, on
		// column c of out.
		for i := 1; i < k; i++ {
			s := out[i*k+c]
			for j := 0; j < i; j++ {
				s -= lu[i*k+j] * out[j*k+c]
			}
			out[i*k+c] = s
		}
		for i := k - 1; i >= 0; i-- {
			s := out[i*k+c]
			for j := i + 1; j < k; j++ {
				s -= lu[i*k+j] * out[j*k+c]
			}
			out[i*k+c] = s / lu[i*k+i]
		}
	}
	return true
}

// symEig finds the eigenvalues w and eigenvectors v (columns, row-major
// k×k) of the symmetric k×k row-major a, which it overwrites: cyclic
// Jacobi rotations up to smallK, Gonum's EigenSym beyond. It reports false
// if the decomposition failed. The eigenvalues are not sorted.
func symEig(k int, a, v, w []float64) bool {
	if k > smallK {
		var es mat.EigenSym
		if !es.Factorize(mat.NewSymDense(k, a[:k*k]), true) {
			return false
		}
		es.Values(w[:k])
		es.VectorsTo(mat.NewDense(k, k, v[:k*k]))
		return true
	}
	clear(v[:k*k])
	for i := 0; i < k; i++ {
		v[i*k+i] = 1
	}
	for sweep := 0; sweep < 60; sweep++ {
		if !jacobiSweep(k, a, v, sweep > 3) {
			break
		}
	}
	for i := 0; i < k; i++ {
		w[i] = a[i*k+i]
	}
	return true
}

// jacobiSweep rotates away each off-diagonal element of a once (updating
// the eigenvectors v) and reports whether any was nonzero. With settle
// set, elements negligible beside both diagonal entries are set to zero.
func jacobiSweep(k int, a, v []float64, settle bool) bool {
	any := false
	for p := 0; p < k-1; p++ {
		for q := p + 1; q < k; q++ {
			apq := a[p*k+q]
			if apq == 0 {
				continue
			}
			app, aqq := a[p*k+p], a[q*k+q]
			if g := 100 * math.Abs(apq); settle && math.Abs(app)+g == math.Abs(app) && math.Abs(aqq)+g == math.Abs(aqq) {
				a[p*k+q], a[q*k+p] = 0, 0
				continue
			}
			any = true
			theta := (aqq - app) / (2 * apq)
			var t float64
			if math.Abs(theta) > 1e150 {
				t = 1 / (2 * theta)
			} else {
				t = 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				if theta < 0 {
					t = -t
				}
			}
			c := 1 / math.Sqrt(t*t+1)
			s := t * c
			rotate(k, a, v, p, q, c, s)
		}
	}
	return any
}

// rotate applies the Jacobi rotation (c, s) in the plane (p, q): a ← Pᵀ a P
// and v ← v P.
func rotate(k int, a, v []float64, p, q int, c, s float64) {
	for r := 0; r < k; r++ {
		arp, arq := a[r*k+p], a[r*k+q]
		a[r*k+p] = c*arp - s*arq
		a[r*k+q] = s*arp + c*arq
	}
	for r := 0; r < k; r++ {
		apr, aqr := a[p*k+r], a[q*k+r]
		a[p*k+r] = c*apr - s*aqr
		a[q*k+r] = s*apr + c*aqr
	}
	for r := 0; r < k; r++ {
		vrp, vrq := v[r*k+p], v[r*k+q]
		v[r*k+p] = c*vrp - s*vrq
		v[r*k+q] = s*vrp + c*vrq
	}
}

// eigWork holds the buffers of the pencil solver for k×k matrices.
type eigWork struct {
	k                  int
	a, b, ub, lb, w, p []float64
	aw, up, lp         []float64
}

func newEigWork(k int) *eigWork {
	kk := k * k
	buf := make([]float64, 7*kk+2*k)
	w := &eigWork{k: k}
	for _, s := range []*[]float64{&w.a, &w.b, &w.ub, &w.w, &w.p, &w.aw, &w.up} {
		*s, buf = buf[:kk:kk], buf[kk:]
	}
	w.lb, w.lp = buf[:k:k], buf[k:]
	return w
}

// minPencil writes into c the eigenvector of the smallest eigenvalue of
// A c = λ B c on the range of B (B = I if pencil is false), normalised to
// cᵀBc = 1, for the symmetric w.a and w.b, which it overwrites. Directions
// of B with eigenvalues below tol times the largest are dropped; it
// reports false if none is left or a decomposition failed.
func (w *eigWork) minPencil(pencil bool, tol float64, c []float64) bool {
	k := w.k
	r := k
	wm := w.w // W (k×r, stride k): WᵀBW = I
	if pencil {
		if !symEig(k, w.b, w.ub, w.lb) {
			return false
		}
		top := 0.0
		for _, v := range w.lb {
			top = math.Max(top, v)
		}
		r = 0
		for j, v := range w.lb {
			if v > tol*top {
				sc := 1 / math.Sqrt(v)
				for i := 0; i < k; i++ {
					wm[i*k+r] = w.ub[i*k+j] * sc
				}
				r++
			}
		}
		if r == 0 {
			return false
		}
	} else {
		clear(wm)
		for i := 0; i < k; i++ {
			wm[i*k+i] = 1
		}
	}
	// P = WᵀAW (r×r, row-major with stride r), symmetrised.
	for i := 0; i < k; i++ {
		for j := 0; j < r; j++ {
			s := 0.0
			for l := 0; l < k; l++ {
				s += w.a[i*k+l] * wm[l*k+j]
			}
			w.aw[i*r+j] = s
		}
	}
	for i := 0; i < r; i++ {
		for j := 0; j < r; j++ {
			s := 0.0
			for l := 0; l < k; l++ {
				s += wm[l*k+i] * w.aw[l*r+j]
			}
			w.p[i*r+j] = s
		}
	}
	for i := 0; i < r; i++ {
		for j := i + 1; j < r; j++ {
			m := (w.p[i*r+j] + w.p[j*r+i]) / 2
			w.p[i*r+j], w.p[j*r+i] = m, m
		}
	}
	if !symEig(r, w.p, w.up, w.lp) {
		return false
	}
	lo := 0
	for j := 1; j < r; j++ {
		if w.lp[j] < w.lp[lo] {
			lo = j
		}
	}
	for i := 0; i < k; i++ {
		s := 0.0
		for j := 0; j < r; j++ {
			s += wm[i*k+j] * w.up[j*r+lo]
		}
		c[i] = s
	}
	return true
}
