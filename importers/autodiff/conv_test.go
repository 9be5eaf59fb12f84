package autodiff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// The references below loop over every output and window position
// directly, reading geometry fields with their ONNX defaults.

func onesIfNil(v []int, k int) []int {
	if v != nil {
		return v
	}
	out := make([]int, k)
	for i := range out {
		out[i] = 1
	}
	return out
}

func zerosIfNil(v []int, k int) []int {
	if v != nil {
		return v
	}
	return make([]int, k)
}

// allIndices returns every multi-index of shape in row-major order.
func allIndices(shape []int) [][]int {
	out := [][]int{{}}
	for _, d := range shape {
		var next [][]int
		for _, p := range out {
			for i := 0; i < d; i++ {
				next = append(next, append(append([]int(nil), p...), i))
			}
		}
		out = next
	}
	return out
}

// flatIndex returns the row-major offset of idx in shape.
func flatIndex(shape []int, idx ...int) int {
	off := 0
	for d, i := range idx {
		off = off*shape[d] + i
	}
	return off
}

// naiveConv computes ONNX Conv (no bias) by direct summation.
func naiveConv(x []float64, xs []int, w []float64, ws []int, geo ConvGeometry) ([]float64, []int) {
	k := len(xs) - 2
	s, d := onesIfNil(geo.Strides, k), onesIfNil(geo.Dilations, k)
	pb, pe := zerosIfNil(geo.PadsBegin, k), zerosIfNil(geo.PadsEnd, k)
	groups := max(geo.Groups, 1)
	ys := []int{xs[0], ws[0]}
	for i := 0; i < k; i++ {
		ys = append(ys, int(math.Floor(float64(xs[i+2]+pb[i]+pe[i]-d[i]*(ws[i+2]-1)-1)/float64(s[i])))+1)
	}
	cg, mg := xs[1]/groups, ws[0]/groups
	y := make([]float64, Size(ys))
	for n := 0; n < xs[0]; n++ {
		for m := 0; m < ws[0]; m++ {
			gi := m / mg
			for _, o := range allIndices(ys[2:]) {
				var acc float64
				for c := 0; c < cg; c++ {
					for _, q := range allIndices(ws[2:]) {
						pos := make([]int, k)
						in := true
						for i := range pos {
							pos[i] = o[i]*s[i] - pb[i] + q[i]*d[i]
							in = in && pos[i] >= 0 && pos[i] < xs[i+2]
						}
						if in {
							acc += x[flatIndex(xs, append([]int{n, gi*cg + c}, pos...)...)] * w[flatIndex(ws, append([]int{m, c}, q...)...)]
						}
					}
				}
				y[flatIndex(ys, append([]int{n, m}, o...)...)] = acc
			}
		}
	}
	return y, ys
}

// naiveConvTranspose computes ONNX ConvTranspose (no bias) by scattering
// every input element through the kernel.
func naiveConvTranspose(x []float64, xs []int, w []float64, ws []int, geo ConvGeometry, outPad []int) ([]float64, []int) {
	k := len(xs) - 2
	s, d := onesIfNil(geo.Strides, k), onesIfNil(geo.Dilations, k)
	pb, pe := zerosIfNil(geo.PadsBegin, k), zerosIfNil(geo.PadsEnd, k)
	op := zerosIfNil(outPad, k)
	groups := max(geo.Groups, 1)
	cg, mg := xs[1]/groups, ws[1]
	ys := []int{xs[0], mg * groups}
	for i := 0; i < k; i++ {
		ys = append(ys, s[i]*(xs[i+2]-1)+op[i]+(ws[i+2]-1)*d[i]+1-pb[i]-pe[i])
	}
	y := make([]float64, Size(ys))
	for n := 0; n < xs[0]; n++ {
		for c := 0; c < xs[1]; c++ {
			gi := c / cg
			for _, i := range allIndices(xs[2:]) {
				v := x[flatIndex(xs, append([]int{n, c}, i...)...)]
				for m := 0; m < mg; m++ {
					for _, q := range allIndices(ws[2:]) {
						pos := make([]int, k)
						in := true
						for a := range pos {
							pos[a] = i[a]*s[a] - pb[a] + q[a]*d[a]
							in = in && pos[a] >= 0 && pos[a] < ys[a+2]
						}
						if in {
							y[flatIndex(ys, append([]int{n, gi*mg + m}, pos...)...)] += v * w[flatIndex(ws, append([]int{c, m}, q...)...)]
						}
					}
				}
			}
		}
	}
	return y, ys
}

