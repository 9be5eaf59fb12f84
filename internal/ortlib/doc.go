// Package ortlib loads the ONNX Runtime shared library, once per process,
// for every engine or test that runs models on it.
package ortlib
