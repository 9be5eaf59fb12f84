package bounds_test

import (
	"fmt"
	"math"
	"math/rand/v2"

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

// ExampleCertified brackets the NLL of a standard normal energy
// E(x) = ½‖x‖² (log Z = log 2π) with a linear generator G(z) = 1.1 z:
// the importance-weighted lower end and the χ² upper end need no unknown
// constant.
func ExampleCertified() {
	t := autodiff.NewTape(autodiff.Float64)
	const m = 4000
	z := t.Input("z", m, 2)
	nets := bounds.Nets{
		Tape:      t,
		Generator: func(z *autodiff.Node) (*autodiff.Node, error) { return t.Scale(z, 1.1), t.Err() },
		Energy: func(x *autodiff.Node) (*autodiff.Node, error) {
			return t.Scale(t.SumAxes(t.Square(x), []int{1}, false), 0.5), t.Err()
		},
		DataDim:   2,
		LatentDim: 2,
	}
	c := bounds.DefaultCertified()
	est, err := c.Entropy(nets, bounds.Batch{Z: z})
	if err != nil {
		fmt.Println(err)
		return
	}
	energy, _ := nets.Energy(est.X)
	// z from the bracket's proposal ρ, with log N(z) − log ρ(z) per draw.
	r := rand.New(rand.NewPCG(1, 2))
	zs := make([]float64, 2*m)
	ratios := make([]float64, m)
	for i := range ratios {
		ratios[i], _ = c.Proposal.Draw(r, zs[2*i:2*i+2])
	}
	autodiff.Let(z, autodiff.NewTensor([]int{m, 2}, zs))
	if err := autodiff.NewMachine(t).Run(); err != nil {
		fmt.Println(err)
		return
	}
	// log w_i = −E(x_i) − log q(x_i), q = G#N(0, I)
	h, e := est.Samples.Float64s(), energy.Float64s()
	logW := make([]float64, m)
	for i := range logW {
		logW[i] = h[i] - e[i]
	}
	var folds bounds.FoldCheck
	folds.Add(zs, est.Jacobian.Float64s(), 2)
	// A data set whose mean energy is exactly 1: NLL = 1 + log 2π.
	br, err := c.Bracket(bounds.MeanSE{Value: 1}, bounds.Weights{LogW: logW, LogRatio: ratios}, folds, bounds.FoldCheck{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("NLL %.3f\n", 1+math.Log(2*math.Pi))
	fmt.Printf("lower %.3f (limit %.3f), upper %.3f (limit %.3f), certified %v %v\n",
		br.Lower.Value, br.Lower.Limit, br.Upper.Value, br.Upper.Limit, br.Lower.Certified, br.Upper.Certified)
	// Output:
	// NLL 2.838
	// lower 2.840 (limit 2.834), upper 2.869 (limit 2.873), certified true true
}
