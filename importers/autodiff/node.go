package autodiff

import (
	"fmt"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A Node is a tensor of a Tape's graph: a leaf (Input, Variable, Const) or
// the output of a primitive. Its value is there after a Machine runs.
//
// Node is Gorgonia's node under another name: the engine converts between
// the two for free, and other packages see only the methods below.
type Node G.Node

// g returns n as Gorgonia's node.
func (n *Node) g() *G.Node { return (*G.Node)(n) }

// wrap returns Gorgonia's node as a Node.
func wrap(n *G.Node) *Node { return (*Node)(n) }

// gnodes converts nodes for a call into Gorgonia.
func gnodes(ns []*Node) []*G.Node {
	out := make([]*G.Node, len(ns))
	for i, n := range ns {
		out[i] = n.g()
	}
	return out
}

// Shape returns n's shape; a scalar has none.
func (n *Node) Shape() Shape { return Shape(n.g().Shape()) }

// A Shape is the size of each axis of a tensor. It prints as (2, 3).
type Shape []int

// Format prints s as (2, 3) for %v and %s, else as a slice.
func (s Shape) Format(st fmt.State, r rune) { tensor.Shape(s).Format(st, r) }

// Clone returns a copy of s.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// Dims returns n's rank.
func (n *Node) Dims() int { return n.g().Dims() }

// IsScalar reports whether n is a scalar (rank 0).
func (n *Node) IsScalar() bool { return n.g().IsScalar() }

// Name returns n's name: a leaf's own, or a description of its primitive.
func (n *Node) Name() string { return n.g().Name() }

// String describes n for errors and graph dumps.
func (n *Node) String() string { return n.g().String() }

// Dtype returns n's element type.
func (n *Node) Dtype() Dtype { return dtypeOf(n.g().Dtype()) }

// HasValue reports whether n holds a value: a Variable or Const, a bound
// Input, or any node after a run.
func (n *Node) HasValue() bool { return n.g().Value() != nil }

// Float64s returns the elements of n's current value if they are float64,
// sharing its storage (writes change the value a run reads), else nil.
func (n *Node) Float64s() []float64 { return elems[float64](n) }

// Float32s returns the elements of n's current value if they are float32,
// sharing its storage, else nil.
func (n *Node) Float32s() []float32 { return elems[float32](n) }

// Int64s returns the elements of n's current value if they are int64,
// sharing its storage, else nil.
func (n *Node) Int64s() []int64 { return elems[int64](n) }

// elems returns the elements of n's value if they are Ts, else nil.
func elems[T float64 | float32 | int64](n *Node) []T {
	var data any
	switch v := n.g().Value().(type) {
	case *tensor.Dense:
		data = v.Data()
	case *G.F64:
		data = unsafe.Slice((*float64)(v), 1)
	case *G.F32:
		data = unsafe.Slice((*float32)(v), 1)
	case *G.I64:
		data = unsafe.Slice((*int64)(v), 1)
	}
	x, _ := data.([]T)
	return x
}

// A Dtype is the element type of a tensor.
type Dtype uint8

// The element types: tapes compute in Float64 or Float32; Int64 tensors
// hold indices and shapes.
const (
	Float64 Dtype = iota + 1
	Float32
	Int64
)

func (d Dtype) String() string { return d.tensor().String() }

// tensor returns d as Gorgonia's element type.
func (d Dtype) tensor() tensor.Dtype {
	switch d {
	case Float32:
		return tensor.Float32
	case Int64:
		return tensor.Int64
	case Float64:
		return tensor.Float64
	}
	return tensor.Dtype{}
}

func dtypeOf(dt tensor.Dtype) Dtype {
	switch dt {
	case tensor.Float64:
		return Float64
	case tensor.Float32:
		return Float32
	case tensor.Int64:
		return Int64
	}
	return 0
}

// A Tensor is a value given to a Tape (Variable) or a Machine (Let): a
// shape and the elements in row-major order.
type Tensor struct{ a array }

// NewTensor returns a tensor of the given shape holding data, which it
// shares (not a copy).
func NewTensor[T float64 | float32 | int64](shape []int, data []T) Tensor {
	return Tensor{arrayOf(append([]int(nil), shape...), data)}
}

// Zeros returns a zero tensor of element type dt and the given shape.
func Zeros(dt Dtype, shape ...int) Tensor { return Tensor{newArray(dt.tensor(), shape)} }

// FromFloat64s returns a tensor of element type dt and the given shape
// holding data converted (a copy).
func FromFloat64s(dt Dtype, shape []int, data []float64) Tensor {
	a := newArray(dt.tensor(), shape)
	for i, v := range data {
		a.set(i, v)
	}
	return Tensor{a}
}

// Scalar returns a rank-0 tensor of element type dt holding v.
func Scalar(dt Dtype, v float64) Tensor {
	a := newArray(dt.tensor(), nil)
	a.set(0, v)
	return Tensor{a}
}

// Shape returns v's shape.
func (v Tensor) Shape() []int { return append([]int(nil), v.a.shape...) }

// Dtype returns v's element type.
func (v Tensor) Dtype() Dtype { return dtypeOf(v.a.dtype()) }

// check reports a tensor whose element count does not match its shape.
func (v Tensor) check() error {
	if n := v.a.len(); n != Size(v.a.shape) {
		return fmt.Errorf("tensor of shape %v holds %d values", v.a.shape, n)
	}
	return nil
}

// A Machine runs the graph of a Tape: every node in the order the tape
// made them.
type Machine struct{ vm G.VM }

// NewMachine compiles t's graph as it is now; nodes added to t later are
// not run. Nodes that derivative builders made and nothing reads are not
// computed.
func NewMachine(t *Tape) *Machine {
	t.markDead()
	return &Machine{vm: G.NewTapeMachine(t.g)}
}

// Run computes every node's value. Read the values, then Reset before the
// next Run.
func (m *Machine) Run() error { return m.vm.RunAll() }

// Reset prepares m for the next Run.
func (m *Machine) Reset() { m.vm.Reset() }

// Close releases m's resources.
func (m *Machine) Close() error { return m.vm.Close() }

// Let binds v as the value of the leaf n for the following runs. v's
// shape and element type must be n's.
func Let(n *Node, v Tensor) error {
	if n == nil {
		return fmt.Errorf("Let: nil node")
	}
	if err := v.check(); err != nil {
		return fmt.Errorf("Let: %q: %w", n.Name(), err)
	}
	if err := G.Let(n.g(), toValue(v.a)); err != nil {
		return fmt.Errorf("Let: %q: %w", n.Name(), err)
	}
	return nil
}

// CopyIn copies data into the value a leaf node (a Variable or an Input
// already bound) holds, in place, converting to its element type. An Input
// without a value gets a new tensor of its shape.
func CopyIn(n *Node, data []float64) error {
	if n == nil {
		return fmt.Errorf("CopyIn: nil node")
	}
	if want := Size(n.Shape()); len(data) != want {
		return fmt.Errorf("CopyIn: %d values for node %q of shape %v", len(data), n.Name(), n.Shape())
	}
	d, ok := n.g().Value().(*tensor.Dense)
	if !ok || d == nil {
		if n.IsScalar() {
			return fmt.Errorf("CopyIn: node %q is a scalar without a tensor value", n.Name())
		}
		d = toDense(newArray(n.g().Dtype(), n.Shape()))
		if err := G.Let(n.g(), d); err != nil {
			return fmt.Errorf("CopyIn: %q: %w", n.Name(), err)
		}
	}
	switch x := d.Data().(type) {
	case []float64:
		copy(x, data)
	case []float32:
		for i, v := range data {
			x[i] = float32(v)
		}
	default:
		return fmt.Errorf("CopyIn: node %q holds %T, not floats", n.Name(), d.Data())
	}
	return nil
}

// CopyOut appends the values of n after a run, converted to float64, to
// dst[:0] and returns it.
func CopyOut(dst []float64, n *Node) ([]float64, error) {
	if n == nil || n.g().Value() == nil {
		return nil, fmt.Errorf("CopyOut: node has no value")
	}
	a, err := fromValue(n.g().Value())
	if err != nil {
		return nil, fmt.Errorf("CopyOut: %q: %w", n.Name(), err)
	}
	dst = dst[:0]
	for k := range a.len() {
		dst = append(dst, a.at(k))
	}
	return dst, nil
}
