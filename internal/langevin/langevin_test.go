package langevin

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// fixed is a Normal that returns its values in turn.
type fixed struct {
	v []float64
	i int
}

func (f *fixed) NormFloat64() float64 { f.i++; return f.v[f.i-1] }

// TestMove checks a step against its formula, written out with the
// values of η, s, the gradient and the noise.
func TestMove(t *testing.T) {
	cases := []struct {
		name        string
		eta, s      float64
		x, grad, xi []float64
		want        []float64
	}{
		{"descent without noise", 0.5, 0, []float64{1, -2}, []float64{4, -8}, []float64{3, 3}, []float64{0, 0}},
		{"noise only", 0.04, 1, []float64{1, 2}, []float64{0, 0}, []float64{1, -2}, []float64{1.2, 1.6}},
		{"both", 0.01, 2, []float64{0, 0, 1}, []float64{2, -2, 0}, []float64{1, 0, -0.5}, []float64{0.19, 0.01, 0.9}},
	}
	for _, c := range cases {
		x := append([]float64(nil), c.x...)
		NewStep(c.eta, c.s).Move(x, c.grad, &fixed{v: c.xi})
		for i := range x {
			if math.Abs(x[i]-c.want[i]) > 1e-12 {
				t.Errorf("%s: x = %v, want %v", c.name, x, c.want)
				break
			}
		}
	}
}

// TestMoveDraws checks that Move draws one normal per value, in order,
// from the stream it is given: two half-batches moved in turn from one
// stream equal the whole batch moved at once.
func TestMoveDraws(t *testing.T) {
	x := []float64{0.5, -1, 2, 0.25}
	grad := []float64{1, 2, -3, 0.5}
	st := NewStep(0.1, 1)
	whole := append([]float64(nil), x...)
	st.Move(whole, grad, rand.New(rand.NewPCG(1, 2)))
	parts := append([]float64(nil), x...)
	r := rand.New(rand.NewPCG(1, 2))
	st.Move(parts[:2], grad[:2], r)
	st.Move(parts[2:], grad[2:], r)
	for i := range whole {
		if whole[i] != parts[i] {
			t.Fatalf("whole %v, in parts %v", whole, parts)
		}
	}
	if whole[0] == x[0]-0.05*grad[0] {
		t.Error("no noise added")
	}
}

func ExampleStep_Move() {
	x := []float64{1, -2}
	grad := []float64{2, -4} // ∇E for E(x) = ‖x‖²
	st := NewStep(0.1, 0)    // no noise: gradient descent with step 0.05
	st.Move(x, grad, rand.New(rand.NewPCG(1, 1)))
	fmt.Println(x)
	// Output: [0.9 -1.8]
}
