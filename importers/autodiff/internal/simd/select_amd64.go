//go:build amd64 && !purego

package simd

import "golang.org/x/sys/cpu"

// hasAVX2 tells whether SelectMul runs on AVX2.
var hasAVX2 = cpu.X86.HasAVX2

// selectMulAVX2 is SelectMul's and SelectMulX's AVX2 kernel
// (select_amd64.s) for the first len(out) rounded down to a multiple of 4
// elements; self selects x[i] in place of q.
//
//go:noescape
func selectMulAVX2(out, x, g []float64, pos, q float64, self bool)

// SelectMul sets out[i] to g[i]·f, f = q where x[i] ≤ 0 and pos elsewhere
// (NaN included), four elements at a time, for as many elements as it can,
// and returns how many it set: a multiple of 4, 0 without AVX2. The
// products are the scalar loop's g[i]·f, bit for bit.
func SelectMul(out, x, g []float64, pos, q float64) int {
	return selectMul(out, x, g, pos, q, false)
}

// SelectMulX is SelectMul with q = x[i]: it sets out[i] to g[i]·f, f =
// x[i] where x[i] ≤ 0 and pos elsewhere (NaN included), and returns how
// many elements it set (a multiple of 4, 0 without AVX2), bit for bit the
// scalar loop's products.
func SelectMulX(out, x, g []float64, pos float64) int {
	return selectMul(out, x, g, pos, 0, true)
}

func selectMul(out, x, g []float64, pos, q float64, self bool) int {
	if !hasAVX2 {
		return 0
	}
	n := len(out) &^ 3
	if n == 0 {
		return 0
	}
	selectMulAVX2(out[:n], x[:n], g[:n], pos, q, self)
	return n
}

// hasFMA tells whether AxpyRows runs on AVX2 with fused multiply-adds.
var hasFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// axpyRowsAVX2 is AxpyRows's kernel (gemm_amd64.s) for n a multiple of 4.
//
//go:noescape
func axpyRowsAVX2(m, n, k int, a *float64, ai, al int, b *float64, ldb int, c *float64, ldc int, acc bool)

// axpyRows1AVX2 and axpyRows2AVX2 are axpyRowsAVX2 for k = 1 and k = 2
// (gemm_amd64.s), without its loop over k.
//
//go:noescape
func axpyRows1AVX2(m, n, k int, a *float64, ai, al int, b *float64, ldb int, c *float64, ldc int, acc bool)

//go:noescape
func axpyRows2AVX2(m, n, k int, a *float64, ai, al int, b *float64, ldb int, c *float64, ldc int, acc bool)

// dotRows1AVX2 and dotRows2AVX2 are DotRows's kernels (gemm_amd64.s) for
// n = 1 and n = 2, m a multiple of 8 and k of 4.
//
//go:noescape
func dotRows1AVX2(m, k int, a *float64, lda int, b *float64, c *float64, acc bool)

//go:noescape
func dotRows2AVX2(m, k int, a *float64, lda int, b *float64, c *float64, acc bool)
