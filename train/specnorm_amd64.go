//go:build amd64 && !purego

package train

// addRows4AVX2 is addRows4's kernel (specnorm_amd64.s).
//
//go:noescape
func addRows4AVX2(v, w []float64, cols int, u *[4]float64)

// addRows4 adds to v[j], for j < len(v) rounded down to a multiple of 4,
// the four rows of w (row-major, cols columns) weighted by u, on AVX2 as
// addRows's loop does, and returns how many columns it did (0 without
// AVX2).
func addRows4(v, w []float64, cols int, u *[4]float64) int {
	n := len(v) &^ 3
	if !hasAVX2 || n == 0 {
		return 0
	}
	_ = w[3*cols+n-1]
	addRows4AVX2(v[:n], w, cols, u)
	return n
}