func randFloats(r *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = r.NormFloat64()
	}
	return out
}

// convDense returns data in shape as a tensor of element type dt.
func convDense(dt Dtype, data []float64, shape []int) Tensor {
	if dt == Float32 {
		f := make([]float32, len(data))
		for i, v := range data {
			f[i] = float32(v)
		}
		return NewTensor(shape, f)
	}
	return NewTensor(shape, append([]float64(nil), data...))
}

// runTapeOp builds f on a tape of element type dt over variables holding
// data, runs it, and returns the output's shape and values as float64.
func runTapeOp(tb testing.TB, dt Dtype, data [][]float64, shapes [][]int, f func(t *Tape, in []*Node) *Node) ([]int, []float64) {
	tb.Helper()
	tp := NewTape(dt)
	in := make([]*Node, len(data))
	for i := range data {
		in[i] = tp.Variable(fmt.Sprintf("in%d", i), convDense(dt, data[i], shapes[i]))
	}
	y := f(tp, in)
	if err := tp.Err(); err != nil {
		tb.Fatalf("build: %v", err)
	}
	m := NewMachine(tp)
	defer m.Close()
	if err := m.Run(); err != nil {
		tb.Fatalf("run: %v", err)
	}
	out, err := CopyOut(nil, y)
	if err != nil {
		tb.Fatal(err)
	}
	return y.Shape().Clone(), out
}

func compareFloats(tb testing.TB, what string, gotShape, wantShape []int, got, want []float64, tol float64) {
	tb.Helper()
	if !sameShape(gotShape, wantShape) {
		tb.Fatalf("%s: shape %v, want %v", what, gotShape, wantShape)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			tb.Fatalf("%s: element %d is %.9g, want %.9g", what, i, got[i], want[i])
		}
	}
}

// withColBudget runs f with the im2col budget set to b elements (0 keeps
// the default), so that the batch is split into chunks of every size,
// twice: on one goroutine (f("serial")) and with the batch shared by three
// goroutines whatever its size (f("parallel")).
func withColBudget(b int, f func(mode string)) {
	old, oldWork := convColBudget, convParallelWork
	if b > 0 {
		convColBudget = b
	}
	defer func() { convColBudget, convParallelWork = old, oldWork }()
	convParallelWork = math.MaxInt
	f("serial")
	convParallelWork = 0
	procs := runtime.GOMAXPROCS(3)
	defer runtime.GOMAXPROCS(procs)
	f("parallel")
}

var convCases = []struct {
	name string
	x, w []int
	geo  ConvGeometry
}{
	{name: "1d", x: []int{3, 3, 7}, w: []int{4, 3, 3}},
	{name: "1d-stride-dilation-pads", x: []int{3, 2, 9}, w: []int{3, 2, 3}, geo: ConvGeometry{Strides: []int{2}, Dilations: []int{2}, PadsBegin: []int{1}, PadsEnd: []int{2}}},
	{name: "2d", x: []int{3, 3, 6, 5}, w: []int{4, 3, 3, 2}},
	{name: "2d-stride-asymmetric-pads", x: []int{3, 2, 7, 6}, w: []int{3, 2, 3, 3}, geo: ConvGeometry{Strides: []int{2, 1}, PadsBegin: []int{1, 0}, PadsEnd: []int{2, 1}}},
	{name: "2d-dilation", x: []int{3, 2, 8, 7}, w: []int{2, 2, 3, 2}, geo: ConvGeometry{Dilations: []int{2, 3}, PadsBegin: []int{2, 1}, PadsEnd: []int{0, 2}}},
	{name: "2d-groups", x: []int{3, 4, 5, 5}, w: []int{6, 2, 3, 3}, geo: ConvGeometry{Groups: 2, PadsBegin: []int{1, 1}, PadsEnd: []int{1, 1}}},
	{name: "2d-depthwise-multiplier", x: []int{3, 3, 6, 6}, w: []int{6, 1, 3, 3}, geo: ConvGeometry{Groups: 3, Strides: []int{2, 2}, PadsBegin: []int{1, 1}, PadsEnd: []int{1, 1}}},
	{name: "2d-pointwise", x: []int{3, 4, 3, 3}, w: []int{5, 4, 1, 1}},
	{name: "2d-stride-past-end", x: []int{3, 2, 6, 6}, w: []int{2, 2, 2, 2}, geo: ConvGeometry{Strides: []int{3, 4}}},
	{name: "3d", x: []int{3, 2, 4, 5, 4}, w: []int{3, 2, 2, 3, 2}, geo: ConvGeometry{Strides: []int{1, 2, 1}, PadsBegin: []int{1, 0, 1}, PadsEnd: []int{0, 1, 1}}},
	{name: "3d-groups-dilation", x: []int{3, 4, 5, 4, 4}, w: []int{2, 2, 2, 2, 2}, geo: ConvGeometry{Groups: 2, Dilations: []int{2, 1, 3}, PadsEnd: []int{1, 0, 1}}},
}

