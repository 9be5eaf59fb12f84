package autodiff

import (
	"fmt"
	"unsafe"

	"github.com/ebmpipe/ebmpipe/importers/autodiff/internal/simd"

	"gorgonia.org/tensor"
)

// The derivatives of the activations are fused prims: f⁽ⁿ⁾(x) ⊙ g₁ ⊙ … ⊙ gₙ
// is one elementwise pass, whose own VJP is again one such pass (one order
// up in x, the same order in each g). A first VJP through an activation is
// then one pass instead of two to six, and the second-order graphs of the
// bounds (gradient penalties, Jacobian–vector products by double VJP, and
// Gorgonia's Grad over them) stay short.

// actKind names an activation f whose derivatives actDeriv computes from
// the input x and an auxiliary value y of the forward pass.
type actKind int

const (
	aTanh     actKind = iota // y = tanh x
	aSigmoid                 // y = σ(x)
	aSoftplus                // y = ln(1+e^x) (unused: f⁽ⁿ⁾ = σ⁽ⁿ⁻¹⁾(x))
	aElu                     // y = elu(x): f' = y + α where x ≤ 0
	aLeaky                   // y unused: f' = 1 if x > 0 else α
	aSilu                    // y = σ(x), not the output x·σ(x)
)

var actNames = [...]string{"Tanh", "Sigmoid", "Softplus", "Elu", "Leaky", "Silu"}

// actDeriv is f⁽ⁿ⁾(x), computed from the inputs x and y: the factor that
// every product of the n-th order shares (Gorgonia merges equal nodes, so
// it is computed once per run however many vectors it multiplies). It has
// no gradient of its own: actProd's rule carries the dependence on x.
type actDeriv struct {
	noGrad
	kind actKind
	a    float64 // Leaky's slope, Elu's α
	n    int
}

func (p actDeriv) String() string {
	return fmt.Sprintf("D%d%s(%g)", p.n, actNames[p.kind], p.a)
}

func (p actDeriv) shape(in []tensor.Shape) (tensor.Shape, error) { return sameShapes(in, 2) }

// sameShapes checks that there are want inputs (any number if want < 0),
// all of one shape, and returns it.
func sameShapes(in []tensor.Shape, want int) (tensor.Shape, error) {
	if want >= 0 && len(in) != want {
		return nil, fmt.Errorf("%d inputs, want %d", len(in), want)
	}
	for i, s := range in[1:] {
		if !sameShape(s, in[0]) {
			return nil, fmt.Errorf("input %d of shape %v, want input 0's shape %v", i+1, s, in[0])
		}
	}
	return in[0].Clone(), nil
}

// nonzero tells whether f⁽ⁿ⁾ is not identically zero.
func (p actDeriv) nonzero(n int) bool { return p.kind != aLeaky || n <= 1 }

func (p actDeriv) do(in []array) (array, error) { return doNew(p, in) }

func (p actDeriv) doInto(out array, in []array) error {
	if p.kind == aLeaky && p.n == 1 {
		// 1 if x > 0 else a, without branches.
		if out.isF32() {
			selectPos[float32, uint32](out.f32, in[0].f32, 1, []float32{float32(p.a)}, 0)
		} else {
			selectPos[float64, uint64](out.f64, in[0].f64, 1, []float64{p.a}, 0)
		}
		return nil
	}
	if out.isF32() {
		actValues(p, floats[float32](out), floats[float32](in[0]), floats[float32](in[1]))
	} else {
		actValues(p, floats[float64](out), floats[float64](in[0]), floats[float64](in[1]))
	}
	return nil
}

// actProd is f⁽ⁿ⁾(x) ⊙ g₁ ⊙ … ⊙ gₙ from the inputs x, y, d = f⁽ⁿ⁾(x) (an
// actDeriv node) and g₁, …, gₙ, all of one shape; with n = 0 (SiLU's
// forward pass) the inputs are x and y and the output f(x). Only x and the
// g's get gradients: y and d depend on x through the rule.
type actProd struct {
	kind actKind
	a    float64
	n    int
}

func (p actProd) deriv(n int) actDeriv { return actDeriv{kind: p.kind, a: p.a, n: n} }

