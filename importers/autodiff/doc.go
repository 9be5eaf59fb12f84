// Package autodiff differentiates tensor programs to any order.
//
// A Tape builds a graph of primitives (elementwise maps, matrix products,
// reductions, index maps, convolutions, pooling, small linear algebra),
// each with its own vector–Jacobian product rule, so that VJP and JVP build
// derivatives as ordinary nodes that can be differentiated again, and
// ParamGrads gives the parameter gradients of one loss per tape. The
// activations' derivatives of every order are fused prims (one pass per
// product with a vector). A Machine runs the graph, skipping the nodes
// that VJP, JVP and ParamGrads built but nothing reads; Let and CopyIn
// bind inputs, CopyOut and the Node's Float64s read values.
//
// The graph is Gorgonia's: this is the only package of the module that
// imports it (internal/archtest checks), and Node, Dtype, Shape and Tensor
// are its own types. Matrix products use Gonum, or OpenBLAS when built
// with -tags openblas.
package autodiff