func TestConvForward(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range convCases {
		x, w := randFloats(r, Size(c.x)), randFloats(r, Size(c.w))
		want, ws := naiveConv(x, c.x, w, c.w, c.geo)
		per := Size(c.w[1:]) * Size(ws[2:])
		// Budgets: the default (one chunk), one example per chunk (the
		// direct path), and two per chunk (a remainder of one).
		for _, b := range []int{0, 1, 2 * per} {
			for _, dt := range []Dtype{Float64, Float32} {
				name := fmt.Sprintf("%s/budget=%d/%v", c.name, b, dt)
				tol := 1e-12
				if dt == Float32 {
					tol = 1e-4
				}
				withColBudget(b, func(mode string) {
					gs, got := runTapeOp(t, dt, [][]float64{x, w}, [][]int{c.x, c.w}, func(tp *Tape, in []*Node) *Node {
						return tp.Conv(in[0], in[1], c.geo)
					})
					compareFloats(t, name+"/"+mode, gs, ws, got, want, tol)
				})
			}
		}
	}
}

var convTransposeCases = []struct {
	name   string
	x, w   []int
	geo    ConvGeometry
	outPad []int
}{
	{name: "1d-output-padding", x: []int{2, 2, 5}, w: []int{2, 3, 3}, geo: ConvGeometry{Strides: []int{3}, PadsEnd: []int{1}}, outPad: []int{2}},
	{name: "2d-dcgan", x: []int{2, 3, 3, 3}, w: []int{3, 2, 4, 4}, geo: ConvGeometry{Strides: []int{2, 2}, PadsBegin: []int{1, 1}, PadsEnd: []int{1, 1}}},
	{name: "2d-output-padding", x: []int{2, 2, 3, 4}, w: []int{2, 3, 3, 3}, geo: ConvGeometry{Strides: []int{2, 3}, PadsBegin: []int{1, 0}, PadsEnd: []int{1, 2}}, outPad: []int{1, 2}},
	{name: "2d-groups-dilation", x: []int{2, 4, 3, 3}, w: []int{4, 1, 3, 2}, geo: ConvGeometry{Groups: 2, Dilations: []int{2, 2}, PadsBegin: []int{1, 0}}},
	{name: "2d-output-padding-past-stride", x: []int{1, 2, 3, 3}, w: []int{2, 2, 3, 3}, geo: ConvGeometry{Dilations: []int{3, 1}, Strides: []int{1, 2}}, outPad: []int{2, 1}},
	{name: "3d", x: []int{2, 2, 2, 3, 2}, w: []int{2, 2, 2, 2, 3}, geo: ConvGeometry{Strides: []int{2, 1, 2}, PadsBegin: []int{0, 1, 1}}, outPad: []int{1, 0, 1}},
}

func TestConvTransposeForward(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range convTransposeCases {
		x, w := randFloats(r, Size(c.x)), randFloats(r, Size(c.w))
		want, ys := naiveConvTranspose(x, c.x, w, c.w, c.geo, c.outPad)
		// ConvTranspose is Conv's adjoint: its im2col matrix has a
		// column per input position of x.
		per := Size(c.w[1:]) * Size(c.x[2:])
		for _, b := range []int{0, 1, 2 * per} {
			for _, dt := range []Dtype{Float64, Float32} {
				tol := 1e-12
				if dt == Float32 {
					tol = 1e-4
				}
				withColBudget(b, func(mode string) {
					gs, got := runTapeOp(t, dt, [][]float64{x, w}, [][]int{c.x, c.w}, func(tp *Tape, in []*Node) *Node {
						return tp.ConvTranspose(in[0], in[1], c.geo, ys[2:])
					})
					compareFloats(t, fmt.Sprintf("%s/budget=%d/%v/%s", c.name, b, dt, mode), gs, ys, got, want, tol)
				})
			}
		}
	}
}

