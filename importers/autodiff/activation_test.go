package autodiff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// actCase is an activation with its forward value and the auxiliary value
// its derivative prims take.
type actCase struct {
	name string
	p    actDeriv
	f    func(x float64) float64
	aux  func(x float64) float64
}

func actCases() []actCase {
	softplus := func(x float64) float64 { return math.Log1p(math.Exp(x)) }
	elu := func(x float64) float64 {
		if x > 0 {
			return x
		}
		return 0.7 * math.Expm1(x)
	}
	leaky := func(x float64) float64 {
		if x > 0 {
			return x
		}
		return 0.2 * x
	}
	return []actCase{
		{"tanh", actDeriv{kind: aTanh}, math.Tanh, math.Tanh},
		{"sigmoid", actDeriv{kind: aSigmoid}, sigmoid, sigmoid},
		{"softplus", actDeriv{kind: aSoftplus}, softplus, softplus},
		{"elu", actDeriv{kind: aElu, a: 0.7}, elu, elu},
		{"leaky", actDeriv{kind: aLeaky, a: 0.2}, leaky, leaky},
		{"silu", actDeriv{kind: aSilu}, func(x float64) float64 { return x * sigmoid(x) }, sigmoid},
	}
}

// derivAt runs the kernel of p at order n on one point.
func derivAt(c actCase, n int, x float64) float64 {
	if n == 0 {
		return c.f(x)
	}
	p := c.p
	p.n = n
	out := []float64{0}
	actValues(p, out, []float64{x}, []float64{c.aux(x)})
	return out[0]
}

// TestActDerivOrders checks each order of every activation's derivative
// kernel against central differences of the order below.
func TestActDerivOrders(t *testing.T) {
	xs := []float64{-3.1, -0.7, -0.05, 0.4, 1.9}
	for _, c := range actCases() {
		for n := 1; n <= 7; n++ {
			for _, x := range xs {
				const h = 1e-5
				num := (derivAt(c, n-1, x+h) - derivAt(c, n-1, x-h)) / (2 * h)
				got := derivAt(c, n, x)
				if math.Abs(got-num) > 1e-5*(1+math.Abs(num)) {
					t.Errorf("%s: f^(%d)(%g) = %.10g, finite difference %.10g", c.name, n, x, got, num)
				}
				if c.p.nonzero(n) != (got != 0 || num != 0 || c.p.kind == aElu) {
					t.Errorf("%s: order %d nonzero = %v, but f^(%d)(%g) = %g", c.name, n, c.p.nonzero(n), n, x, got)
				}
			}
		}
	}
}

// TestDerivPolyFactored checks the general polynomial rule against the
// factored forms of the low orders.
func TestDerivPolyFactored(t *testing.T) {
	for n := 1; n <= 4; n++ {
		for _, z := range []float64{-0.9, -0.3, 0.2, 0.6, 0.97} {
			s := (z + 1) / 2 // a sigmoid value in (0, 1)
			if got, want := s*(1-s)*hornerAt(derivPoly([3]float64{0, 1, -1}, n-1), s), sigmoidDeriv(n, s); math.Abs(got-want) > 1e-14 {
				t.Errorf("sigmoid order %d at %g: polynomial %g, factored %g", n, s, got, want)
			}
			if got, want := (1-z*z)*hornerAt(derivPoly([3]float64{1, 0, -1}, n-1), z), tanhDeriv(n, z); math.Abs(got-want) > 1e-14 {
				t.Errorf("tanh order %d at %g: polynomial %g, factored %g", n, z, got, want)
			}
		}
	}
}

// TestActivationGradients checks the fused derivative prims to the third
// order through networks: input gradients, and parameter gradients of a
// loss holding input gradients (of input gradients, for "-nested").
func TestActivationGradients(t *testing.T) {
	mlp := func(act func(t *Tape, x *Node, ps []*Node) *Node) func(t *Tape, x *Node, ps []*Node) *Node {
		return func(t *Tape, x *Node, ps []*Node) *Node {
			h := act(t, t.Add(t.MatMul(x, ps[0], false, false), ps[1]), ps)
			h = act(t, t.Add(t.MatMul(h, ps[2], false, true), ps[3]), ps)
			return t.MatMul(h, ps[4], false, false)
		}
	}
	// nested replaces a network's output by its input gradient, so that
	// the checks reach one order higher.
	nested := func(f func(t *Tape, x *Node, ps []*Node) *Node) func(t *Tape, x *Node, ps []*Node) *Node {
		return func(t *Tape, x *Node, ps []*Node) *Node {
			return t.InputGradient(t.Sum(t.Square(f(t, x, ps))), x)
		}
	}
	shapes := [][]int{{2, 5}, {5}, {4, 5}, {1, 4}, {4, 1}, {1}}
	acts := map[string]func(t *Tape, x *Node, ps []*Node) *Node{
		"prelu":    func(t *Tape, x *Node, ps []*Node) *Node { return t.PRelu(x, ps[5]) },
		"leaky":    func(t *Tape, x *Node, _ []*Node) *Node { return t.LeakyRelu(x, 0.2) },
		"silu":     func(t *Tape, x *Node, _ []*Node) *Node { return t.Silu(x) },
		"tanh":     func(t *Tape, x *Node, _ []*Node) *Node { return t.Tanh(x) },
		"sigmoid":  func(t *Tape, x *Node, _ []*Node) *Node { return t.Sigmoid(x) },
		"softplus": func(t *Tape, x *Node, _ []*Node) *Node { return t.Softplus(x) },
		"elu":      func(t *Tape, x *Node, _ []*Node) *Node { return t.Elu(x, 0.7) },
	}
	for name, act := range acts {
		for _, c := range []fdCase{
			{name: name + "-mlp", x: []int{3, 2}, params: shapes, build: mlp(act)},
			{name: name + "-nested", x: []int{3, 2}, params: shapes, build: nested(mlp(act))},
		} {
			t.Run(c.name, func(t *testing.T) { checkCase(t, c) })
		}
	}
}

