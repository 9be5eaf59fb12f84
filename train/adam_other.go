//go:build !amd64 || purego

package train

// adamVector updates nothing without a vector kernel: the scalar loop
// does every value.
func adamVector(p, g, m, v []float64, h *adamConsts) int { return 0 }
