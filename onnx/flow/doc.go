// Package flow builds the ONNX models that "flow:" specs such as
// "flow:2-8-64-64:tanh" describe: invertible generators to train.
package flow
