package autodiff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naivePoolShape computes the ONNX pooled shape with floating-point
// division and the drop-last-window rule of ceil mode.
func naivePoolShape(xs []int, geo PoolGeometry) []int {
	k := len(xs) - 2
	s, d := onesIfNil(geo.Strides, k), onesIfNil(geo.Dilations, k)
	pb, pe := zerosIfNil(geo.PadsBegin, k), zerosIfNil(geo.PadsEnd, k)
	ys := []int{xs[0], xs[1]}
	for i := 0; i < k; i++ {
		f := float64(xs[i+2]+pb[i]+pe[i]-d[i]*(geo.Kernel[i]-1)-1) / float64(s[i])
		if !geo.CeilMode {
			ys = append(ys, int(math.Floor(f))+1)
			continue
		}
		o := int(math.Ceil(f)) + 1
		if (o-1)*s[i] >= xs[i+2]+pb[i] {
			o--
		}
		ys = append(ys, o)
	}
	return ys
}

// naivePool returns the max pool of x, its argmax counts (the gradient of
// the max pool's sum; ties go to the first in the window), and the average
// pools excluding and including padding.
func naivePool(x []float64, xs []int, geo PoolGeometry) (ys []int, maxY, maxGrad, avgExcl, avgIncl []float64) {
	k := len(xs) - 2
	s, d := onesIfNil(geo.Strides, k), onesIfNil(geo.Dilations, k)
	pb, pe := zerosIfNil(geo.PadsBegin, k), zerosIfNil(geo.PadsEnd, k)
	ys = naivePoolShape(xs, geo)
	n := Size(ys)
	maxY, avgExcl, avgIncl = make([]float64, n), make([]float64, n), make([]float64, n)
	maxGrad = make([]float64, len(x))
	for nc := 0; nc < xs[0]*xs[1]; nc++ {
		for _, o := range allIndices(ys[2:]) {
			best, arg := math.Inf(-1), -1
			var sum float64
			inside, padded := 0, 0
			for _, q := range allIndices(geo.Kernel) {
				in, inPad := true, true
				off := nc
				for a := 0; a < k; a++ {
					p := o[a]*s[a] - pb[a] + q[a]*d[a]
					in = in && p >= 0 && p < xs[a+2]
					inPad = inPad && p >= -pb[a] && p < xs[a+2]+pe[a]
					off = off*xs[a+2] + p
				}
				if inPad {
					padded++
				}
				if !in {
					continue
				}
				inside++
				sum += x[off]
				if x[off] > best {
					best, arg = x[off], off
				}
			}
			i := nc*Size(ys[2:]) + flatIndex(ys[2:], o...)
			if arg >= 0 {
				maxY[i] = best
				maxGrad[arg]++
			}
			if inside > 0 {
				avgExcl[i] = sum / float64(inside)
			}
			if padded > 0 {
				avgIncl[i] = sum / float64(padded)
			}
		}
	}
	return ys, maxY, maxGrad, avgExcl, avgIncl
}

var poolCases = []struct {
	name string
	x    []int
	geo  PoolGeometry
}{
	{name: "1d", x: []int{2, 3, 9}, geo: PoolGeometry{Kernel: []int{3}, Strides: []int{2}}},
	{name: "1d-ceil-pads", x: []int{2, 2, 8}, geo: PoolGeometry{Kernel: []int{3}, Strides: []int{2}, PadsBegin: []int{1}, CeilMode: true}},
	{name: "1d-padding-only-windows", x: []int{1, 2, 3}, geo: PoolGeometry{Kernel: []int{1}, PadsBegin: []int{1}, PadsEnd: []int{2}}},
	{name: "2d-asymmetric-pads", x: []int{2, 2, 6, 7}, geo: PoolGeometry{Kernel: []int{2, 3}, Strides: []int{2, 2}, PadsBegin: []int{1, 0}, PadsEnd: []int{0, 1}}},
	{name: "2d-ceil-dilation", x: []int{1, 2, 7, 6}, geo: PoolGeometry{Kernel: []int{2, 2}, Strides: []int{3, 2}, Dilations: []int{2, 1}, PadsBegin: []int{1, 1}, PadsEnd: []int{1, 0}, CeilMode: true}},
	{name: "2d-ceil-drops-last-window", x: []int{1, 1, 5, 5}, geo: PoolGeometry{Kernel: []int{2, 2}, Strides: []int{2, 2}, PadsBegin: []int{1, 1}, PadsEnd: []int{1, 1}, CeilMode: true}},
	{name: "2d-ceil-past-end-pad", x: []int{2, 1, 6, 6}, geo: PoolGeometry{Kernel: []int{3, 3}, Strides: []int{2, 2}, PadsEnd: []int{1, 0}, CeilMode: true}},
	{name: "2d-global", x: []int{2, 3, 4, 5}, geo: PoolGeometry{Kernel: []int{4, 5}}},
	{name: "3d-ceil", x: []int{1, 2, 4, 5, 3}, geo: PoolGeometry{Kernel: []int{2, 2, 2}, Strides: []int{2, 1, 2}, PadsBegin: []int{0, 1, 1}, PadsEnd: []int{1, 0, 0}, CeilMode: true}},
}

