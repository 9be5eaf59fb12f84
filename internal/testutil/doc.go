// Package testutil holds the helpers that the tests of several packages
// share: the PyTorch fixtures, row files, ONNX Runtime.
package testutil
