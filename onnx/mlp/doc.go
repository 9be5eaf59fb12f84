// Package mlp builds the ONNX models that "mlp:" specs such as
// "mlp:2-128-128-1:silu" describe: multilayer perceptrons to train.
package mlp