func TestPoolForward(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range poolCases {
		x := randFloats(r, Size(c.x))
		ys, maxY, _, avgExcl, avgIncl := naivePool(x, c.x, c.geo)
		ops := []struct {
			name string
			want []float64
			f    func(t *Tape, x *Node) *Node
		}{
			{"max", maxY, func(t *Tape, x *Node) *Node { return t.MaxPool(x, c.geo) }},
			{"avg-exclude-pad", avgExcl, func(t *Tape, x *Node) *Node { return t.AvgPool(x, c.geo, false) }},
			{"avg-include-pad", avgIncl, func(t *Tape, x *Node) *Node { return t.AvgPool(x, c.geo, true) }},
		}
		for _, op := range ops {
			for _, dt := range []Dtype{Float64, Float32} {
				tol := 1e-12
				if dt == Float32 {
					tol = 1e-5
				}
				gs, got := runTapeOp(t, dt, [][]float64{x}, [][]int{c.x}, func(tp *Tape, in []*Node) *Node { return op.f(tp, in[0]) })
				compareFloats(t, fmt.Sprintf("%s/%s/%v", c.name, op.name, dt), gs, ys, got, op.want, tol)
			}
		}
	}
}

// TestMaxPoolTies checks that the gradient goes to the first largest
// element of each window: the inputs take only three values.
func TestMaxPoolTies(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, c := range poolCases {
		x := make([]float64, Size(c.x))
		for i := range x {
			x[i] = float64(r.IntN(3))
		}
		_, _, want, _, _ := naivePool(x, c.x, c.geo)
		gs, got := runTapeOp(t, Float64, [][]float64{x}, [][]int{c.x}, func(tp *Tape, in []*Node) *Node {
			return tp.InputGradient(tp.Sum(tp.MaxPool(in[0], c.geo)), in[0])
		})
		compareFloats(t, c.name, gs, c.x, got, want, 0)
	}
}

// TestPoolAdjoint checks that poolScatter(x, ·) is the adjoint of
// poolSelect(x, ·) and poolAvgAdj that of poolAvg.
func TestPoolAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, c := range poolCases {
		geo, err := c.geo.normalize(len(c.x) - 2)
		if err != nil {
			t.Fatal(err)
		}
		ys, err := geo.outShape(c.x)
		if err != nil {
			t.Fatal(err)
		}
		x, h, g := randF64Array(r, c.x), randF64Array(r, c.x), randF64Array(r, ys)
		sel, err := poolSelect{geo: geo}.do([]array{x, h})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := poolScatter{geo: geo}.do([]array{x, g})
		if err != nil {
			t.Fatal(err)
		}
		if a, b := arrayDot(sel, g), arrayDot(h, sc); math.Abs(a-b) > 1e-12*(1+math.Abs(a)) {
			t.Errorf("%s: ⟨select(x,h),g⟩ = %.15g, ⟨h,scatter(x,g)⟩ = %.15g", c.name, a, b)
		}
		for _, incl := range []bool{false, true} {
			avg, err := poolAvg{geo: geo, inclPad: incl}.do([]array{x})
			if err != nil {
				t.Fatal(err)
			}
			adj, err := poolAvgAdj{geo: geo, inclPad: incl, in: c.x[2:]}.do([]array{g})
			if err != nil {
				t.Fatal(err)
			}
			if a, b := arrayDot(avg, g), arrayDot(x, adj); math.Abs(a-b) > 1e-12*(1+math.Abs(a)) {
				t.Errorf("%s (include pad %v): ⟨avg(x),g⟩ = %.15g, ⟨x,avgAdj(g)⟩ = %.15g", c.name, incl, a, b)
			}
		}
	}
}

