package autodiff

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// TestBroadcastToBlocks checks BroadcastTo's kernel against the strided
// loop it takes for other shapes, bit for bit (−0 included), in both
// element types: trailing blocks (a bias row, a matrix) and shapes that
// are not one (a column, a scalar).
func TestBroadcastToBlocks(t *testing.T) {
	for _, c := range []struct {
		from, to []int
		block    bool
	}{
		{[]int{3}, []int{4, 3}, true},
		{[]int{1, 3}, []int{2, 2, 3}, true},
		{[]int{2, 3}, []int{5, 2, 3}, true},
		{[]int{1}, []int{2, 3}, false}, // a scalar: binaryLoop's flat pass
		{[]int{2, 1}, []int{2, 3}, false},
		{[]int{3, 1, 2}, []int{3, 4, 2}, false},
	} {
		if got := trailingBlock(c.from, c.to); got != c.block {
			t.Errorf("trailingBlock(%v, %v) = %v, want %v", c.from, c.to, got, c.block)
		}
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			x := newArray(dt, c.from)
			for i := range Size(c.from) {
				v := float64(i) - 1.5
				if i == 0 {
					v = math.Copysign(0, -1)
				}
				if dt == tensor.Float32 {
					x.f32[i] = float32(v)
				} else {
					x.f64[i] = v
				}
			}
			got := newArray(dt, c.to)
			if err := (broadcastTo{to: c.to}).doInto(got, []array{x}); err != nil {
				t.Fatal(err)
			}
			want := newArray(dt, c.to)
			sx, zero := BroadcastStrides(c.from, c.to), make([]int, len(c.to))
			if dt == tensor.Float32 {
				binaryLoop(bAdd, want.f32, x.f32, []float32{0}, c.to, sx, zero)
			} else {
				binaryLoop(bAdd, want.f64, x.f64, []float64{0}, c.to, sx, zero)
			}
			for i := range Size(c.to) {
				g, w := got.at(i), want.at(i)
				if math.Float64bits(g) != math.Float64bits(w) {
					t.Errorf("%v → %v %v: [%d] = %v, want %v", c.from, c.to, dt, i, g, w)
				}
			}
		}
	}
}

// TestSumRows checks the full-sum kernel of SumTo against summing row by
// row in order, bit for bit, for row counts around multiples of four.
func TestSumRows(t *testing.T) {
	for _, c := range [][2]int{{1, 5}, {3, 2}, {4, 128}, {7, 3}, {256, 128}, {9, 1}, {0, 3}, {2, 0}} {
		rows, n := c[0], c[1]
		x := make([]float64, rows*n)
		for i := range x {
			x[i] = math.Sin(float64(i)) * math.Exp(float64(i%17))
		}
		want := 0.25
		for i := range rows {
			s := 0.0
			for _, v := range x[i*n : (i+1)*n] {
				s += v
			}
			want += s
		}
		if got := sumRows(0.25, x, n); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%d rows of %d: %v, want %v", rows, n, got, want)
		}
		out := []float64{0.25}
		sumLoop(out, x, []int{rows, n}, []int{0, 0})
		if math.Float64bits(out[0]) != math.Float64bits(want) {
			t.Errorf("sumLoop, %d rows of %d: %v, want %v", rows, n, out[0], want)
		}
	}
}
