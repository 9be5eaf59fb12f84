// Package ortlib finds the ONNX Runtime shared library and loads it, once
// per process, for the engines and the tests that run models on it.
package ortlib
