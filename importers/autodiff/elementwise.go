package autodiff

import (
	"fmt"
	"math"
	"slices"

	"gorgonia.org/tensor"
)

// unaryKind names an elementwise function of one tensor.
type unaryKind int

const (
	uNeg      unaryKind = iota
	uExp                // e^x
	uLog                // ln x
	uSqrt               // √x
	uTanh               // tanh x
	uSigmoid            // 1/(1+e^-x)
	uSoftplus           // ln(1+e^x)
	uLeaky              // x if x > 0 else a·x
	uElu                // x if x > 0 else a·(e^x − 1)
	uPow                // x^a
	uAffine             // a·x + b
	uClip               // min(max(x, a), b)
)

var unaryNames = [...]string{"Neg", "Exp", "Log", "Sqrt", "Tanh", "Sigmoid", "Softplus", "Leaky", "Elu", "Pow", "Affine", "Clip"}

// unary is an elementwise function with up to two scalar parameters.
type unary struct {
	kind unaryKind
	a, b float64
}

func (p unary) String() string {
	return fmt.Sprintf("%s(%g,%g)", unaryNames[p.kind], p.a, p.b)
}

func (p unary) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }

func (p unary) do(in []array) (array, error) { return doNew(p, in) }

func (p unary) doInto(out array, in []array) error {
	if in[0].isF32() {
		unaryLoop(p, floats[float32](out), floats[float32](in[0]))
	} else {
		unaryLoop(p, floats[float64](out), floats[float64](in[0]))
	}
	return nil
}

func unaryLoop[T float](p unary, y, x []T) {
	a, b := p.a, p.b
	switch p.kind {
	case uNeg:
		for i, v := range x {
			y[i] = -v
		}
	case uExp:
		for i, v := range x {
			y[i] = T(math.Exp(float64(v)))
		}
	case uLog:
		for i, v := range x {
			y[i] = T(math.Log(float64(v)))
		}
	case uSqrt:
		for i, v := range x {
			y[i] = T(math.Sqrt(float64(v)))
		}
	case uTanh:
		for i, v := range x {
			y[i] = T(math.Tanh(float64(v)))
		}
	case uSigmoid:
		for i, v := range x {
			y[i] = T(sigmoid(float64(v)))
		}
	case uSoftplus:
		for i, v := range x {
			f := float64(v)
			// max(x, 0) + log1p(e^-|x|) never overflows.
			y[i] = T(math.Max(f, 0) + math.Log1p(math.Exp(-math.Abs(f))))
		}
	case uLeaky:
		s := T(a)
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = s * v
			}
		}
	case uElu:
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = T(a * math.Expm1(float64(v)))
			}
		}
	case uPow:
		switch a {
		case 2:
			for i, v := range x {
				y[i] = v * v
			}
		case -1:
			for i, v := range x {
				y[i] = 1 / v
			}
		default:
			for i, v := range x {
				y[i] = T(math.Pow(float64(v), a))
			}
		}
	case uAffine:
		sa, sb := T(a), T(b)
		for i, v := range x {
			y[i] = sa*v + sb
		}
	case uClip:
		lo, hi := T(a), T(b)
		for i, v := range x {
			y[i] = min(max(v, lo), hi)
		}
	}
}

// sigmoid is 1/(1+e^−x) for x ≥ 0 and e^x/(1+e^x) below, so that e^−|x|
// never overflows. The numerator is selected by x's sign bit rather than a
// branch on the random signs of pre-activations (−0 takes the second
// form, which gives the same ½).
func sigmoid(x float64) float64 {
	e := math.Exp(-math.Abs(x))
	m := -(math.Float64bits(x) >> 63)
	num := math.Float64frombits(math.Float64bits(1)&^m | math.Float64bits(e)&m)
	return num / (1 + e)
}

func (p unary) vjp(t *Tape, in []*Node, y, g *Node) []*Node {
	x := in[0]
	var d *Node
	switch p.kind {
	case uNeg:
		return []*Node{t.Neg(g)}
	case uExp:
		d = y
	case uLog:
		return []*Node{t.Div(g, x)}
	case uSqrt:
		return []*Node{t.Div(t.Scale(g, 0.5), y)}
	case uTanh:
		return []*Node{t.actGrad(aTanh, 0, x, y, g)}
	case uSigmoid:
		return []*Node{t.actGrad(aSigmoid, 0, x, y, g)}
	case uSoftplus:
		return []*Node{t.actGrad(aSoftplus, 0, x, y, g)}
	case uLeaky:
		return []*Node{t.actGrad(aLeaky, p.a, x, y, g)}
	case uElu:
		return []*Node{t.actGrad(aElu, p.a, x, y, g)}
	case uPow:
		switch p.a {
		case 0:
			return nil
		case 1:
			return []*Node{g}
		case 2:
			d = t.Scale(x, 2)
		default:
			d = t.Scale(t.Pow(x, p.a-1), p.a)
		}
	case uAffine:
		return []*Node{t.Scale(g, p.a)}
	case uClip:
		d = t.apply(mask{kind: mBetween, a: p.a, b: p.b}, x)
	}
	return []*Node{t.Mul(g, d)}
}

