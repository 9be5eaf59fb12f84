package autodiff

import (
	"math"
	"testing"
)

// deadProducts returns the dead and live matrix products AᵀB on t.
func deadProducts(t *Tape) (dead, live []*Node) {
	for n, e := range t.entries {
		if p, ok := e.p.(matMul); ok && p.ta && !p.tb {
			if n.g().Op().(*primOp).dead {
				dead = append(dead, n)
			} else {
				live = append(live, n)
			}
		}
	}
	return dead, live
}

// TestPruneUnusedGradients checks that the weight gradient an input
// gradient's VJP builds is not computed, that the input gradient is right,
// and that a node the user builds equal to a dead one is computed.
func TestPruneUnusedGradients(t *testing.T) {
	for _, rebuild := range []bool{false, true} {
		tp := NewTape(Float64)
		x := tp.Variable("x", NewTensor([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6}))
		w := tp.Variable("w", NewTensor([]int{3, 2}, []float64{1, -1, 0.5, 2, -3, 0.25}))
		y := tp.Sum(tp.Tanh(tp.MatMul(x, w, false, false)))
		gx := tp.InputGradient(y, x)
		var again *Node
		if rebuild {
			// The same node as the VJP's unused ∂y/∂w product: xᵀ·(∂y/∂(xw)).
			var g *Node
			for n, e := range tp.entries {
				if p, ok := e.p.(matMul); ok && p.ta && !p.tb {
					g = n
				}
			}
			e := tp.entries[g]
			again = tp.MatMul(e.in[0], e.in[1], true, false)
			if again != g {
				t.Fatal("the rebuilt product is a new node; the test needs it merged")
			}
		}
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		m := NewMachine(tp)
		dead, live := deadProducts(tp)
		if rebuild {
			if len(dead) != 0 || len(live) != 1 {
				t.Fatalf("rebuilt: %d dead and %d live weight products, want 0 and 1", len(dead), len(live))
			}
		} else if len(dead) != 1 || len(live) != 0 {
			t.Fatalf("%d dead and %d live weight products, want 1 and 0", len(dead), len(live))
		}
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
		xs, ws := x.Float64s(), w.Float64s()
		for i := 0; i < 2; i++ {
			for k := 0; k < 3; k++ {
				want := 0.0
				for j := 0; j < 2; j++ {
					z := 0.0
					for l := 0; l < 3; l++ {
						z += xs[i*3+l] * ws[l*2+j]
					}
					want += (1 - math.Tanh(z)*math.Tanh(z)) * ws[k*2+j]
				}
				if got := gx.Float64s()[i*3+k]; math.Abs(got-want) > 1e-12 {
					t.Errorf("∂y/∂x[%d,%d] = %g, want %g", i, k, got, want)
				}
			}
		}
		if rebuild {
			want := 0.0
			for _, v := range again.Float64s() {
				want += math.Abs(v)
			}
			if want == 0 {
				t.Error("the rebuilt product was not computed")
			}
		}
		m.Close()
	}
}

// TestPruneParamGrads checks that ParamGrads computes no gradient for an
// input, only for the parameters.
func TestPruneParamGrads(t *testing.T) {
	tp := NewTape(Float64)
	x := tp.Input("x", 4, 3)
	w := tp.Variable("w", NewTensor([]int{3, 2}, []float64{1, -1, 0.5, 2, -3, 0.25}))
	h := tp.Tanh(tp.MatMul(x, w, false, false))
	loss := tp.Sum(tp.MatMul(h, w, false, true)) // w used twice
	if _, err := tp.ParamGrads(loss, w); err != nil {
		t.Fatal(err)
	}
	NewMachine(tp)
	// ∂loss/∂x = (∂loss/∂(xw))·wᵀ is the one internal product of x's shape.
	internal := 0
	for n, e := range tp.entries {
		if _, ok := e.p.(matMul); !ok || tp.external[n] || !sameShape(n.Shape(), x.Shape()) {
			continue
		}
		internal++
		if !n.g().Op().(*primOp).dead {
			t.Errorf("%v of shape %v (the input's gradient) is computed", e.p, n.Shape())
		}
	}
	if internal != 1 {
		t.Errorf("%d internal products of x's shape, want 1", internal)
	}
}

// TestJVPFunc checks J v against the closed form for y = tanh(x W) and
// that the zero-seed VJP behind it is not computed: the only products run
// are x W and the two J v's v W.
func TestJVPFunc(t *testing.T) {
	tp := NewTape(Float64)
	xs, ws := []float64{1, 2, 3, 4, 5, 6}, []float64{0.1, -0.2, 0.05, 0.3, -0.3, 0.25}
	vs := [][]float64{{1, 0, -1, 2, 0.5, 0}, {0, 1, 0, 0, 1, 3}}
	x := tp.Variable("x", NewTensor([]int{2, 3}, xs))
	w := tp.Variable("w", NewTensor([]int{3, 2}, ws))
	y := tp.Tanh(tp.MatMul(x, w, false, false))
	jv := tp.JVPFunc(y, x)
	outs := []*Node{jv(tp.Const(vs[0], 2, 3)), tp.JVP(y, x, tp.Const(vs[1], 2, 3))}
	if err := tp.Err(); err != nil {
		t.Fatal(err)
	}
	m := NewMachine(tp)
	defer m.Close()
	live := 0
	for n, e := range tp.entries {
		if _, ok := e.p.(matMul); ok && !n.g().Op().(*primOp).dead {
			live++
		}
	}
	// x W, and per J v the product v W; JVP's own zero-seed VJP is dead too.
	if live != 3 {
		t.Errorf("%d matrix products computed, want 3", live)
	}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	for k, v := range vs {
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				z, vw := 0.0, 0.0
				for l := 0; l < 3; l++ {
					z += xs[i*3+l] * ws[l*2+j]
					vw += v[i*3+l] * ws[l*2+j]
				}
				want := (1 - math.Tanh(z)*math.Tanh(z)) * vw
				if got := outs[k].Float64s()[i*2+j]; math.Abs(got-want) > 1e-12 {
					t.Errorf("J v%d [%d,%d] = %g, want %g", k, i, j, got, want)
				}
			}
		}
	}
}
