package autodiff

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Integer tensors and constants: ONNX graphs carry shapes, axes and indices
// as int64 tensors, mostly known when the graph is built. The functions
// here run the engine's kernels on such constants, and move int64 values
// in and out of graphs.

// toFloat converts integer elements to the tape's floating-point type. It
// has no gradient: its inputs are never differentiable.
type toFloat struct {
	noGrad
	dt tensor.Dtype
}

func (p toFloat) String() string                                { return fmt.Sprintf("ToFloat(%v)", p.dt) }
func (p toFloat) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
func (p toFloat) outDtype([]tensor.Dtype) tensor.Dtype          { return p.dt }

func (p toFloat) do(in []array) (array, error) {
	x := in[0]
	out := newArray(p.dt, x.shape)
	for i := 0; i < x.len(); i++ {
		out.set(i, x.at(i))
	}
	return out, nil
}

// ToFloat converts x's elements (integers) to the tape's floating-point
// type. The result has no gradient.
func (t *Tape) ToFloat(x *Node) *Node { return t.apply(toFloat{dt: t.dt}, x) }

// ConstTensor adds a constant leaf holding v, of v's element type (Const
// converts to the tape's).
func (t *Tape) ConstTensor(v Tensor) *Node {
	if t.err != nil {
		return nil
	}
	if err := v.check(); err != nil {
		return t.fail(fmt.Errorf("constant: %w", err))
	}
	return t.constArray(v.a)
}

// GatherAxis selects along axis of x by the int64 indices idx, known only
// when the graph runs (negative indices count from the end), as ONNX
// Gather does; idx gets no gradient.
func (t *Tape) GatherAxis(x, idx *Node, axis int) *Node {
	return t.apply(gatherAxis{axis: axis}, x, idx)
}

// GatherSlice applies the index map m to the flat elements x (positions
// the map leaves empty get 0).
func GatherSlice[T float64 | int64](m *IndexMap, x []T) []T {
	out := make([]T, len(m.Index))
	gatherLoop(out, x, m.Index)
	return out
}

// Transposed returns v with its axes permuted as Tape.Transpose does:
// output axis i is input axis perm[i].
func Transposed(v Tensor, perm []int) (Tensor, error) {
	a, err := transpose{perm: perm}.do([]array{v.a})
	return Tensor{a}, err
}

// Concatenated joins vs along axis as Tape.Concat does. The tensors must
// share an element type.
func Concatenated(axis int, vs ...Tensor) (Tensor, error) {
	as := make([]array, len(vs))
	shapes := make([]tensor.Shape, len(vs))
	for k, v := range vs {
		as[k], shapes[k] = v.a, v.a.shape
	}
	p := concat{axis: axis}
	if _, err := p.shape(shapes); err != nil {
		return Tensor{}, err
	}
	a, err := p.do(as)
	return Tensor{a}, err
}

// Float64s returns v's elements if they are float64, sharing its storage,
// else nil.
func (v Tensor) Float64s() []float64 { return v.a.f64 }

// Int64s returns v's elements if they are int64, sharing its storage, else
// nil.
func (v Tensor) Int64s() []int64 { return v.a.i64 }
