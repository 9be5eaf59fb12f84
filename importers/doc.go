// Package importers lowers ONNX models onto autodiff tapes.
//
// A Network (New, Load) checks a model against the op table (ops.go), which
// says for each supported operator the opsets it covers, the inputs that
// must be known when the graph is built, and how it lowers onto tape
// primitives (ops_math.go, ops_shape.go, ops_nn.go and their siblings).
// Apply builds the forward pass on a tape, so that bounds and training can
// differentiate it to any order; an Evaluator runs it forward for scoring.
// Unsupported lists every node a model cannot be built for.
//
// The table covers opsets 1 to MaxOpset (23). A model is first put in the
// form the importer builds (Prepare: model-local functions inlined,
// Identity aliases of initializers made initializers of their own), its
// nodes' arity is checked, and every tensor whose size comes from the file
// is held to an element budget (Options.MaxElements; LimitError names the
// node or input and the size) before it is allocated. New builds the graph
// once to propagate the output shapes, so a dimension declared symbolic but
// fixed in fact is reported fixed; an energy may output (batch,) as well
// as (batch, 1).
package importers