func (p actProd) String() string {
	return fmt.Sprintf("P%d%s(%g)", p.n, actNames[p.kind], p.a)
}

func (p actProd) shape(in []tensor.Shape) (tensor.Shape, error) {
	if p.n == 0 {
		return sameShapes(in, 2)
	}
	return sameShapes(in, p.n+3)
}

// differentiable implements partialDiff.
func (p actProd) differentiable(i int) bool {
	switch {
	case i == 0:
		return p.deriv(0).nonzero(p.n + 1)
	case i == 1 || i == 2:
		return false
	}
	return true
}

func (p actProd) vjp(t *Tape, in []*Node, _, h *Node) []*Node {
	res := make([]*Node, len(in))
	x, y := in[0], in[1]
	if p.deriv(0).nonzero(p.n + 1) {
		up := p
		up.n++
		args := append([]*Node{x, y, t.apply(p.deriv(up.n), x, y)}, in[min(3, len(in)):]...)
		res[0] = t.apply(up, append(args, h)...)
	}
	vectorGrads(t, p, in, 3, h, res)
	return res
}

func (p actProd) do(in []array) (array, error) { return doNew(p, in) }

func (p actProd) doInto(out array, in []array) error {
	if p.n == 0 {
		return p.deriv(0).doInto(out, in)
	}
	prodArrays(out, in[2:])
	return nil
}

// vectorGrads sets res[i], for the vector inputs i ≥ first of a product
// prim p (factor · g₁ ⊙ … ⊙ g_k, linear in each g), to its VJP with h: p
// with g_i replaced by h.
func vectorGrads(t *Tape, p prim, in []*Node, first int, h *Node, res []*Node) {
	for i := first; i < len(in); i++ {
		args := append([]*Node(nil), in...)
		args[i] = h
		res[i] = t.apply(p, args...)
	}
}

// prodArrays sets out to the elementwise product of fs.
func prodArrays(out array, fs []array) {
	if out.isF32() {
		prodInto(floats[float32](out), floatsOf[float32](fs))
	} else {
		prodInto(floats[float64](out), floatsOf[float64](fs))
	}
}

// floatsOf returns the backing slices of in as []T.
func floatsOf[T float](in []array) [][]T {
	out := make([][]T, len(in))
	for i, a := range in {
		out[i] = floats[T](a)
	}
	return out
}

// prodInto sets out to the elementwise product of fs (each as long as out;
// at least two), multiplying left to right.
func prodInto[T float](out []T, fs [][]T) {
	d, g := fs[0][:len(out)], fs[1][:len(out)]
	if len(fs) == 3 {
		h := fs[2][:len(out)]
		for i := range out {
			out[i] = d[i] * g[i] * h[i]
		}
		return
	}
	for i := range out {
		out[i] = d[i] * g[i]
	}
	for _, g := range fs[2:] {
		g = g[:len(out)]
		for i := range out {
			out[i] *= g[i]
		}
	}
}

// actValues sets out to f⁽ⁿ⁾(x) given y. The first two orders are written
// out in T, as the compositions they replace computed them; higher orders
// go through float64.
func actValues[T float](p actDeriv, out, x, y []T) {
	n := p.n
	switch {
	case p.kind == aTanh && n == 1:
		for i, v := range y {
			out[i] = 1 - v*v
		}
	case p.kind == aTanh && n == 2:
		for i, v := range y {
			out[i] = -2 * v * (1 - v*v)
		}
	case p.kind == aSigmoid && n == 1:
		for i, s := range y {
			out[i] = s * (1 - s)
		}
	case p.kind == aSigmoid && n == 2:
		for i, s := range y {
			out[i] = s * (1 - s) * (1 - 2*s)
		}
	case p.kind == aSilu && n == 0:
		for i, s := range y {
			out[i] = x[i] * s
		}
	case p.kind == aSilu && n == 1:
		for i, s := range y {
			out[i] = x[i]*(s*(1-s)) + s
		}
	case p.kind == aSilu && n == 2:
		for i, s := range y {
			u := s * (1 - s)
			out[i] = x[i]*u*(1-2*s) + 2*u
		}
	case p.kind == aSoftplus:
		for i, v := range x {
			out[i] = T(sigmoidDeriv(n-1, sigmoid(float64(v))))
		}
	case p.kind == aElu:
		a := T(p.a)
		for i, v := range x {
			switch {
			case v <= 0:
				out[i] = y[i] + a
			case n == 1:
				out[i] = 1
			default:
				out[i] = 0
			}
		}
	case p.kind == aLeaky && n == 1:
		a := T(p.a)
		for i, v := range x {
			out[i] = 1
			if v <= 0 {
				out[i] = a
			}
		}
	case p.kind == aLeaky:
		clear(out)
	default:
		for i, v := range y {
			out[i] = T(actDerivAt(p.kind, n, float64(x[i]), float64(v)))
		}
	}
}

