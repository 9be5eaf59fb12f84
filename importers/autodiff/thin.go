package autodiff

import "github.com/ebmpipe/ebmpipe/importers/autodiff/internal/simd"

// Thin products: one dimension of 1–4 (a layer from or to the 2-D data,
// the energy's scalar output, their gradients). A BLAS call with such a
// dimension packs its operands for a kernel made for big blocks and runs
// far below its rate; gemmThin does them as rows of fused multiply-adds
// (simd.AxpyRows) instead, in the order OpenBLAS's dgemm kernel sums, so
// that the bits are the same (thin_test.go compares them).

// thinMaxK is the longest inner dimension gemmThin takes: OpenBLAS sums an
// inner dimension up to its block (256 or more on the x86-64 kernels) in
// order, a longer one block by block.
const thinMaxK = 256

// gemmThin sets c (m×n) to op(a)·op(b), or adds the product to c if acc is
// set, for float64 operands stored with row strides lda and ldb, and
// reports whether it did: only with OpenBLAS (blasThin), for products
// with m ≥ 2, k ≤ thinMaxK and either an inner dimension of at most 4 or
// a transposed a with 2 or 4 rows or 2–4 columns in the product (OpenBLAS
// sums a lone last row of a long inner dimension in another order).
func gemmThin(ta, tb bool, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, acc bool) bool {
	if !blasThin || m < 2 || k > thinMaxK {
		return false
	}
	ai, al := lda, 1
	if ta {
		ai, al = 1, lda
	}
	switch {
	case n >= 4 && (k <= 4 || ta && !tb && (m == 2 || m == 4)):
		if tb { // b is n×k: its k rows of op(b), each of length n
			bt := make([]float64, k*n)
			for j := range n {
				for l := range k {
					bt[l*n+j] = b[j*ldb+l]
				}
			}
			b, ldb = bt, n
		}
		simd.AxpyRows(m, n, k, a, ai, al, b, ldb, c, n, acc)
		return true
	case !ta && n <= 2:
		if tb { // b is n×k: op(b) densely, k×n
			bt := make([]float64, k*n)
			for j := range n {
				for l := range k {
					bt[l*n+j] = b[j*ldb+l]
				}
			}
			b = bt
		}
		simd.DotRows(m, n, k, a, lda, b, c, acc)
		return true
	case ta && !tb && n >= 2 && n <= 4 && m >= 4:
		// cᵀ (n×m) = bᵀ·a: the k rows of a, of length m, scaled by the
		// columns of b; d holds cᵀ.
		d := make([]float64, n*m)
		if acc {
			for i := range m {
				for j := range n {
					d[j*m+i] = c[i*n+j]
				}
			}
		}
		simd.AxpyRows(n, m, k, b, 1, ldb, a, lda, d, m, acc)
		for i := range m {
			for j := range n {
				c[i*n+j] = d[j*m+i]
			}
		}
		return true
	}
	return false
}
