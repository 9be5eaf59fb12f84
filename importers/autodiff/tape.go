package autodiff

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/ebmpipe/ebmpipe/onnx"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrEmptyTensor reports a tensor with a zero dimension, which Gorgonia
// cannot hold.
var ErrEmptyTensor = errors.New("empty tensors (a zero dimension) are not supported")

// A Tape builds differentiable computations in a Gorgonia graph and records
// how every node it makes was made, so that vector–Jacobian products can be
// built as new nodes of the same graph — to any order.
//
// Gorgonia's own Grad is exact for one level of differentiation, but a Grad
// over nodes made by an earlier Grad call gives wrong second-order gradients.
// A Tape therefore owns the derivative rules: VJP and JVP emit ordinary nodes
// through the same rules, and Gorgonia's Grad, which calls those rules too
// (every node a Tape makes carries its rule), runs once per loss, in
// ParamGrads.
//
// Building methods return nil after the first error, which Err reports; a
// sequence of calls needs one check at the end, as with bufio.Scanner.
type Tape struct {
	g       *G.ExprGraph
	dt      tensor.Dtype
	err     error
	entries map[*Node]*entry
	seq     int
	graded  bool
	leaves  map[*Node]bool
	consts  int

	// internal counts the derivative builders (VJP, ParamGrads) under way;
	// external holds the nodes the tape's user has seen (prune.go).
	internal int
	external map[*Node]bool
}

// entry records one node made by a primitive.
type entry struct {
	p   prim
	in  []*Node
	seq int
}

// NewTape returns a Tape, with a new graph, whose nodes have element type
// dt (Float64 or Float32).
func NewTape(dt Dtype) *Tape {
	return &Tape{g: G.NewGraph(), dt: dt.tensor(), entries: make(map[*Node]*entry)}
}

// Dtype returns the floating-point element type of the tape's nodes.
func (t *Tape) Dtype() Dtype { return dtypeOf(t.dt) }

// Err returns the first error met while building, if any.
func (t *Tape) Err() error { return t.err }

// fail records err (the first one wins) and returns nil for chaining.
func (t *Tape) fail(err error) *Node {
	if t.err == nil {
		t.err = err
	}
	return nil
}

// apply adds a node computing p on in and records it.
func (t *Tape) apply(p prim, in ...*Node) *Node {
	if t.err != nil {
		return nil
	}
	for _, n := range in {
		if n == nil {
			return t.fail(fmt.Errorf("%s: nil input", p))
		}
	}
	op, err := newPrimOp(t, p, in)
	if err != nil {
		return t.fail(err)
	}
	if Size(op.out) == 0 {
		return t.fail(fmt.Errorf("%s: output shape %v: %w", p, op.out, ErrEmptyTensor))
	}
	gn, err := G.ApplyOp(op, gnodes(in)...)
	if err != nil {
		return t.fail(fmt.Errorf("%s: %w", p, err))
	}
	n := wrap(gn)
	if _, ok := t.entries[n]; !ok {
		t.seq++
		t.entries[n] = &entry{p: p, in: in, seq: t.seq}
	}
	t.markExternal(n)
	return n
}

// Input adds a named input (a placeholder bound before each run with Let
// or CopyIn)
// of the given shape.
func (t *Tape) Input(name string, shape ...int) *Node {
	return t.leaf(name, shape, nil)
}

// Variable adds a named leaf holding v: a parameter, or any tensor that
// changes between runs.
func (t *Tape) Variable(name string, v Tensor) *Node {
	if err := v.check(); err != nil {
		return t.fail(fmt.Errorf("Variable %q: %w", name, err))
	}
	return t.leaf(name, v.a.shape, &v.a)
}