// actDerivAt is f⁽ⁿ⁾(x) given y for tanh, sigmoid and SiLU.
func actDerivAt(k actKind, n int, x, y float64) float64 {
	switch k {
	case aTanh:
		return tanhDeriv(n, y)
	case aSigmoid:
		return sigmoidDeriv(n, y)
	}
	// SiLU: (x·σ)⁽ⁿ⁾ = x·σ⁽ⁿ⁾ + n·σ⁽ⁿ⁻¹⁾.
	return x*sigmoidDeriv(n, y) + float64(n)*sigmoidDeriv(n-1, y)
}

// sigmoidDeriv returns σ⁽ⁿ⁾ as a function of s = σ(x), in factored forms
// that keep their relative accuracy where σ saturates.
func sigmoidDeriv(n int, s float64) float64 {
	u := s * (1 - s)
	switch n {
	case 0:
		return s
	case 1:
		return u
	case 2:
		return u * (1 - 2*s)
	case 3:
		return u * (1 - 6*u)
	case 4:
		return u * (1 - 2*s) * (1 - 12*u)
	}
	return u * hornerAt(derivPoly([3]float64{0, 1, -1}, n-1), s)
}

// tanhDeriv returns tanh⁽ⁿ⁾ as a function of t = tanh x.
func tanhDeriv(n int, t float64) float64 {
	v := 1 - t*t
	switch n {
	case 0:
		return t
	case 1:
		return v
	case 2:
		return -2 * t * v
	case 3:
		return v * (4 - 6*v)
	case 4:
		return -8 * t * v * (1 - 3*v)
	}
	return v * hornerAt(derivPoly([3]float64{1, 0, -1}, n-1), t)
}

// derivPoly returns the coefficients (lowest first) of the polynomial q
// with f⁽ⁿ⁺¹⁾ = m(f)·q(f) for a function f with f' = m(f), m a quadratic
// given by its coefficients: p₀ = z, p_{k+1} = p_k'·m, and q = p_n'.
func derivPoly(m [3]float64, n int) []float64 {
	p := []float64{0, 1}
	for range n {
		d := polyDeriv(p)
		next := make([]float64, len(d)+2)
		for i, c := range d {
			for j, mc := range m {
				next[i+j] += c * mc
			}
		}
		p = next
	}
	return polyDeriv(p)
}

func polyDeriv(p []float64) []float64 {
	if len(p) < 2 {
		return []float64{0}
	}
	d := make([]float64, len(p)-1)
	for i := 1; i < len(p); i++ {
		d[i-1] = float64(i) * p[i]
	}
	return d
}

func hornerAt(c []float64, z float64) float64 {
	r := 0.0
	for i := len(c) - 1; i >= 0; i-- {
		r = r*z + c[i]
	}
	return r
}

// actGrad returns g ⊙ f'(x) for the activation f with y its output (or, for
// SiLU, σ(x)).
func (t *Tape) actGrad(k actKind, a float64, x, y, g *Node) *Node {
	p := actProd{kind: k, a: a, n: 1}
	return t.apply(p, x, y, t.apply(p.deriv(1), x, y), g)
}

// Silu returns x·σ(x) elementwise; Mul(x, Sigmoid(x)) gives the same node.
func (t *Tape) Silu(x *Node) *Node {
	return t.apply(actProd{kind: aSilu}, x, t.Sigmoid(x))
}

