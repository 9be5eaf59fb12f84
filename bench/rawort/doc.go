// Command rawort measures a bare ONNX Runtime session: it loads an NPY file
// of float32 rows into input tensors of -batch rows, then times one session
// running the model over all of them, with nothing read, converted or
// written. This is the bound `ebmpipe score --engine ort` is measured
// against. It prints the rows per second.
//
// Usage:
//
//	go run ./bench/rawort -model energy.onnx -input in.npy -batch 1024
package main
