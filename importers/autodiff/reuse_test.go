package autodiff

import (
	"slices"
	"testing"
)

// reuseCase is a small tape with matrix, elementwise and mask ops and an
// input gradient, ready to run.
type reuseCase struct {
	x, y, gx *Node
	m        *Machine
}

func newReuseCase(t *testing.T) reuseCase {
	tp := NewTape(Float64)
	x := tp.Input("x", 3, 2)
	w := tp.Variable("w", NewTensor([]int{2, 2}, []float64{1, -2, 0.5, 3}))
	h := tp.Tanh(tp.MatMul(x, w, false, false))
	y := tp.Sum(tp.Add(tp.Mul(h, tp.LeakyRelu(h, 0.2)), tp.Scale(x, 2)))
	gx := tp.InputGradient(y, x)
	if err := tp.Err(); err != nil {
		t.Fatal(err)
	}
	return reuseCase{x: x, y: y, gx: gx, m: NewMachine(tp)}
}

func (c reuseCase) run(t *testing.T, in []float64) (float64, []float64) {
	if err := Let(c.x, NewTensor([]int{3, 2}, slices.Clone(in))); err != nil {
		t.Fatal(err)
	}
	defer c.m.Reset()
	if err := c.m.Run(); err != nil {
		t.Fatal(err)
	}
	y, err := CopyOut(nil, c.y)
	if err != nil {
		t.Fatal(err)
	}
	g, err := CopyOut(nil, c.gx)
	if err != nil {
		t.Fatal(err)
	}
	return y[0], g
}

// TestOutputReuse runs one tape on several inputs and checks every run
// against a fresh tape: ops that keep their output buffer from one run to
// the next must overwrite all of it.
func TestOutputReuse(t *testing.T) {
	reused := newReuseCase(t)
	defer reused.m.Close()
	for i, in := range [][]float64{
		{1, 2, 3, 4, 5, 6},
		{-1, 0.5, 0, 2, -3, 1},
		{0.1, -0.2, 0.3, -0.4, 0.5, -0.6},
	} {
		gotY, gotG := reused.run(t, in)
		fresh := newReuseCase(t)
		wantY, wantG := fresh.run(t, in)
		fresh.m.Close()
		if gotY != wantY || !slices.Equal(gotG, wantG) {
			t.Errorf("run %d: reused tape gives %v, %v; a fresh one %v, %v", i, gotY, gotG, wantY, wantG)
		}
	}
}

func TestOverlapsAny(t *testing.T) {
	buf := make([]float64, 10)
	tests := []struct {
		name string
		out  array
		in   []array
		want bool
	}{
		{"same", array{f64: buf}, []array{{f64: buf}}, true},
		{"tail view", array{f64: buf[:5]}, []array{{f64: buf[4:]}}, true},
		{"disjoint halves", array{f64: buf[:5]}, []array{{f64: buf[5:]}}, false},
		{"other buffer", array{f64: buf}, []array{{f64: make([]float64, 10)}}, false},
		{"empty", array{}, []array{{f64: buf}}, false},
	}
	for _, tt := range tests {
		if got := overlapsAny(tt.out, tt.in); got != tt.want {
			t.Errorf("%s: overlapsAny = %v, want %v", tt.name, got, tt.want)
		}
	}
}
