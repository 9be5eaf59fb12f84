package autodiff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulAddForward compares MatMulAdd with MatMul followed by Add, for
// products small enough for gemmSmall and large enough for BLAS, with the
// addend broadcast in several ways and the operands transposed.
func TestMatMulAddForward(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	cases := []struct {
		a, b, c []int
		ta, tb  bool
	}{
		{[]int{3, 4}, []int{4, 5}, []int{5}, false, false},
		{[]int{4, 3}, []int{5, 4}, []int{1, 5}, true, true},
		{[]int{3, 4}, []int{4, 5}, []int{3, 5}, false, false},
		{[]int{2, 3, 4}, []int{4, 5}, []int{3, 1}, false, false},
		{[]int{40, 30}, []int{20, 30}, []int{20}, false, true},
		{[]int{30, 40}, []int{30, 20}, []int{40, 20}, true, false},
	}
	for _, c := range cases {
		for _, dt := range []Dtype{Float64, Float32} {
			name := fmt.Sprintf("%v%v%v-%v-%v-%v", c.a, c.b, c.c, c.ta, c.tb, dt)
			tp := NewTape(dt)
			leaf := func(n string, s []int) *Node {
				d := make([]float64, Size(s))
				for i := range d {
					d[i] = r.NormFloat64()
				}
				return tp.Variable(n, FromFloat64s(dt, s, d))
			}
			a, b, cc := leaf("a", c.a), leaf("b", c.b), leaf("c", c.c)
			fused := tp.MatMulAdd(a, b, cc, c.ta, c.tb)
			plain := tp.Add(tp.MatMul(a, b, c.ta, c.tb), cc)
			if err := tp.Err(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			m := NewMachine(tp)
			if err := m.Run(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got, _ := CopyOut(nil, fused)
			want, _ := CopyOut(nil, plain)
			tol := 1e-12
			if dt == Float32 {
				tol = 1e-5
			}
			for i := range want {
				if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
					t.Errorf("%s: [%d] = %g, MatMul+Add %g", name, i, got[i], want[i])
					break
				}
			}
			m.Close()
		}
	}
	tp := NewTape(Float64)
	if tp.MatMulAdd(tp.Full(1, 2, 3), tp.Full(1, 3, 4), tp.Full(1, 3, 4), false, false) != nil || tp.Err() == nil {
		t.Error("an addend larger than the product was accepted")
	}
}

// TestMatMulAddGradients checks its VJP to the second order in a network.
func TestMatMulAddGradients(t *testing.T) {
	c := fdCase{name: "matmuladd-mlp", x: []int{3, 2}, params: [][]int{{2, 5}, {5}, {4, 5}, {1, 4}, {4, 1}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
		h := t.Tanh(t.MatMulAdd(x, ps[0], ps[1], false, false))
		h = t.Silu(t.MatMulAdd(h, ps[2], ps[3], false, true))
		return t.MatMul(h, ps[4], false, false)
	}}
	checkCase(t, c)
}
