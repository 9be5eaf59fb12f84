//go:build !amd64 || purego

package simd

// hasAVX2 is false: there is no vector kernel on this build.
const hasAVX2 = false

// SelectMul sets nothing without a vector kernel: the caller's scalar loop
// does every element.
func SelectMul(out, x, g []float64, pos, q float64) int { return 0 }

// SelectMulX sets nothing without a vector kernel.
func SelectMulX(out, x, g []float64, pos float64) int { return 0 }

// hasFMA is false: AxpyRows runs math.FMA everywhere.
const hasFMA = false

func axpyRowsAVX2(m, n, k int, a *float64, ai, al int, b *float64, ldb int, c *float64, ldc int, acc bool) {
	panic("unreachable")
}

func axpyRows1AVX2(m, n, k int, a *float64, ai, al int, b *float64, ldb int, c *float64, ldc int, acc bool) {
	panic("unreachable")
}

func axpyRows2AVX2(m, n, k int, a *float64, ai, al int, b *float64, ldb int, c *float64, ldc int, acc bool) {
	panic("unreachable")
}

func dotRows1AVX2(m, k int, a *float64, lda int, b *float64, c *float64, acc bool) {
	panic("unreachable")
}

func dotRows2AVX2(m, k int, a *float64, lda int, b *float64, c *float64, acc bool) {
	panic("unreachable")
}
