// Package simd holds autodiff's vector kernels (masked selects, thin matrix
// products), in assembly where the CPU allows (a cgo package cannot hold
// assembly).
package simd
