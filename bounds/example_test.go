package bounds_test

import (
	"fmt"
	"math"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// ExampleJacobianEntropy evaluates both Jacobian bounds on the entropy of
// a linear generator G(z) = Az, whose law N(0, AAᵀ) has the entropy
// log 2πe + log |det A| for d = D = 2.
func ExampleJacobianEntropy() {
	t := autodiff.NewTape(autodiff.Float64)
	a := t.Variable("A", autodiff.NewTensor([]int{2, 2}, []float64{2, 1, 0, 0.5}))
	z := t.Input("z", 4, 2)
	nets := bounds.Nets{
		Tape:      t,
		Generator: func(z *autodiff.Node) (*autodiff.Node, error) { return t.MatMul(z, a, false, true), t.Err() },
		DataDim:   2,
		LatentDim: 2,
	}
	exact, err := bounds.NewJacobianEntropy(true).Entropy(nets, bounds.Batch{Z: z})
	if err != nil {
		fmt.Println(err)
		return
	}
	ritz, err := bounds.NewJacobianEntropy(false).Entropy(nets, bounds.Batch{Z: z})
	if err != nil {
		fmt.Println(err)
		return
	}
	normal := func(shape ...int) autodiff.Tensor {
		d := make([]float64, shape[0]*shape[1])
		for i := range d {
			d[i] = math.Sin(float64(3*i + 1)) // any values do for a linear G
		}
		return autodiff.NewTensor(shape, d)
	}
	autodiff.Let(z, normal(4, 2))
	for _, n := range ritz.Noise {
		autodiff.Let(n, normal(n.Shape()...))
	}
	if err := autodiff.NewMachine(t).Run(); err != nil {
		fmt.Println(err)
		return
	}
	// AᵀA = [[4, 2], [2, 1.25]]: eigenvalues (5.25 ± √23.5625)/2.
	smin := math.Sqrt((5.25 - math.Sqrt(23.5625)) / 2)
	fmt.Printf("closed form H(q)       %.4f, s_min %.4f\n", math.Log(2*math.Pi*math.E)+math.Log(2*0.5), smin)
	fmt.Printf("½ log det JᵀJ bound    %.4f\n", exact.Value.Float64s()[0])
	fmt.Printf("d·log s_min bound      %.4f (s_min %.4f)\n", ritz.Value.Float64s()[0], ritz.Extra["s_min"].Float64s()[0])
	// Output:
	// closed form H(q)       2.8379, s_min 0.4449
	// ½ log det JᵀJ bound    2.8379
	// d·log s_min bound      1.2181 (s_min 0.4449)
}