func TestConvErrors(t *testing.T) {
	cases := []struct {
		name string
		x, w []int
		geo  ConvGeometry
	}{
		{name: "rank", x: []int{2, 3}, w: []int{4, 3}},
		{name: "channels", x: []int{1, 3, 5, 5}, w: []int{4, 2, 3, 3}},
		{name: "groups", x: []int{1, 3, 5, 5}, w: []int{4, 1, 3, 3}, geo: ConvGeometry{Groups: 3}},
		{name: "kernel-too-big", x: []int{1, 1, 2, 5}, w: []int{1, 1, 3, 3}},
		{name: "strides-length", x: []int{1, 1, 5, 5}, w: []int{1, 1, 3, 3}, geo: ConvGeometry{Strides: []int{1}}},
		{name: "zero-stride", x: []int{1, 1, 5, 5}, w: []int{1, 1, 3, 3}, geo: ConvGeometry{Strides: []int{1, 0}}},
		{name: "negative-pad", x: []int{1, 1, 5, 5}, w: []int{1, 1, 3, 3}, geo: ConvGeometry{PadsEnd: []int{0, -1}}},
	}
	for _, c := range cases {
		tp := NewTape(Float64)
		x := tp.Input("x", c.x...)
		w := tp.Input("w", c.w...)
		if y := tp.Conv(x, w, c.geo); y != nil || tp.Err() == nil {
			t.Errorf("%s: Conv(%v, %v, %+v) succeeded", c.name, c.x, c.w, c.geo)
		}
	}
}

func TestConvDtypeMismatch(t *testing.T) {
	tp := NewTape(Float64)
	x := tp.Input("x", 1, 1, 4)
	w := tp.Variable("w", NewTensor([]int{1, 1, 2}, []float32{1, 2}))
	if y := tp.Conv(x, w, ConvGeometry{}); y != nil || tp.Err() == nil {
		t.Error("Conv of a float64 input with a float32 weight succeeded")
	}
}

func ExampleTape_Conv() {
	tp := NewTape(Float64)
	x := tp.Variable("x", NewTensor([]int{1, 1, 5}, []float64{1, 2, 4, 8, 16}))
	w := tp.Variable("w", NewTensor([]int{1, 1, 2}, []float64{-1, 1}))
	// Differences of neighbours at stride 2; the last window reads padding.
	y := tp.Conv(x, w, ConvGeometry{Strides: []int{2}, PadsEnd: []int{1}})
	// ∂(Σy)/∂x: each x gets the kernel weights of the windows reading it.
	gx := tp.InputGradient(tp.Sum(y), x)
	if err := tp.Err(); err != nil {
		fmt.Println(err)
		return
	}
	m := NewMachine(tp)
	defer m.Close()
	if err := m.Run(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y.Shape(), y.Float64s())
	fmt.Println(gx.Float64s())
	// Output:
	// (1, 1, 3) [1 4 -16]
	// [-1 1 -1 1 -1]
}

// arrayDot returns ⟨a, b⟩ of two equally long arrays.
func arrayDot(a, b array) float64 {
	var s float64
	for i := 0; i < a.len(); i++ {
		s += a.at(i) * b.at(i)
	}
	return s
}

func randF64Array(r *rand.Rand, shape []int) array {
	a := newArray(Float64.tensor(), shape)
	copy(a.f64, randFloats(r, len(a.f64)))
	return a
}