func TestPoolErrors(t *testing.T) {
	cases := []struct {
		name string
		x    []int
		geo  PoolGeometry
	}{
		{name: "rank", x: []int{2, 3}, geo: PoolGeometry{Kernel: []int{2}}},
		{name: "no-kernel", x: []int{1, 1, 4, 4}},
		{name: "kernel-length", x: []int{1, 1, 4, 4}, geo: PoolGeometry{Kernel: []int{2}}},
		{name: "kernel-too-big", x: []int{1, 1, 4, 4}, geo: PoolGeometry{Kernel: []int{2, 5}}},
		{name: "zero-stride", x: []int{1, 1, 4, 4}, geo: PoolGeometry{Kernel: []int{2, 2}, Strides: []int{0, 1}}},
		{name: "negative-pad", x: []int{1, 1, 4, 4}, geo: PoolGeometry{Kernel: []int{2, 2}, PadsBegin: []int{-1, 0}}},
	}
	for _, c := range cases {
		for _, op := range []string{"MaxPool", "AvgPool"} {
			tp := NewTape(Float64)
			x := tp.Input("x", c.x...)
			var y *Node
			if op == "MaxPool" {
				y = tp.MaxPool(x, c.geo)
			} else {
				y = tp.AvgPool(x, c.geo, true)
			}
			if y != nil || tp.Err() == nil {
				t.Errorf("%s: %s(%v, %+v) succeeded", c.name, op, c.x, c.geo)
			}
		}
	}
}

func TestPoolGradients(t *testing.T) {
	cases := []fdCase{
		{name: "max-and-avg-2d", x: []int{2, 2, 5, 6}, params: [][]int{{2, 1, 1}, {2, 1, 1}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			geo := PoolGeometry{Kernel: []int{3, 2}, Strides: []int{2, 2}, PadsBegin: []int{1, 0}, PadsEnd: []int{0, 1}, CeilMode: true}
			h := t.Tanh(t.Mul(x, ps[0]))
			return t.Square(t.Add(t.MaxPool(h, geo), t.Mul(t.AvgPool(h, geo, false), ps[1])))
		}},
		{name: "avg-include-pad-1d", x: []int{2, 3, 7}, params: [][]int{{3, 1}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			geo := PoolGeometry{Kernel: []int{3}, Strides: []int{2}, Dilations: []int{2}, PadsBegin: []int{2}, PadsEnd: []int{1}, CeilMode: true}
			return t.Tanh(t.AvgPool(t.Square(t.Mul(x, ps[0])), geo, true))
		}},
		{name: "max-3d", x: []int{1, 2, 4, 3, 4}, params: [][]int{{2, 1, 1, 1}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			geo := PoolGeometry{Kernel: []int{2, 2, 2}, Strides: []int{2, 1, 2}, PadsBegin: []int{1, 0, 0}, PadsEnd: []int{0, 0, 1}}
			return t.Tanh(t.Mul(t.MaxPool(t.Tanh(t.Mul(x, ps[0])), geo), ps[0]))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkCase(t, c) })
	}
}

func ExampleTape_MaxPool() {
	tp := NewTape(Float64)
	x := tp.Variable("x", NewTensor([]int{1, 1, 3, 4}, []float64{
		1, 5, 2, 0,
		3, 4, 9, 9,
		7, 0, 6, 8,
	}))
	// 2×2 windows at stride 2; ceil mode keeps the last, partial row.
	y := tp.MaxPool(x, PoolGeometry{Kernel: []int{2, 2}, Strides: []int{2, 2}, CeilMode: true})
	// The gradient goes to the first maximum of each window.
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
	// (1, 1, 2, 2) [5 9 7 8]
	// [0 1 0 0 0 0 1 0 1 0 0 1]
}
