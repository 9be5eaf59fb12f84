package autodiff

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A prim is a primitive operation: a kernel Gorgonia runs, and the rule that
// builds its vector–Jacobian product out of other prims. Every derivative in
// ebmpipe — input gradients, Jacobian–vector products, and the parameter
// gradients Gorgonia's Grad computes — comes from these rules.
type prim interface {
	// String names the primitive with all its parameters. Gorgonia merges
	// nodes with equal hashes, and the hash is this string with the input
	// shapes: two prims that compute different things must differ here.
	String() string
	// shape returns the output shape for the given input shapes.
	shape(in []tensor.Shape) (tensor.Shape, error)
	// do runs the kernel.
	do(in []array) (array, error)
	// vjp returns, for each input, the gradient given the output's gradient
	// g; an entry is nil where the input gets none.
	vjp(t *Tape, in []*Node, out, g *Node) []*Node
}

// An intoPrim is a prim that can write its output into an array of the
// output's shape and element type, overwriting every element. primOp then
// keeps its output from one run to the next instead of allocating anew.
type intoPrim interface {
	prim
	doInto(out array, in []array) error
}

// doNew runs p into a new array: the do of an intoPrim.
func doNew(p intoPrim, in []array) (array, error) {
	shapes := make([]tensor.Shape, len(in))
	for i, a := range in {
		shapes[i] = a.shape
	}
	s, err := p.shape(shapes)
	if err != nil {
		return array{}, err
	}
	out := in[0].like(s)
	if len(s) == 0 {
		out.shape = nil
	}
	if err := p.doInto(out, in); err != nil {
		return array{}, err
	}
	return out, nil
}

// noGrad marks prims whose output does not depend differentiably on any
// input (masks, stop-gradients, constants).
type noGrad struct{}

func (noGrad) vjp(*Tape, []*Node, *Node, *Node) []*Node { return nil }
func (noGrad) isNoGrad()                                {}

// outDtyper is implemented by prims whose output element type differs from
// their first input's.
type outDtyper interface {
	outDtype(in []tensor.Dtype) tensor.Dtype
}

// partialDiff is implemented by prims some of whose float inputs get no
// gradient: auxiliary values whose dependence on the other inputs is part
// of the prim's rule, or inputs its output is piecewise constant in.
type partialDiff interface {
	differentiable(i int) bool
}

// diffWRT reports which inputs of p get gradients: float inputs of prims
// that have a derivative.
func diffWRT(p prim, in []*Node) []bool {
	dts := make([]tensor.Dtype, len(in))
	for i, n := range in {
		dts[i] = n.g().Dtype()
	}
	return diffInputs(p, dts)
}

// diffInputs reports which inputs, of the given element types, p
// differentiates.
func diffInputs(p prim, dts []tensor.Dtype) []bool {
	out := make([]bool, len(dts))
	if _, ok := p.(interface{ isNoGrad() }); ok {
		return out
	}
	pd, partial := p.(partialDiff)
	for i, dt := range dts {
		out[i] = isFloatDtype(dt) && (!partial || pd.differentiable(i))
	}
	return out
}

// primOp adapts a prim to Gorgonia's Op and SDOp interfaces.
type primOp struct {
	t     *Tape
	p     prim
	inT   []hm.Type
	outT  hm.Type
	out   tensor.Shape
	hashS string

	// last is the output of the previous run of an intoPrim, reused as
	// the next run's output: a tape's values are read (and copied) between
	// runs, never kept across them. lastVal is the value Do returned for
	// it, returned again while it describes last.
	last    array
	lastVal G.Value
	in      []array // Do's inputs, reused

	// dead marks an internal node no live node reads (prune.go): Do
	// returns a zero value of the output's shape without running the
	// kernel.
	dead bool
}