// TestConvAdjoint checks that the three kernels are one bilinear form:
// ⟨Conv(x, w), y⟩ = ⟨x, AdjX(y, w)⟩ = ⟨w, AdjW(x, y)⟩.
func TestConvAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range convCases {
		geo, err := c.geo.normalize(len(c.x) - 2)
		if err != nil {
			t.Fatal(err)
		}
		x, w := randF64Array(r, c.x), randF64Array(r, c.w)
		ys, err := geo.outShape(c.x, c.w)
		if err != nil {
			t.Fatal(err)
		}
		y := randF64Array(r, ys)
		per := Size(c.w[1:]) * Size(ys[2:])
		for _, budget := range []int{0, 1, 2 * per} {
			withColBudget(budget, func(mode string) {
				fwd, err := convFwd{geo: geo}.do([]array{x, w})
				if err != nil {
					t.Fatal(err)
				}
				ax, err := convAdjX{geo: geo, in: c.x[2:]}.do([]array{y, w})
				if err != nil {
					t.Fatal(err)
				}
				aw, err := convAdjW{geo: geo, ker: c.w[2:]}.do([]array{x, y})
				if err != nil {
					t.Fatal(err)
				}
				b := arrayDot(fwd, y)
				if bx, bw := arrayDot(x, ax), arrayDot(w, aw); math.Abs(bx-b) > 1e-9*(1+math.Abs(b)) || math.Abs(bw-b) > 1e-9*(1+math.Abs(b)) {
					t.Errorf("%s (budget %d, %s): ⟨Conv(x,w),y⟩ = %.12g, ⟨x,AdjX(y,w)⟩ = %.12g, ⟨w,AdjW(x,y)⟩ = %.12g", c.name, budget, mode, b, bx, bw)
				}
			})
		}
	}
}

func TestConvGradients(t *testing.T) {
	pool := PoolGeometry{Kernel: []int{2, 2}, PadsEnd: []int{1, 0}}
	cases := []fdCase{
		{name: "conv-energy", x: []int{2, 2, 5, 5}, params: [][]int{{3, 2, 3, 3}, {1, 3, 1, 1}, {1, 3, 2, 2}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			h := t.Tanh(t.Add(t.Conv(x, ps[0], ConvGeometry{PadsBegin: []int{1, 0}, PadsEnd: []int{0, 1}}), ps[1]))
			h = t.MaxPool(h, pool)
			return t.Conv(h, ps[2], ConvGeometry{Strides: []int{2, 1}})
		}},
		{name: "generator", x: []int{2, 3, 2, 2}, params: [][]int{{3, 2, 4, 4}, {2, 1, 3, 3}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			s2 := ConvGeometry{Strides: []int{2, 2}, PadsBegin: []int{1, 1}, PadsEnd: []int{1, 1}}
			h := t.Tanh(t.ConvTranspose(x, ps[0], s2, []int{4, 4}))
			return t.Tanh(t.ConvTranspose(h, ps[1], s2, []int{8, 8}))
		}},
		{name: "grouped-dilated-1d", x: []int{2, 4, 7}, params: [][]int{{4, 2, 3}, {2, 2, 2}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			h := t.Tanh(t.Conv(x, ps[0], ConvGeometry{Groups: 2, Dilations: []int{2}, PadsBegin: []int{2}, PadsEnd: []int{1}}))
			h = t.AvgPool(h, PoolGeometry{Kernel: []int{2}, Strides: []int{2}, CeilMode: true}, false)
			return t.Square(t.Conv(h, ps[1], ConvGeometry{Groups: 2}))
		}},
		{name: "depthwise-3d-avgpool", x: []int{1, 2, 3, 4, 3}, params: [][]int{{4, 1, 2, 2, 2}, {1, 4, 2, 1, 1}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			h := t.Tanh(t.Conv(x, ps[0], ConvGeometry{Groups: 2, Strides: []int{1, 2, 1}, PadsBegin: []int{1, 1, 0}, PadsEnd: []int{0, 1, 1}}))
			h = t.AvgPool(h, PoolGeometry{Kernel: []int{2, 2, 2}, PadsBegin: []int{1, 0, 1}, PadsEnd: []int{0, 1, 0}}, true)
			return t.Conv(t.Tanh(h), ps[1], ConvGeometry{})
		}},
		{name: "conv-transpose-then-conv", x: []int{2, 2, 3}, params: [][]int{{2, 3, 3}, {1, 3, 2}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			h := t.Tanh(t.ConvTranspose(x, ps[0], ConvGeometry{Strides: []int{2}, PadsBegin: []int{1}}, []int{6}))
			h = t.MaxPool(h, PoolGeometry{Kernel: []int{3}, Dilations: []int{2}, PadsBegin: []int{1}, PadsEnd: []int{2}, CeilMode: true})
			return t.Mul(h, t.Conv(h, ps[1], ConvGeometry{PadsBegin: []int{1}}))
		}},
		// With the kernel as the input, ∂y/∂x is an AdjW, so the
		// parameter gradients exercise AdjW's own vector–Jacobian product.
		{name: "kernel-as-input", x: []int{3, 2, 2, 3}, params: [][]int{{2, 2, 5, 4}, {1, 3, 2, 2}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			h := t.Tanh(t.Conv(ps[0], x, ConvGeometry{Strides: []int{1, 2}, PadsBegin: []int{1, 0}, PadsEnd: []int{0, 1}}))
			return t.Conv(h, ps[1], ConvGeometry{})
		}},
		{name: "transposed-kernel-as-input", x: []int{2, 3, 3}, params: [][]int{{2, 2, 3}, {1, 3, 2}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			h := t.Tanh(t.ConvTranspose(ps[0], x, ConvGeometry{Strides: []int{2}, PadsBegin: []int{1}}, []int{6}))
			return t.Square(t.Conv(h, ps[1], ConvGeometry{}))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkCase(t, c) })
		// The same with every convolution's batch shared by goroutines.
		t.Run(c.name+"/parallel", func(t *testing.T) {
			withColBudget(0, func(mode string) {
				if mode == "parallel" {
					checkCase(t, c)
				}
			})
		})
	}
}

