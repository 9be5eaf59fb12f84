//go:build !(openblas && cgo)

package autodiff

// BLASBackend names the implementation of the matrix products: Gonum's
// pure-Go kernels, unless built with -tags openblas (see openblas.go).
const BLASBackend = "Gonum"

// blasThin keeps every product on Gonum's kernels, whose order of
// summation gemmThin does not follow.
var blasThin = false
