// Package simd holds vector kernels for autodiff's elementwise loops, in
// assembly where the CPU allows (a cgo package cannot hold assembly).
package simd
