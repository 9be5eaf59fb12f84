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
