// Package importers lowers ONNX models onto autodiff tapes.
//
// A Network (New, Load) checks a model against the op table (ops.go), which
// says for each supported operator the opsets it covers, the inputs that
// must be known when the graph is built, and how it lowers onto tape
// primitives (ops_math.go, ops_shape.go, ops_nn.go and their siblings).
// Apply builds the forward pass on a tape, so that bounds and training can
// differentiate it to any order; an Evaluator runs it forward for scoring.
// Unsupported lists every node a model cannot be built for.
package importers
