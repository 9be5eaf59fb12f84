// Package graphtest holds helpers that tests of autodiff graphs share:
// running a machine, reading float64 values out of nodes, random
// orthogonal matrices for inputs of chosen singular values.
//
// It names the methods it needs of *autodiff.Machine and *autodiff.Node
// instead of importing autodiff, so that autodiff's own tests can use it.
package graphtest