// maskKind names a piecewise-constant elementwise function (no gradient).
type maskKind int

const (
	mPositive maskKind = iota // a if x > 0 else b
	mBetween                  // 1 if a ≤ x ≤ b else 0
)

type mask struct {
	noGrad
	kind maskKind
	a, b float64
}

func (p mask) String() string                                { return fmt.Sprintf("Mask%d(%g,%g)", p.kind, p.a, p.b) }
func (p mask) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }

func (p mask) do(in []array) (array, error) { return doNew(p, in) }

func (p mask) doInto(out array, in []array) error {
	x := in[0]
	for i := 0; i < x.len(); i++ {
		v := x.at(i)
		var r float64
		switch p.kind {
		case mPositive:
			r = p.b
			if v > 0 {
				r = p.a
			}
		case mBetween:
			if v >= p.a && v <= p.b {
				r = 1
			}
		}
		out.set(i, r)
	}
	return nil
}

// Neg returns −x.
func (t *Tape) Neg(x *Node) *Node { return t.apply(unary{kind: uNeg}, x) }

// Exp returns e^x elementwise.
func (t *Tape) Exp(x *Node) *Node { return t.apply(unary{kind: uExp}, x) }

// Log returns ln x elementwise.
func (t *Tape) Log(x *Node) *Node { return t.apply(unary{kind: uLog}, x) }

// Sqrt returns √x elementwise.
func (t *Tape) Sqrt(x *Node) *Node { return t.apply(unary{kind: uSqrt}, x) }

// Tanh returns tanh x elementwise.
func (t *Tape) Tanh(x *Node) *Node { return t.apply(unary{kind: uTanh}, x) }

// Sigmoid returns 1/(1+e^−x) elementwise.
func (t *Tape) Sigmoid(x *Node) *Node { return t.apply(unary{kind: uSigmoid}, x) }

// Softplus returns ln(1+e^x) elementwise.
func (t *Tape) Softplus(x *Node) *Node { return t.apply(unary{kind: uSoftplus}, x) }

// Relu returns max(x, 0) elementwise.
func (t *Tape) Relu(x *Node) *Node { return t.LeakyRelu(x, 0) }

// LeakyRelu returns x where x > 0 and alpha·x elsewhere.
func (t *Tape) LeakyRelu(x *Node, alpha float64) *Node {
	return t.apply(unary{kind: uLeaky, a: alpha}, x)
}

// Abs returns |x| elementwise.
func (t *Tape) Abs(x *Node) *Node { return t.LeakyRelu(x, -1) }

// Elu returns x where x > 0 and alpha·(e^x − 1) elsewhere.
func (t *Tape) Elu(x *Node, alpha float64) *Node {
	return t.apply(unary{kind: uElu, a: alpha}, x)
}

// Pow returns x^c elementwise for a constant exponent c.
func (t *Tape) Pow(x *Node, c float64) *Node {
	if c == 1 {
		return x
	}
	return t.apply(unary{kind: uPow, a: c}, x)
}

// Square returns x² elementwise.
func (t *Tape) Square(x *Node) *Node { return t.Pow(x, 2) }

// Affine returns a·x + b elementwise for constants a and b.
func (t *Tape) Affine(x *Node, a, b float64) *Node {
	if a == 1 && b == 0 {
		return x
	}
	return t.apply(unary{kind: uAffine, a: a, b: b}, x)
}

// Scale returns a·x.
func (t *Tape) Scale(x *Node, a float64) *Node { return t.Affine(x, a, 0) }

// Clip returns min(max(x, lo), hi) elementwise.
func (t *Tape) Clip(x *Node, lo, hi float64) *Node {
	return t.apply(unary{kind: uClip, a: lo, b: hi}, x)
}

// binaryKind names an elementwise function of two broadcast tensors.
type binaryKind int

const (
	bAdd binaryKind = iota
	bSub
	bMul
	bDiv
	bPow
	bGreater    // mask: 1 where a > b else 0 (no gradient)
	bPRelu      // a if a > 0 else b·a
	bPReluSlope // 1 if a > 0 else b: ∂PRelu/∂a
	bPReluNeg   // a if a ≤ 0 else 0: ∂PRelu/∂b (kernel of preluDeriv only)
	bNonPos     // 1 if a ≤ 0 else 0: ∂²PRelu/∂a∂b (kernel of preluDeriv only)
)