func (t *Tape) leaf(name string, shape []int, v *array) *Node {
	if t.err != nil {
		return nil
	}
	if Size(shape) == 0 {
		return t.fail(fmt.Errorf("leaf %q of shape %v: %w", name, shape, ErrEmptyTensor))
	}
	opts := []G.NodeConsOpt{G.WithName(name)}
	if len(shape) > 0 {
		opts = append(opts, G.WithShape(shape...))
	}
	dt := t.dt
	if v != nil {
		dt = v.dtype()
		opts = append(opts, G.WithValue(toValue(*v)))
	}
	var n *Node
	if len(shape) == 0 {
		n = wrap(G.NewScalar(t.g, dt, opts...))
	} else {
		n = wrap(G.NewTensor(t.g, dt, len(shape), opts...))
	}
	// Gorgonia hash-conses leaves by name, type and shape: a second leaf
	// of the same name would silently be the first, value and all.
	if t.leaves[n] {
		return t.fail(fmt.Errorf("leaf %q %v added twice: leaf names must be unique on a tape", name, shape))
	}
	if t.leaves == nil {
		t.leaves = make(map[*Node]bool)
	}
	t.leaves[n] = true
	return n
}

// Const adds a constant tensor of the tape's element type holding data
// (converted) in the given shape.
func (t *Tape) Const(data []float64, shape ...int) *Node {
	if t.err != nil {
		return nil
	}
	if Size(shape) != len(data) {
		return t.fail(fmt.Errorf("constant of shape %v: %d values", shape, len(data)))
	}
	a := newArray(t.dt, shape)
	for i, v := range data {
		a.set(i, v)
	}
	return t.constArray(a)
}

// constArray adds a leaf holding a. Leaves are unique nodes; Gorgonia's
// constants are hash-consed by shape, which could merge different values.
func (t *Tape) constArray(a array) *Node {
	t.consts++
	return t.leaf("const"+strconv.Itoa(t.consts), a.shape, &a)
}

// Full adds a constant tensor of the given shape with every element v.
func (t *Tape) Full(v float64, shape ...int) *Node {
	data := make([]float64, Size(shape))
	for i := range data {
		data[i] = v
	}
	return t.Const(data, shape...)
}

// ZerosLike adds a constant zero tensor shaped like x.
func (t *Tape) ZerosLike(x *Node) *Node {
	if x == nil {
		return t.fail(errors.New("ZerosLike: nil input"))
	}
	return t.Full(0, x.Shape()...)
}

// VJP returns, for each x in xs, the vector–Jacobian product
// Σ_k seeds[k]ᵀ · ∂ys[k]/∂x as a new node shaped like x. A nil seed stands
// for ones. Inputs that no y depends on get zeros. The returned nodes are
// recorded, so they can be differentiated again.
func (t *Tape) VJP(ys, seeds, xs []*Node) []*Node {
	t.internal++
	out := t.vjp(ys, seeds, xs)
	t.internal--
	for _, n := range out {
		t.markExternal(n)
	}
	return out
}

// vjp is VJP without marking the results as seen by the user.
func (t *Tape) vjp(ys, seeds, xs []*Node) []*Node {
	if t.err != nil {
		return make([]*Node, len(xs))
	}
	if len(seeds) != len(ys) {
		t.fail(fmt.Errorf("VJP: %d outputs but %d seeds", len(ys), len(seeds)))
		return make([]*Node, len(xs))
	}
	// Forward pass: which recorded nodes depend on xs.
	dep := make(map[*Node]bool, len(xs))
	for _, x := range xs {
		dep[x] = true
	}
	order := t.order()
	for _, n := range order {
		for _, in := range t.entries[n].in {
			if dep[in] {
				dep[n] = true
				break
			}
		}
	}
	grads := make(map[*Node]*Node)
	for k, y := range ys {
		if y == nil || !dep[y] {
			continue
		}
		s := seeds[k]
		if s == nil {
			s = t.Full(1, y.Shape()...)
		}
		if !sameShape(s.Shape(), y.Shape()) {
			t.fail(fmt.Errorf("VJP: seed shape %v for output shape %v", s.Shape(), y.Shape()))
			return make([]*Node, len(xs))
		}
		grads[y] = t.accumulate(grads[y], s)
	}
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		g, ok := grads[n]
		if !ok || !dep[n] {
			continue
		}
		e := t.entries[n]
		gin := e.p.vjp(t, e.in, n, g)
		for j, in := range e.in {
			if j < len(gin) && gin[j] != nil && dep[in] {
				grads[in] = t.accumulate(grads[in], gin[j])
			}
		}
	}
	out := make([]*Node, len(xs))
	for i, x := range xs {
		if g, ok := grads[x]; ok {
			out[i] = g
		} else {
			out[i] = t.ZerosLike(x)
		}
	}
	return out
}

