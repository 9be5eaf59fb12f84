//go:build !(openblas && cgo)

package autodiff

// BLASBackend names the implementation of the matrix products: Gonum's
// pure-Go kernels, unless built with -tags openblas (see openblas.go).
const BLASBackend = "Gonum"