func BenchmarkConv2d(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	xs, ws := []int{64, 32, 8, 8}, []int{64, 32, 3, 3}
	geo := ConvGeometry{PadsBegin: []int{1, 1}, PadsEnd: []int{1, 1}}
	for _, dt := range []Dtype{Float64, Float32} {
		tp := NewTape(dt)
		x := tp.Variable("x", convDense(dt, randFloats(r, Size(xs)), xs))
		w := tp.Variable("w", convDense(dt, randFloats(r, Size(ws)), ws))
		y := tp.Conv(x, w, geo)
		fwd := NewMachine(tp)
		b.Run("forward/"+dt.String(), func(b *testing.B) {
			for b.Loop() {
				if err := fwd.Run(); err != nil {
					b.Fatal(err)
				}
				fwd.Reset()
			}
		})
		fwd.Close()
		seed := tp.Full(1, y.Shape()...)
		gs := tp.VJP([]*Node{y}, []*Node{seed}, []*Node{x, w})
		if tp.Err() != nil || gs[0] == nil || gs[1] == nil {
			b.Fatal(tp.Err())
		}
		full := NewMachine(tp)
		b.Run("forward+vjp/"+dt.String(), func(b *testing.B) {
			for b.Loop() {
				if err := full.Run(); err != nil {
					b.Fatal(err)
				}
				full.Reset()
			}
		})
		full.Close()
	}
}

// TestConvLanesDeterministic checks that a large convolution's weight
// gradient, summed from one buffer per lane, is the same bit for bit on
// one goroutine and on three: a run resumed on a machine with another
// number of CPUs continues exactly.
func TestConvLanesDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	xs, wsh := []int{9, 2, 6, 6}, []int{3, 2, 3, 3}
	x, w := randFloats(r, Size(xs)), randFloats(r, Size(wsh))
	oldWork, oldBudget := convParallelWork, convColBudget
	defer func() { convParallelWork, convColBudget = oldWork, oldBudget }()
	convParallelWork, convColBudget = 0, 2*2*9*16 // lanes, and two examples a chunk
	grad := func(procs int) []float64 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		_, g := runTapeOp(t, Float64, [][]float64{x, w}, [][]int{xs, wsh}, func(tp *Tape, in []*Node) *Node {
			y := tp.Conv(in[0], in[1], ConvGeometry{})
			return tp.VJP([]*Node{y}, []*Node{tp.Full(1, y.Shape()...)}, []*Node{in[1]})[0]
		})
		return g
	}
	one, three := grad(1), grad(3)
	for i := range one {
		if math.Float64bits(one[i]) != math.Float64bits(three[i]) {
			t.Fatalf("weight gradient element %d: %v on one goroutine, %v on three", i, one[i], three[i])
		}
	}
}