// InputGradient returns ∂(Σ y)/∂x for a single output y (usually a
// per-example energy summed over the batch, which gives every example's
// input gradient at once).
func (t *Tape) InputGradient(y, x *Node) *Node {
	return t.VJP([]*Node{y}, []*Node{nil}, []*Node{x})[0]
}

// JVP returns the Jacobian–vector product (∂y/∂x)·v, shaped like y, by the
// double-VJP trick: u ↦ Jᵀu is linear in u, so differentiating ⟨Jᵀu, v⟩
// with respect to u gives Jv. The Jacobian is never formed.
func (t *Tape) JVP(y, x, v *Node) *Node {
	if t.err != nil || y == nil {
		return t.fail(errors.New("JVP: nil output"))
	}
	return t.JVPFunc(y, x)(v)
}

// JVPFunc returns v ↦ (∂y/∂x)·v as JVP computes it, for many v: the VJP
// Jᵀu at the zero seed u is built once and shared, and is not computed
// when the machine runs (only its derivative in u is used).
func (t *Tape) JVPFunc(y, x *Node) func(v *Node) *Node {
	if t.err != nil || y == nil {
		t.fail(errors.New("JVP: nil output"))
		return func(*Node) *Node { return nil }
	}
	u := t.Full(0, y.Shape()...)
	t.internal++
	jtu := t.vjp([]*Node{y}, []*Node{u}, []*Node{x})[0]
	t.internal--
	return func(v *Node) *Node {
		t.internal++
		jv := t.vjp([]*Node{jtu}, []*Node{v}, []*Node{u})[0]
		t.internal--
		t.markExternal(jv)
		return jv
	}
}

// order returns the recorded nodes in creation (topological) order.
func (t *Tape) order() []*Node {
	out := make([]*Node, len(t.entries))
	for n, e := range t.entries {
		out[e.seq-1] = n
	}
	return out
}

func (t *Tape) accumulate(acc, g *Node) *Node {
	if acc == nil {
		return g
	}
	return t.Add(acc, g)
}

// ParamGrads returns the gradient of the scalar loss with respect to each
// of params, computed by Gorgonia's Grad — called once per tape, since a
// second Grad over nodes made by an earlier one is wrong. Input gradients
// inside the loss must come from VJP, JVP or InputGradient.
func (t *Tape) ParamGrads(loss *Node, params ...*Node) ([]*Node, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.graded {
		return nil, errors.New("ParamGrads: Gorgonia's Grad already ran on this tape; build one loss per tape (nested Grad calls give wrong second-order gradients)")
	}
	if !loss.IsScalar() {
		return nil, fmt.Errorf("ParamGrads: loss has shape %v, want a scalar", loss.Shape())
	}
	t.graded = true
	// Grad rejects parameters the loss does not depend on; give them zeros.
	dep := t.dependsOn(loss)
	var used []*Node
	for _, p := range params {
		if dep[p] {
			used = append(used, p)
		}
	}
	out := make([]*Node, len(params))
	if len(used) > 0 {
		t.internal++
		gs, err := G.Grad(loss.g(), gnodes(used)...)
		t.internal--
		if err != nil {
			return nil, fmt.Errorf("ParamGrads: %w", err)
		}
		k := 0
		for i, p := range params {
			if dep[p] {
				out[i] = wrap(gs[k])
				k++
			}
		}
	}
	for i, p := range params {
		if out[i] == nil {
			out[i] = t.ZerosLike(p)
		}
		t.markExternal(out[i])
	}
	return out, t.err
}

// dependsOn returns the set of nodes y (transitively) depends on through
// differentiable recorded edges.
func (t *Tape) dependsOn(y *Node) map[*Node]bool {
	seen := map[*Node]bool{y: true}
	stack := []*Node{y}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		e, ok := t.entries[n]
		if !ok {
			continue
		}
		diff := diffWRT(e.p, e.in)
		for j, in := range e.in {
			if diff[j] && !seen[in] {
				seen[in] = true
				stack = append(stack, in)
			}
		}
	}
	return seen
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Size returns the number of elements of a tensor of the given shape
// (onnx.ShapeSize).
func Size(shape []int) int { return onnx.ShapeSize(shape) }