var binaryNames = [...]string{"Add", "Sub", "Mul", "Div", "PowT", "Greater", "PRelu", "PReluSlope", "PReluNeg", "NonPos"}

// binary is an elementwise function of two tensors with numpy broadcasting.
type binary struct{ kind binaryKind }

func (p binary) String() string { return binaryNames[p.kind] }

func (p binary) shape(in []tensor.Shape) (tensor.Shape, error) {
	s, err := BroadcastShape(in[0], in[1])
	return tensor.Shape(s), err
}

func (p binary) do(in []array) (array, error) { return doNew(p, in) }

func (p binary) doInto(out array, in []array) error {
	if p.kind == bPRelu && preluInto(out, in[0], in[1]) {
		return nil
	}
	s := out.shape
	sa, sb := BroadcastStrides(in[0].shape, s), BroadcastStrides(in[1].shape, s)
	if out.isF32() {
		binaryLoop(p.kind, floats[float32](out), floats[float32](in[0]), floats[float32](in[1]), s, sa, sb)
	} else {
		binaryLoop(p.kind, floats[float64](out), floats[float64](in[0]), floats[float64](in[1]), s, sa, sb)
	}
	return nil
}

// binaryLoop computes out = a ∘ b over shape with broadcast strides sa, sb.
func binaryLoop[T float](k binaryKind, out, a, b []T, shape, sa, sb []int) {
	r := len(shape)
	if r == 0 {
		binaryInner(k, out, a, b, 1, 0, 0)
		return
	}
	// Inputs that are whole arrays or single values need no odometer:
	// one flat pass, which the compiler can keep free of bounds checks.
	if la, ok := flatStride(len(out), len(a), sa); ok {
		if lb, ok := flatStride(len(out), len(b), sb); ok {
			binaryInner(k, out, a, b, len(out), la, lb)
			return
		}
	}
	n := shape[r-1]
	la, lb := sa[r-1], sb[r-1]
	idx := make([]int, r-1)
	oa, ob := 0, 0
	for o := 0; o < len(out); o += n {
		binaryInner(k, out[o:o+n], a[oa:], b[ob:], n, la, lb)
		// Advance the odometer over the outer axes.
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			oa += sa[d]
			ob += sb[d]
			if idx[d] < shape[d] {
				break
			}
			oa -= sa[d] * shape[d]
			ob -= sb[d] * shape[d]
			idx[d] = 0
		}
	}
}

// flatStride tells whether an input of size values with broadcast strides
// st can be walked flat against an output of n values, and with which
// stride: 1 for an input as large as the output, 0 for a single value.
func flatStride(n, size int, st []int) (int, bool) {
	switch {
	case size == 1:
		return 0, true
	case size == n && slices.Index(st, 0) < 0:
		return 1, true
	}
	return 0, false
}

func binaryInner[T float](k binaryKind, out, a, b []T, n, la, lb int) {
	if la == 1 && lb == 1 {
		binaryDense(k, out[:n], a[:n], b[:n])
		return
	}
	binaryStrided(k, out, a, b, n, la, lb)
}

// binaryStrided computes out[i] = a[i*la] ∘ b[i*lb] for i < n.
func binaryStrided[T float](k binaryKind, out, a, b []T, n, la, lb int) {
	switch k {
	case bAdd:
		for i := 0; i < n; i++ {
			out[i] = a[i*la] + b[i*lb]
		}
	case bSub:
		for i := 0; i < n; i++ {
			out[i] = a[i*la] - b[i*lb]
		}
	case bMul:
		for i := 0; i < n; i++ {
			out[i] = a[i*la] * b[i*lb]
		}
	case bDiv:
		for i := 0; i < n; i++ {
			out[i] = a[i*la] / b[i*lb]
		}
	case bPow:
		for i := 0; i < n; i++ {
			out[i] = T(math.Pow(float64(a[i*la]), float64(b[i*lb])))
		}
	case bGreater:
		for i := 0; i < n; i++ {
			out[i] = 0
			if a[i*la] > b[i*lb] {
				out[i] = 1
			}
		}
	case bPRelu:
		for i := 0; i < n; i++ {
			out[i] = a[i*la]
			if out[i] <= 0 {
				out[i] *= b[i*lb]
			}
		}
	case bPReluSlope:
		for i := 0; i < n; i++ {
			out[i] = 1
			if a[i*la] <= 0 {
				out[i] = b[i*lb]
			}
		}
	case bPReluNeg:
		for i := 0; i < n; i++ {
			out[i] = 0
			if v := a[i*la]; v <= 0 {
				out[i] = v
			}
		}
	case bNonPos:
		for i := 0; i < n; i++ {
			out[i] = 0
			if a[i*la] <= 0 {
				out[i] = 1
			}
		}
	}
}