// siluOf returns x·σ(x) as one prim if one of a and b is Sigmoid of the
// other, else nil.
func (t *Tape) siluOf(a, b *Node) *Node {
	for _, xs := range [2][2]*Node{{a, b}, {b, a}} {
		x, s := xs[0], xs[1]
		if e, ok := t.entries[s]; ok && len(e.in) == 1 && e.in[0] == x {
			if u, ok := e.p.(unary); ok && u.kind == uSigmoid {
				return t.apply(actProd{kind: aSilu}, x, s)
			}
		}
	}
	return nil
}

// preluDeriv is ∂^(dx+db) PRelu(a, b) / ∂a^dx ∂b^db in the broadcast shape
// of a and b: the shared factor of preluProd. Orders other than (1,0),
// (0,1) and (1,1) are zero and never made.
type preluDeriv struct {
	noGrad
	dx, db int
}

func (p preluDeriv) String() string { return fmt.Sprintf("DPRelu(%d,%d)", p.dx, p.db) }

func (p preluDeriv) shape(in []tensor.Shape) (tensor.Shape, error) {
	s, err := BroadcastShape(in[0], in[1])
	return tensor.Shape(s), err
}

func (p preluDeriv) do(in []array) (array, error) { return doNew(p, in) }

func (p preluDeriv) doInto(out array, in []array) error {
	a, b := in[0], in[1]
	lb, ok := slopeStride(out, a, b)
	if !ok {
		k := bPReluSlope // (1,0): 1 if a > 0 else b
		switch {
		case p.dx == 0:
			k = bPReluNeg // (0,1): a if a ≤ 0 else 0
		case p.db == 1:
			k = bNonPos // (1,1): 1 if a ≤ 0 else 0
		}
		return binary{k}.doInto(out, in)
	}
	// The common case, without branches on the signs of a: a as large as
	// the output, b as large or a single slope.
	if out.isF32() {
		preluSelect[float32, uint32](p, out.f32, a.f32, b.f32, lb)
	} else {
		preluSelect[float64, uint64](p, out.f64, a.f64, b.f64, lb)
	}
	return nil
}

// slopeStride tells whether PRelu's a is as large as out and its slope b as
// large or a single value, and returns b's stride (1 or 0).
func slopeStride(out, a, b array) (int, bool) {
	la, okA := flatStride(out.len(), a.len(), BroadcastStrides(a.shape, out.shape))
	lb, okB := flatStride(out.len(), b.len(), BroadcastStrides(b.shape, out.shape))
	return lb, okA && okB && la == 1
}

// preluInto computes PRelu(a, b) = a·(1 if a > 0 else b) into out without
// branches on the signs of a, if slopeStride allows; it reports whether it
// did.
func preluInto(out, a, b array) bool {
	lb, ok := slopeStride(out, a, b)
	if !ok {
		return false
	}
	if out.isF32() {
		preluForward[float32, uint32](out.f32, a.f32, b.f32, lb)
	} else {
		preluForward[float64, uint64](out.f64, a.f64, b.f64, lb)
	}
	return true
}

// preluSelect writes p's derivative: where a > 0, 1 for order (1,0) and 0
// for the others; elsewhere b (stride lb) for (1,0), a for (0,1), 1 for
// (1,1).
func preluSelect[T float32 | float64, U uint32 | uint64](p preluDeriv, out, a, b []T, lb int) {
	switch {
	case p.dx == 0:
		selectPos[T, U](out, a, 0, a, 1)
	case p.db == 1:
		selectPos[T, U](out, a, 0, []T{1}, 0)
	default:
		selectPos[T, U](out, a, 1, b, lb)
	}
}

// selectPos sets out[i] to pos where x[i] > 0 and to q[i·lq] (lq is 0 or
// 1) elsewhere, choosing bits with a mask instead of branching on the
// signs, which are random in a network's pre-activations (U is T's bit
// type).
func selectPos[T float32 | float64, U uint32 | uint64](out, x []T, pos T, q []T, lq int) {
	x = x[:len(out)]
	pb := *(*U)(unsafe.Pointer(&pos))
	if lq == 0 {
		qb := *(*U)(unsafe.Pointer(&q[0]))
		for i, v := range x {
			out[i] = pick[T](v, pb, qb)
		}
		return
	}
	q = q[:len(out)]
	for i, v := range x {
		out[i] = pick[T](v, pb, *(*U)(unsafe.Pointer(&q[i])))
	}
}