func newPrimOp(t *Tape, p prim, in []*Node) (*primOp, error) {
	shapes := make([]tensor.Shape, len(in))
	dts := make([]tensor.Dtype, len(in))
	inT := make([]hm.Type, len(in))
	for i, n := range in {
		shapes[i] = tensor.Shape(n.Shape())
		dts[i] = n.g().Dtype()
		inT[i] = nodeType(len(shapes[i]), dts[i])
	}
	s, err := p.shape(shapes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	dt := t.dt
	if len(dts) > 0 {
		dt = dts[0]
	}
	// Kernels take their operands in one float type; a Variable or Input
	// of another type (float64 data on a float32 tape) is an error here,
	// not at run time.
	for i, d := range dts {
		if isFloatDtype(d) && isFloatDtype(dts[0]) && d != dts[0] {
			return nil, fmt.Errorf("%s: input %d is %v, input 0 is %v", p, i, d, dts[0])
		}
	}
	if o, ok := p.(outDtyper); ok {
		dt = o.outDtype(dts)
	}
	return &primOp{
		t: t, p: p, inT: inT, outT: nodeType(len(s), dt), out: s,
		hashS: fmt.Sprintf("%s%v%v", p, shapes, dts),
	}, nil
}

// nodeType is Gorgonia's type for a tensor of the given rank: the element
// type itself for scalars.
func nodeType(dims int, dt tensor.Dtype) hm.Type {
	if dims == 0 {
		return dt
	}
	return G.TensorType{Dims: dims, Of: dt}
}

func (o *primOp) Arity() int { return len(o.inT) }

func (o *primOp) Type() hm.Type {
	if len(o.inT) == 0 {
		return o.outT
	}
	ts := append(append([]hm.Type(nil), o.inT...), o.outT)
	return hm.NewFnType(ts...)
}

func (o *primOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.out.Clone(), nil }

func (o *primOp) Do(vals ...G.Value) (G.Value, error) {
	if o.dead && len(vals) > 0 {
		if o.lastVal == nil {
			dt, _ := elemType(o.outT)
			out := newArray(dt, o.out)
			if len(o.out) == 0 {
				out.shape = nil
			}
			o.last, o.lastVal = out, toValue(out)
		}
		return o.lastVal, nil
	}
	if cap(o.in) < len(vals) {
		o.in = make([]array, len(vals))
	}
	in := o.in[:len(vals)]
	defer clear(in) // hold no values between runs
	for i, v := range vals {
		a, err := fromValue(v)
		if err != nil {
			return nil, fmt.Errorf("%s: input %d: %w", o.p, i, err)
		}
		in[i] = a
	}
	if ip, ok := o.p.(intoPrim); ok && len(in) > 0 {
		out := o.last
		if out.len() != Size(o.out) || out.dtype() != in[0].dtype() || overlapsAny(out, in) {
			out = in[0].like(o.out)
			if len(o.out) == 0 {
				out.shape = nil
			}
			o.lastVal = nil
		}
		if err := ip.doInto(out, in); err != nil {
			return nil, fmt.Errorf("%s: %w", o.p, err)
		}
		o.last = out
		return o.value(out), nil
	}
	r, err := o.p.do(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.p, err)
	}
	return toValue(r), nil
}

// value returns out, the output of an intoPrim, as Gorgonia's value: the
// one made for the same array on the previous run, if it still describes
// it, with a scalar's element copied in.
func (o *primOp) value(out array) G.Value {
	switch v := o.lastVal.(type) {
	case *tensor.Dense:
		if lo, _ := out.span(); v.Uintptr() == lo && v.Shape().Eq(tensor.Shape(out.shape)) {
			return v
		}
	case *G.F64:
		if out.f64 != nil && len(out.shape) == 0 {
			*v = G.F64(out.f64[0])
			return v
		}
	case *G.F32:
		if out.f32 != nil && len(out.shape) == 0 {
			*v = G.F32(out.f32[0])
			return v
		}
	}
	o.lastVal = toValue(out)
	return o.lastVal
}

func (o *primOp) ReturnsPtr() bool      { return false }
func (o *primOp) CallsExtern() bool     { return false }
func (o *primOp) OverwritesInput() int  { return -1 }
func (o *primOp) WriteHash(h hash.Hash) { h.Write([]byte(o.hashS)) }
func (o *primOp) String() string        { return o.p.String() }

func (o *primOp) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

// DiffWRT implements G.SDOp.
func (o *primOp) DiffWRT(n int) []bool {
	dts := make([]tensor.Dtype, n)
	for i := 0; i < n && i < len(o.inT); i++ {
		dts[i], _ = elemType(o.inT[i])
	}
	return diffInputs(o.p, dts)
}

// SymDiff implements G.SDOp with the prim's own rule, so that Gorgonia's
// Grad and the tape's VJP agree by construction.
func (o *primOp) SymDiff(gin G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	in := make([]*Node, len(gin))
	for i, n := range gin {
		in[i] = wrap(n)
	}
	gs := o.p.vjp(o.t, in, wrap(out), wrap(grad))
	diff := o.DiffWRT(len(in))
	res := make(G.Nodes, len(in))
	for i := range in {
		switch {
		case i < len(gs) && gs[i] != nil:
			res[i] = gs[i].g()
		case diff[i]:
			res[i] = o.t.ZerosLike(in[i]).g()
		}
	}
	if err := o.t.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

func elemType(t hm.Type) (tensor.Dtype, bool) {
	switch t := t.(type) {
	case tensor.Dtype:
		return t, true
	case G.TensorType:
		dt, ok := t.Of.(tensor.Dtype)
		return dt, ok
	case *G.TensorType:
		dt, ok := t.Of.(tensor.Dtype)
		return dt, ok
	}
	return tensor.Dtype{}, false
}

func isFloatDtype(dt tensor.Dtype) bool { return dt == tensor.Float32 || dt == tensor.Float64 }
