package autodiff

import (
	"math"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/graphtest"
)

func TestErfGradients(t *testing.T) {
	checkCase(t, fdCase{name: "erf-mlp", x: []int{3, 2}, params: [][]int{{2, 4}, {4}, {4, 1}},
		build: func(t *Tape, x *Node, ps []*Node) *Node {
			h := t.Erf(t.Add(t.MatMul(x, ps[0], false, false), ps[1]))
			return t.MatMul(t.Mul(h, t.Erf(t.Scale(h, 0.7))), ps[2], false, false)
		}})
}

func TestErfValues(t *testing.T) {
	for _, dt := range []Dtype{Float64, Float32} {
		tp := NewTape(dt)
		xs := []float64{-3, -0.5, 0, 0.25, 2}
		y := tp.Erf(tp.Const(xs, len(xs)))
		m := NewMachine(tp)
		graphtest.Run(t, m)
		got, err := CopyOut(nil, y)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range xs {
			if d := math.Abs(got[i] - math.Erf(x)); d > 1e-6 {
				t.Errorf("%v: erf(%g) = %g, want %g", dt, x, got[i], math.Erf(x))
			}
		}
	}
}
