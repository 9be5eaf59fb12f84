package train

import (
	"math"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// fakeLower is the exact change-of-variables entropy of a generator with
// d = D = 2: H = H(z) + E log|det J(z)|, J from two VJPs. Its poison input,
// zero unless a test sets it, is added to the loss.
type fakeLower struct {
	LambdaH float64
	poison  *autodiff.Node
}

func (f *fakeLower) Name() string { return "fake-exact" }

func (f *fakeLower) Entropy(n bounds.Nets, b bounds.Batch) (bounds.Estimate, error) {
	t := n.Tape
	x, err := n.Generator(b.Z)
	if err != nil {
		return bounds.Estimate{}, err
	}
	rows := b.Z.Shape()[0]
	col := func(i int) *autodiff.Node {
		seed := make([]float64, 2*rows)
		for r := range rows {
			seed[2*r+i] = 1
		}
		return t.Const(seed, rows, 2)
	}
	// Row r of gi is ∂x_i/∂z at sample r.
	g0 := t.VJP([]*autodiff.Node{x}, []*autodiff.Node{col(0)}, []*autodiff.Node{b.Z})[0]
	g1 := t.VJP([]*autodiff.Node{x}, []*autodiff.Node{col(1)}, []*autodiff.Node{b.Z})[0]
	swap := t.Const([]float64{0, 1, 1, 0}, 2, 2)
	// det = g0[0]·g1[1] − g0[1]·g1[0] = sum over columns of g0 ⊙ (g1·swap) ⊙ (1, −1).
	sign := t.Const([]float64{1, -1}, 2)
	det := t.SumAxes(t.Mul(t.Mul(g0, t.MatMul(g1, swap, false, false)), sign), []int{1}, false)
	logdet := t.Scale(t.Log(t.Square(det)), 0.5)
	samples := t.Affine(logdet, 1, math.Log(2*math.Pi*math.E))
	value := t.Mean(samples)
	f.poison = t.Variable("poison", autodiff.Zeros(t.Dtype(), 1))
	loss := t.Add(t.Scale(t.Mean(logdet), -f.LambdaH), t.Sum(f.poison))
	return bounds.Estimate{
		Value: value, Samples: samples, Loss: loss,
		Trains: []bounds.Role{bounds.Generator},
		Extra:  map[string]*autodiff.Node{"s_min": t.Mean(t.Abs(det))},
	}, t.Err()
}

// fakeUpper is a gradient penalty at noisy samples: U = ½ mean ‖∇E(x̃)‖²,
// x̃ = G(z) + 0.01·ε with ε a Noise input.
type fakeUpper struct {
	LambdaGP, Tau float64
}

func (f *fakeUpper) Name() string { return "fake-gp" }

func (f *fakeUpper) KL(n bounds.Nets, b bounds.Batch) (bounds.Estimate, error) {
	t := n.Tape
	x, err := n.Generator(b.Z)
	if err != nil {
		return bounds.Estimate{}, err
	}
	eps := t.Input("eps", x.Shape()...)
	xt := t.Add(t.StopGradient(x), t.Scale(eps, 0.01))
	e, err := n.Energy(xt)
	if err != nil {
		return bounds.Estimate{}, err
	}
	g := t.InputGradient(t.Sum(e), xt)
	samples := t.Scale(t.SumAxes(t.Square(g), []int{1}, false), 0.5)
	value := t.Mean(samples)
	loss := t.Relu(t.Affine(value, f.LambdaGP, -f.Tau))
	return bounds.Estimate{
		Value: value, Samples: samples, Loss: loss,
		Trains: []bounds.Role{bounds.Energy},
		Noise:  []*autodiff.Node{eps},
		Extra:  map[string]*autodiff.Node{"grad_norm": t.Mean(t.Sqrt(t.Affine(t.Scale(samples, 2), 1, 1e-12)))},
	}, t.Err()
}

// setPoison makes the fake lower bound's loss v.
func (f *fakeLower) setPoison(v float64) error { return autodiff.CopyIn(f.poison, []float64{v}) }