// TestSiluFused checks that x·σ(x) is one prim whichever way it is
// written, with Silu's value.
func TestSiluFused(t *testing.T) {
	tp := NewTape(Float64)
	x := tp.Variable("x", NewTensor([]int{4}, []float64{-2, -0.5, 0.5, 3}))
	s := tp.Sigmoid(x)
	for i, n := range []*Node{tp.Mul(x, s), tp.Mul(s, x), tp.Silu(x)} {
		if p, ok := tp.entries[n].p.(actProd); !ok || p.kind != aSilu || p.n != 0 {
			t.Errorf("form %d: prim %v, want the fused SiLU", i, tp.entries[n].p)
		}
	}
	y := tp.Mul(x, s)
	m := NewMachine(tp)
	defer m.Close()
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	for i, v := range y.Float64s() {
		xv := x.Float64s()[i]
		if want := xv * sigmoid(xv); v != want {
			t.Errorf("silu(%g) = %g, want %g", xv, v, want)
		}
	}
	if tp.Mul(x, tp.Sigmoid(s)) == nil || fmt.Sprint(tp.entries[tp.Mul(x, tp.Sigmoid(s))].p) != "Mul" {
		t.Error("x·σ(σ(x)) was fused")
	}
}

// TestPreluDerivKernels checks the branch-free kernels of the PRelu and
// leaky derivatives against the branching ones, at signed zeros too.
func TestPreluDerivKernels(t *testing.T) {
	xs := []float64{-2, -0.5, math.Copysign(0, -1), 0, 1e-300, 0.7, 3}
	slopes := map[string][]float64{"scalar": {0.1}, "full": {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7}}
	kinds := map[preluDeriv]binaryKind{{dx: 1}: bPReluSlope, {db: 1}: bPReluNeg, {dx: 1, db: 1}: bNonPos}
	for _, dt := range []Dtype{Float64, Float32} {
		x := FromFloat64s(dt, []int{len(xs)}, xs).a
		for name, sl := range slopes {
			b := FromFloat64s(dt, []int{len(sl)}, sl).a
			for p, k := range kinds {
				got, err := doNew(p, []array{x, b})
				if err != nil {
					t.Fatal(err)
				}
				want, _ := doNew(binary{k}, []array{x, b})
				for i := range xs {
					if g, w := got.at(i), want.at(i); math.Float64bits(g) != math.Float64bits(w) {
						t.Errorf("%v %s %v at %g: %g, branching kernel %g", dt, name, p, xs[i], g, w)
					}
				}
			}
		}
		for name, sl := range slopes {
			b := FromFloat64s(dt, []int{len(sl)}, sl).a
			got, _ := doNew(binary{bPRelu}, []array{x, b})
			for i, v := range xs {
				want := v
				if v <= 0 {
					want = v * sl[i%len(sl)]
				}
				if dt == Float32 {
					want = float64(float32(v))
					if v <= 0 {
						want = float64(float32(v) * float32(sl[i%len(sl)]))
					}
				}
				if g := got.at(i); math.Float64bits(g) != math.Float64bits(want) {
					t.Errorf("%v %s PRelu(%g) = %g, want %g", dt, name, v, g, want)
				}
			}
		}
		got, _ := doNew(actDeriv{kind: aLeaky, a: 0.2, n: 1}, []array{x, x})
		want, _ := doNew(binary{bPReluSlope}, []array{x, FromFloat64s(dt, []int{1}, []float64{0.2}).a})
		for i := range xs {
			if g, w := got.at(i), want.at(i); g != w {
				t.Errorf("%v leaky' at %g: %g, want %g", dt, xs[i], g, w)
			}
		}
	}
}

// TestSigmoidBranchFree checks the branch-free sigmoid bit for bit against
// the two-branch form.
func TestSigmoidBranchFree(t *testing.T) {
	ref := func(x float64) float64 {
		if x >= 0 {
			return 1 / (1 + math.Exp(-x))
		}
		e := math.Exp(x)
		return e / (1 + e)
	}
	xs := []float64{0, math.Copysign(0, -1), 1e-300, -1e-300, 0.3, -0.3, 7.5, -7.5, 40, -40, 800, -800, math.Inf(1), math.Inf(-1)}
	r := rand.New(rand.NewPCG(15, 16))
	for range 1000 {
		xs = append(xs, 10*r.NormFloat64())
	}
	for _, x := range xs {
		if got, want := sigmoid(x), ref(x); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("sigmoid(%g) = %g, two-branch form %g", x, got, want)
		}
	}
}