// binaryDense is binaryInner for inputs as long as the output.
func binaryDense[T float](k binaryKind, out, a, b []T) {
	a, b = a[:len(out)], b[:len(out)]
	switch k {
	case bAdd:
		for i := range out {
			out[i] = a[i] + b[i]
		}
	case bSub:
		for i := range out {
			out[i] = a[i] - b[i]
		}
	case bMul:
		for i := range out {
			out[i] = a[i] * b[i]
		}
	case bDiv:
		for i := range out {
			out[i] = a[i] / b[i]
		}
	default:
		binaryStrided(k, out, a, b, len(out), 1, 1)
	}
}

func (p binary) vjp(t *Tape, in []*Node, y, g *Node) []*Node {
	a, b := in[0], in[1]
	var ga, gb *Node
	switch p.kind {
	case bAdd:
		ga, gb = g, g
	case bSub:
		ga, gb = g, t.Neg(g)
	case bMul:
		ga, gb = t.Mul(g, b), t.Mul(g, a)
	case bDiv:
		ga = t.Div(g, b)
		gb = t.Neg(t.Div(t.Mul(g, y), b))
	case bPow:
		ga = t.Mul(g, t.Mul(b, t.PowT(a, t.Affine(b, 1, -1))))
		gb = t.Mul(g, t.Mul(y, t.Log(a)))
	case bGreater:
		return nil
	case bPRelu:
		ga = t.preluProd(1, 0, a, b, g)
		gb = t.preluProd(0, 1, a, b, g)
	default:
		// The kernel-only kinds are never nodes.
		return nil
	}
	return []*Node{t.SumTo(ga, a.Shape()), t.SumTo(gb, b.Shape())}
}

// The binary operations broadcast their operands as numpy does.

// Add returns a + b.
func (t *Tape) Add(a, b *Node) *Node { return t.apply(binary{bAdd}, a, b) }

// Sub returns a − b.
func (t *Tape) Sub(a, b *Node) *Node { return t.apply(binary{bSub}, a, b) }

// Mul returns a ⊙ b, the elementwise product. x ⊙ σ(x) (SiLU) is one
// prim, as Silu makes it.
func (t *Tape) Mul(a, b *Node) *Node {
	if s := t.siluOf(a, b); s != nil {
		return s
	}
	return t.apply(binary{bMul}, a, b)
}

// Div returns a ⊘ b, the elementwise quotient.
func (t *Tape) Div(a, b *Node) *Node { return t.apply(binary{bDiv}, a, b) }

// PowT returns a^b elementwise for tensors a and b.
func (t *Tape) PowT(a, b *Node) *Node { return t.apply(binary{bPow}, a, b) }

// PRelu returns x where x > 0 and slope·x elsewhere, with slope
// broadcast to x. At x = 0 its derivative in x is taken as slope.
func (t *Tape) PRelu(x, slope *Node) *Node { return t.apply(binary{bPRelu}, x, slope) }

// Greater returns 1 where a > b and 0 elsewhere; it has no gradient.
func (t *Tape) Greater(a, b *Node) *Node { return t.apply(binary{bGreater}, a, b) }

// Max returns the elementwise maximum of a and b (the gradient goes to a
// where a > b, else to b).
func (t *Tape) Max(a, b *Node) *Node {
	m := t.Greater(a, b)
	return t.Add(t.Mul(m, a), t.Mul(t.Affine(m, -1, 1), b))
}

// Min returns the elementwise minimum of a and b.
func (t *Tape) Min(a, b *Node) *Node {
	m := t.Greater(b, a)
	return t.Add(t.Mul(m, a), t.Mul(t.Affine(m, -1, 1), b))
}

// BroadcastShape returns the numpy broadcast of shapes a and b.
func BroadcastShape(a, b []int) (Shape, error) {
	r := max(len(a), len(b))
	out := make(Shape, r)
	for i := 0; i < r; i++ {
		da, db := dimFromEnd(a, r-1-i), dimFromEnd(b, r-1-i)
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// dimFromEnd returns s's dimension k places from the end, or 1 past its rank.
func dimFromEnd(s []int, k int) int {
	if k >= len(s) {
		return 1
	}
	return s[len(s)-1-k]
}

// BroadcastStrides returns the element strides of a tensor of shape in when
// broadcast to shape out: 0 along axes it is broadcast over.
func BroadcastStrides(in, out []int) []int {
	st := make([]int, len(out))
	acc := 1
	for k := 0; k < len(out); k++ {
		d := dimFromEnd(in, k)
		if d != 1 {
			st[len(out)-1-k] = acc
		}
		acc *= d
	}
	return st
}