// pick returns the value of bits pb where v > 0 and of qb elsewhere,
// through a mask rather than a branch.
func pick[T float32 | float64, U uint32 | uint64](v T, pb, qb U) T {
	var m U
	if v <= 0 {
		m = ^U(0)
	}
	rb := pb&^m | qb&m
	return *(*T)(unsafe.Pointer(&rb))
}

// preluForward sets out[i] to a[i]·(1 if a[i] > 0 else q[i·lq]), selecting
// the factor as selectPos does (in one pass for a single slope).
func preluForward[T float32 | float64, U uint32 | uint64](out, a, q []T, lq int) {
	a = a[:len(out)]
	if lq != 0 {
		selectPos[T, U](out, a, 1, q, lq)
		for i, v := range a {
			out[i] *= v
		}
		return
	}
	var one T = 1
	// The SIMD kernel's part, if any: its product a[i]·f has the operands
	// in the other order, the same bits, as f is not NaN where a[i] is.
	start := selectMulSlices(out, a, a, one, q[0])
	ob, qb := *(*U)(unsafe.Pointer(&one)), *(*U)(unsafe.Pointer(&q[0]))
	for i := start; i < len(out); i++ {
		v := a[i]
		var m U
		if v <= 0 {
			m = ^U(0)
		}
		fb := ob&^m | qb&m
		out[i] = v * *(*T)(unsafe.Pointer(&fb))
	}
}

func preluNonzero(dx, db int) bool { return dx <= 1 && db <= 1 }

// preluProd is ∂^(dx+db) PRelu(a, b) / ∂a^dx ∂b^db ⊙ g₁ ⊙ … ⊙ g_k
// (k = dx + db ≥ 1) from the inputs a, b and g₁, …, g_k, which have the
// broadcast shape of a and b; the caller sums it down to a's or b's shape.
// The derivative factor (preluDeriv's values) is selected in the same pass
// as the product, not read from a node: one pass instead of two.
type preluProd struct{ dx, db int }

func (p preluProd) String() string { return fmt.Sprintf("PPRelu(%d,%d)", p.dx, p.db) }

func (p preluProd) shape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in) != p.dx+p.db+2 {
		return nil, fmt.Errorf("%d inputs, want %d", len(in), p.dx+p.db+2)
	}
	s, err := sameShapes(in[2:], -1)
	if err != nil {
		return nil, err
	}
	if ab, err := BroadcastShape(in[0], in[1]); err != nil || !sameShape(ab, s) {
		return nil, fmt.Errorf("inputs of shapes %v and %v do not broadcast to %v", in[0], in[1], s)
	}
	return s, nil
}

// differentiable implements partialDiff.
func (p preluProd) differentiable(i int) bool {
	switch i {
	case 0:
		return preluNonzero(p.dx+1, p.db)
	case 1:
		return preluNonzero(p.dx, p.db+1)
	}
	return true
}

func (p preluProd) vjp(t *Tape, in []*Node, _, h *Node) []*Node {
	res := make([]*Node, len(in))
	a, b, gs := in[0], in[1], in[2:]
	if preluNonzero(p.dx+1, p.db) {
		res[0] = t.SumTo(t.preluProd(p.dx+1, p.db, a, b, append(gs[:len(gs):len(gs)], h)...), a.Shape())
	}
	if preluNonzero(p.dx, p.db+1) {
		res[1] = t.SumTo(t.preluProd(p.dx, p.db+1, a, b, append(gs[:len(gs):len(gs)], h)...), b.Shape())
	}
	vectorGrads(t, p, in, 2, h, res)
	return res
}

func (p preluProd) do(in []array) (array, error) { return doNew(p, in) }

