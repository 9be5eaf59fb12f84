//go:build !amd64 || purego

package simd

// hasAVX2 is false: there is no vector kernel on this build.
const hasAVX2 = false

// SelectMul sets nothing without a vector kernel: the caller's scalar loop
// does every element.
func SelectMul(out, x, g []float64, pos, q float64) int { return 0 }
