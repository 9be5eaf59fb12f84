package autodiff

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// TestPreluSum checks the fused slope gradient against the two prims it
// replaces, preluProd then SumTo, bit for bit: both orders it is made for,
// one and two vector inputs, both element types, rows short and long (the
// fallback past sumBlock/4 values a row), row counts around multiples of
// the buffer's block.
func TestPreluSum(t *testing.T) {
	for _, c := range []struct {
		shape []int
		to    []int
		order preluProd
	}{
		{[]int{256, 128}, []int{1}, preluProd{db: 1}},
		{[]int{256, 128}, nil, preluProd{dx: 1, db: 1}},
		{[]int{7, 3}, []int{1, 1}, preluProd{db: 1}},
		{[]int{37, 60}, []int{1}, preluProd{db: 1}},
		{[]int{3, 600}, []int{1}, preluProd{db: 1}},
		{[]int{1000}, []int{1}, preluProd{dx: 1, db: 1}},
	} {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			fill := func(shape []int, f func(i int) float64) array {
				x := newArray(dt, shape)
				for i := range x.len() {
					if dt == tensor.Float32 {
						x.f32[i] = float32(f(i))
					} else {
						x.f64[i] = f(i)
					}
				}
				return x
			}
			a := fill(c.shape, func(i int) float64 {
				if i%11 == 0 {
					return 0
				}
				return math.Sin(float64(i) * 1.3)
			})
			b := fill([]int{1}, func(int) float64 { return 0.25 })
			in := []array{a, b}
			for k := range c.order.dx + c.order.db {
				in = append(in, fill(c.shape, func(i int) float64 { return math.Cos(float64(i*(k+2))) * 3 }))
			}
			got := newArray(dt, []int{1})
			if err := (preluSum{preluProd: c.order, to: c.to}).doInto(got, in); err != nil {
				t.Fatal(err)
			}
			prod := newArray(dt, c.shape)
			d := newArray(dt, c.shape)
			if err := (preluDeriv{dx: c.order.dx, db: c.order.db}).doInto(d, in[:2]); err != nil {
				t.Fatal(err)
			}
			prodArrays(prod, append([]array{d}, in[2:]...))
			want := newArray(dt, []int{1})
			if err := (sumTo{to: c.to}).doInto(want, []array{prod}); err != nil {
				t.Fatal(err)
			}
			if g, w := got.at(0), want.at(0); math.Float64bits(g) != math.Float64bits(w) {
				t.Errorf("%v %v order (%d,%d): %v, want %v", c.shape, dt, c.order.dx, c.order.db, g, w)
			}
		}
	}
}

// TestPreluSlopeGradFused checks that a single slope's gradient is one
// preluSum node, and a slope per column is not.
func TestPreluSlopeGradFused(t *testing.T) {
	for _, c := range []struct {
		slope []int
		fused bool
	}{{[]int{1}, true}, {[]int{4}, false}} {
		tp := NewTape(Float64)
		x := tp.Input("x", 3, 4)
		s := tp.Variable("s", NewTensor(c.slope, make([]float64, Size(c.slope))))
		gs, err := tp.ParamGrads(tp.Sum(tp.PRelu(x, s)), s)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range tp.entries {
			if _, ok := e.p.(preluSum); ok {
				found = true
			}
		}
		if found != c.fused || gs[0] == nil {
			t.Errorf("slope %v: fused %v, want %v", c.slope, found, c.fused)
		}
	}
}
