// Package testmodel builds small ONNX models whose log Z is known exactly,
// for the tests of log Z estimates, sampling, plots.
package testmodel
