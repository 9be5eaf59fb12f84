package simd

import "math"

// AxpyRows sets, for each of the m rows i of c and each column j < n,
//
//	v = 0; v = fma(a[i·ai + l·al], b[l·ldb + j], v) for l = 0 … k−1
//	c[i·ldc + j] = c[i·ldc + j] + v if acc is set, else 0 + v
//
// (strides in elements, k ≥ 1): a matrix product summed in the order of
// OpenBLAS's dgemm kernel for k up to its block of the inner dimension,
// with the same bits, as rows of fused multiply-adds. Columns go four at
// a time on AVX2 with FMA, the rest by math.FMA.
func AxpyRows(m, n, k int, a []float64, ai, al int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	// The last element each operand is read or written at, checked once
	// so that the kernel can run unchecked.
	_ = a[(m-1)*ai+(k-1)*al]
	_ = b[(k-1)*ldb+n-1]
	_ = c[(m-1)*ldc+n-1]
	done := 0
	if hasFMA && n >= 4 {
		done = n &^ 3
		kernel := axpyRowsAVX2
		switch k {
		case 1:
			kernel = axpyRows1AVX2
		case 2:
			kernel = axpyRows2AVX2
		}
		kernel(m, done, k, &a[0], ai, al, &b[0], ldb, &c[0], ldc, acc)
	}
	for i := range m {
		for j := done; j < n; j++ {
			v := 0.0
			for l := range k {
				v = math.FMA(a[i*ai+l*al], b[l*ldb+j], v)
			}
			if acc {
				c[i*ldc+j] += v
			} else {
				c[i*ldc+j] = 0 + v
			}
		}
	}
}

// DotRows sets, for each of the m rows i of c (m×n, stored densely) and
// each column j < n,
//
//	v = 0; v = fma(a[i·lda + l], b[l·n + j], v) for l = 0 … k−1
//	c[i·n + j] = c[i·n + j] + v if acc is set, else 0 + v
//
// (k ≥ 1): a product a·b with a thin b (k×n, dense), summed in the order
// of OpenBLAS's dgemm kernel as AxpyRows is. For n of 1 or 2 and k a
// multiple of 4 it runs eight rows at a time on AVX2 with FMA, the other
// rows and shapes by math.FMA.
func DotRows(m, n, k int, a []float64, lda int, b []float64, c []float64, acc bool) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	_ = a[(m-1)*lda+k-1]
	_ = b[k*n-1]
	_ = c[m*n-1]
	done := 0
	if hasFMA && (n == 1 || n == 2) && k%4 == 0 && m >= 8 {
		done = m &^ 7
		kernel := dotRows1AVX2
		if n == 2 {
			kernel = dotRows2AVX2
		}
		kernel(done, k, &a[0], lda, &b[0], &c[0], acc)
	}
	for i := done; i < m; i++ {
		for j := range n {
			v := 0.0
			for l := range k {
				v = math.FMA(a[i*lda+l], b[l*n+j], v)
			}
			if acc {
				c[i*n+j] += v
			} else {
				c[i*n+j] = 0 + v
			}
		}
	}
}
