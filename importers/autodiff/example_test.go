package autodiff_test

import (
	"fmt"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// J·v of y = x ⊙ x at x = (1, 2, 3) for two vectors, sharing one VJP.
func ExampleTape_JVPFunc() {
	t := autodiff.NewTape(autodiff.Float64)
	x := t.Variable("x", autodiff.NewTensor([]int{3}, []float64{1, 2, 3}))
	y := t.Mul(x, x)
	jv := t.JVPFunc(y, x)
	a := jv(t.Const([]float64{1, 0, 0}, 3))
	b := jv(t.Const([]float64{1, 1, 1}, 3))
	m := autodiff.NewMachine(t)
	defer m.Close()
	if err := m.Run(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Float64s(), b.Float64s())
	// Output: [2 0 0] [2 4 6]
}

// A layer's product and bias as one prim.
func ExampleTape_MatMulAdd() {
	t := autodiff.NewTape(autodiff.Float64)
	x := t.Const([]float64{1, 2, 3, 4}, 2, 2)
	w := t.Const([]float64{1, 0, 0, 1}, 2, 2)
	b := t.Const([]float64{10, 20}, 2)
	y := t.MatMulAdd(x, w, b, false, true) // x·wᵀ + b
	m := autodiff.NewMachine(t)
	defer m.Close()
	if err := m.Run(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y.Float64s())
	// Output: [11 22 13 24]
}
