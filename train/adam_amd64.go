//go:build amd64 && !purego

package train

import "golang.org/x/sys/cpu"

// hasAVX2 tells whether Adam.Step updates four values at a time.
var hasAVX2 = cpu.X86.HasAVX2

// adamAVX2 is adamVector's kernel (adam_amd64.s).
//
//go:noescape
func adamAVX2(p, g, m, v []float64, h *adamConsts)

// adamVector runs Adam's update on the first len(p) rounded down to a
// multiple of 4 values on AVX2 and returns how many it updated (0 without
// AVX2): bit for bit what the scalar loop computes.
func adamVector(p, g, m, v []float64, h *adamConsts) int {
	n := len(p) &^ 3
	if !hasAVX2 || n == 0 {
		return 0
	}
	adamAVX2(p[:n], g[:n], m[:n], v[:n], h)
	return n
}
