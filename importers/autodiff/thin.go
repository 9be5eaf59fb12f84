package autodiff

import "github.com/ebmpipe/ebmpipe/importers/autodiff/internal/simd"

// Thin products: one dimension of 1–4 (a layer from or to the 2-D data,
// the energy's scalar output, their gradients). A BLAS call with such a
// dimension packs its operands for a kernel made for big blocks and runs
// far below its rate; gemmThin does them as rows of fused multiply-adds
// (simd.AxpyRows, simd.DotRows) instead, in the order OpenBLAS's dgemm
// kernel and driver sum, so that the bits are the same (thin_test.go
// compares them).

// thinBlock is OpenBLAS's block of the inner dimension (GEMM_Q of its
// Haswell dgemm kernel): it sums up to thinBlock terms of a product in
// order and adds longer sums to c block by block.
const thinBlock = 256

// thinBlocks calls f for each block of the inner dimension k, from l0 with
// kb terms, in the order and with the lengths OpenBLAS's driver takes
// (thinBlock while at least twice as many terms are left, then the rest
// in two halves rounded up to a multiple of 4), acc as given for the first
// block and set for the others.
func thinBlocks(k int, acc bool, f func(l0, kb int, acc bool)) {
	for l0 := 0; l0 < k; {
		kb := k - l0
		if kb >= 2*thinBlock {
			kb = thinBlock
		} else if kb > thinBlock {
			kb = (kb/2 + 3) / 4 * 4
		}
		f(l0, kb, acc)
		acc = true
		l0 += kb
	}
}

// gemmThin sets c (m×n) to op(a)·op(b), or adds the product to c if acc is
// set, for float64 operands stored with row strides lda and ldb, and
// reports whether it did: only with OpenBLAS (blasThin), for products
// with m ≥ 2 and an inner dimension of at most 4, 1 or 2 columns and a
// not transposed, or a transposed a with 2 or 4 rows (OpenBLAS sums a
// lone last row of a long inner dimension in another order) or 2–4
// columns in the product.
func gemmThin(ta, tb bool, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, acc bool) bool {
	if !blasThin || m < 2 {
		return false
	}
	ai, al := lda, 1
	if ta {
		ai, al = 1, lda
	}
	switch {
	case n >= 4 && (k <= 4 || ta && !tb && (m == 2 || m == 4)):
		if tb { // b is n×k: its k rows of op(b), each of length n
			b, ldb = transposed(b, n, k, ldb), n
		}
		thinBlocks(k, acc, func(l0, kb int, acc bool) {
			simd.AxpyRows(m, n, kb, a[l0*al:], ai, al, b[l0*ldb:], ldb, c, n, acc)
		})
	case !ta && n <= 2:
		if tb { // op(b) densely, k×n
			b = transposed(b, n, k, ldb)
		}
		thinBlocks(k, acc, func(l0, kb int, acc bool) {
			simd.DotRows(m, n, kb, a[l0:], lda, b[l0*n:], c, acc)
		})
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
		thinBlocks(k, acc, func(l0, kb int, acc bool) {
			simd.AxpyRows(n, m, kb, b[l0*ldb:], 1, ldb, a[l0*lda:], lda, d, m, acc)
		})
		for i := range m {
			for j := range n {
				c[i*n+j] = d[j*m+i]
			}
		}
	default:
		return false
	}
	return true
}

// transposed returns the transpose (cols×rows, dense) of the rows×cols
// matrix b stored with row stride ldb.
func transposed(b []float64, rows, cols, ldb int) []float64 {
	t := make([]float64, rows*cols)
	for i := range rows {
		for j := range cols {
			t[j*rows+i] = b[i*ldb+j]
		}
	}
	return t
}
