// Package engine runs ONNX models forward on batches of rows, on the pure-Go
// graph or on ONNX Runtime, behind one Engine interface.
package engine