func (p preluProd) doInto(out array, in []array) error {
	a, b, gs := in[0], in[1], in[2:]
	if lb, ok := slopeStride(out, a, b); ok && len(gs) <= 2 {
		if out.isF32() {
			preluProdInto[float32, uint32](p, out.f32, a.f32, b.f32, lb, floatsOf[float32](gs))
		} else {
			preluProdInto[float64, uint64](p, out.f64, a.f64, b.f64, lb, floatsOf[float64](gs))
		}
		return nil
	}
	d := out.like(out.shape)
	if err := (preluDeriv{dx: p.dx, db: p.db}).doInto(d, in[:2]); err != nil {
		return err
	}
	prodArrays(out, append([]array{d}, gs...))
	return nil
}

// preluProdInto sets out to f ⊙ g₁ (⊙ g₂), f the derivative factor
// preluSelect writes, multiplied left to right as prodInto does: the same
// bits as the two passes, in one. gs holds one or two slices.
func preluProdInto[T float32 | float64, U uint32 | uint64](p preluProd, out, a, b []T, lb int, gs [][]T) {
	var one T = 1
	switch {
	case p.dx == 0: // a where a ≤ 0, else 0
		selectProd[T, U](out, a, 0, a, 1, gs)
	case p.db == 1: // 1 where a ≤ 0, else 0
		selectProd[T, U](out, a, 0, []T{one}, 0, gs)
	default: // 1 where a > 0, else the slope
		selectProd[T, U](out, a, one, b, lb, gs)
	}
}

// selectProd sets out[i] to f·g₁[i] (·g₂[i]), f = pos where x[i] > 0 and
// q[i·lq] (lq is 0 or 1) elsewhere, selected with a mask as selectPos
// does; with a single q, or q the slice x itself, float64 and AVX2, four
// at a time by simd.SelectMul or simd.SelectMulX (the same bits).
func selectProd[T float32 | float64, U uint32 | uint64](out, x []T, pos T, q []T, lq int, gs [][]T) {
	x = x[:len(out)]
	pb := *(*U)(unsafe.Pointer(&pos))
	g := gs[0][:len(out)]
	var h []T
	if len(gs) == 2 {
		h = gs[1][:len(out)]
	}
	if lq == 0 {
		start := selectMulSlices(out, x, g, pos, q[0]) // the SIMD kernel's part, if any
		qb := *(*U)(unsafe.Pointer(&q[0]))
		for i := start; i < len(out); i++ {
			out[i] = pick[T](x[i], pb, qb) * g[i]
		}
	} else {
		q = q[:len(out)]
		start := 0
		if len(q) > 0 && &q[0] == &x[0] { // f = x where x ≤ 0: the SIMD kernel's part, if any
			start = selectMulXSlices(out, x, g, pos)
		}
		for i := start; i < len(out); i++ {
			out[i] = pick[T](x[i], pb, *(*U)(unsafe.Pointer(&q[i]))) * g[i]
		}
	}
	if h != nil {
		for i := range out {
			out[i] *= h[i]
		}
	}
}

// selectMulSlices runs simd.SelectMul on float64 slices (the SIMD kernel
// has no float32 form) and returns how many elements it set.
func selectMulSlices[T float32 | float64](out, x, g []T, pos, q T) int {
	if o, ok := any(out).([]float64); ok {
		return simd.SelectMul(o, any(x).([]float64), any(g).([]float64), float64(pos), float64(q))
	}
	return 0
}

// selectMulXSlices runs simd.SelectMulX on float64 slices and returns how
// many elements it set.
func selectMulXSlices[T float32 | float64](out, x, g []T, pos T) int {
	if o, ok := any(out).([]float64); ok {
		return simd.SelectMulX(o, any(x).([]float64), any(g).([]float64), float64(pos))
	}
	return 0
}

// preluProd returns ∂^(dx+db) PRelu(a, b) / ∂a^dx ∂b^db ⊙ g₁ ⊙ … in the
// broadcast shape.
func (t *Tape) preluProd(dx, db int, a, b *Node, gs ...*Node) *Node {
	return t.apply(preluProd{dx: dx, db: db}, append([]*Node{a, b}, gs...)...)
}
