package bounds_test

import (
	"math"
	"testing"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/graphtest"
)

// valueTerm builds a scalar term of a bound's value on a rig's networks.
type valueTerm func(tb testing.TB, t *autodiff.Tape, nets bounds.Nets, b bounds.Batch) (*autodiff.Node, []*autodiff.Node)

func gpValueTerm(tb testing.TB, t *autodiff.Tape, nets bounds.Nets, b bounds.Batch) (*autodiff.Node, []*autodiff.Node) {
	e, err := (&bounds.GradientPenalty{Lambda: 1, LSI: 0.7, Jacobian: *bounds.NewJacobianEntropy(false)}).KL(nets, b)
	if err != nil {
		tb.Fatal(err)
	}
	return e.Value, e.Noise
}

func diffusionValueTerm(tb testing.TB, t *autodiff.Tape, nets bounds.Nets, b bounds.Batch) (*autodiff.Node, []*autodiff.Node) {
	df := bounds.NewDiffusion()
	df.Sigmas, df.LSI = []float64{0.3}, 1.3
	e, err := df.KL(nets, b)
	if err != nil {
		tb.Fatal(err)
	}
	return e.Value, e.Noise
}

func logWeightTerm(tb testing.TB, t *autodiff.Tape, nets bounds.Nets, b bounds.Batch) (*autodiff.Node, []*autodiff.Node) {
	c := bounds.DefaultCertified()
	e, err := c.Entropy(nets, b)
	if err != nil {
		tb.Fatal(err)
	}
	ex, err := nets.Energy(e.X)
	if err != nil {
		tb.Fatal(err)
	}
	if ex.Dims() == 2 {
		ex = t.Reshape(ex, []int{ex.Shape()[0]})
	}
	return t.Mean(t.Sub(e.Samples, ex)), e.Noise // mean log w
}

// TestValueGradients checks the parameter gradients ∂T/∂θ of the new value
// terms, from the tape's own VJP rules, against central differences (first
// order), and their Hessian–vector products — Tape.ParamGrads of
// ⟨∂T/∂θ, v⟩ — against central differences of ∂T/∂θ along v (second
// order).
func TestValueGradients(t *testing.T) {
	type setup func() (*autodiff.Tape, bounds.Nets, bounds.Batch, map[bounds.Role][]*autodiff.Node, func([]*autodiff.Node))
	mlp := func(seed uint64, D int) setup {
		return func() (*autodiff.Tape, bounds.Nets, bounds.Batch, map[bounds.Role][]*autodiff.Node, func([]*autodiff.Node)) {
			m := newGaussModel(seed, D, D)
			m.energyMLP, m.genMLP = true, true
			rg := newRig(m, 3, 3)
			return rg.t, rg.nets, bounds.Batch{Data: rg.data, Z: rg.z}, rg.params, func(nz []*autodiff.Node) { rg.noise = nz; rg.draw(seed) }
		}
	}
	fn := func(build func(*fnRig), sample func([]float64) []float64) setup {
		return func() (*autodiff.Tape, bounds.Nets, bounds.Batch, map[bounds.Role][]*autodiff.Node, func([]*autodiff.Node)) {
			rg := newFnRig(2, 2, 3, 3)
			build(rg)
			return rg.t, rg.nets, bounds.Batch{Data: rg.data, Z: rg.z}, rg.params, rg.fill(9, sample)
		}
	}
	bn := banana{1.2, 0.9, 0.1}
	tm := twoMode{s: 1, beta: 3, delta: 0.4, c: 2}
	cases := []struct {
		name  string
		setup setup
		term  valueTerm
	}{
		{"gp-mlp-2", mlp(401, 2), gpValueTerm},
		{"gp-mlp-3", mlp(402, 3), gpValueTerm},
		{"gp-banana", fn(bn.build, bananaSample), gpValueTerm},
		{"diffusion-mlp-2", mlp(403, 2), diffusionValueTerm},
		{"diffusion-two-mode", fn(tm.build, tm.sample), diffusionValueTerm},
		{"logw-mlp-3", mlp(404, 3), logWeightTerm},
		{"logw-two-mode", fn(tm.build, tm.sample), logWeightTerm},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp, nets, b, params, fill := c.setup()
			T, noise := c.term(t, tp, nets, b)
			var ps []*autodiff.Node
			for _, r := range []bounds.Role{bounds.Energy, bounds.Generator} {
				ps = append(ps, params[r]...)
			}
			first := tp.VJP([]*autodiff.Node{T}, []*autodiff.Node{nil}, ps) // tape rules, differentiable again
			dirs := make([][]float64, len(ps))
			var dot *autodiff.Node
			r := newRand(77)
			for k, p := range ps {
				dirs[k] = randVec(r, prodShape(p.Shape()), 1)
				term := tp.Sum(tp.Mul(first[k], tp.Const(dirs[k], p.Shape()...)))
				if dot == nil {
					dot = term
				} else {
					dot = tp.Add(dot, term)
				}
			}
			// One Grad per tape: the first derivatives are the tape's VJP,
			// the second its Grad of ⟨VJP, v⟩.
			hvs, err := tp.ParamGrads(dot, ps...)
			if err == nil {
				err = tp.Err()
			}
			if err != nil {
				t.Fatal(err)
			}
			fill(noise)
			vm := autodiff.NewMachine(tp)
			defer vm.Close()
			graphtest.Run(t, vm)
			if v := graphtest.Scalar(T); v == 0 || math.IsNaN(v) {
				t.Fatalf("term is %g: the check would prove nothing", v)
			}
			checkFirst(t, vm, T, ps, first)
			checkSecond(t, vm, ps, first, hvs, dirs)
		})
	}
}

func prodShape(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}

// checkFirst compares the gradient nodes of T with central differences.
func checkFirst(t *testing.T, vm *autodiff.Machine, T *autodiff.Node, ps, grads []*autodiff.Node) {
	t.Helper()
	analytic := make([][]float64, len(grads))
	for k, g := range grads {
		analytic[k] = graphtest.Values(g)
	}
	for k, p := range ps {
		d := p.Float64s()
		for j := range d {
			const h = 1e-5
			old := d[j]
			d[j] = old + h
			graphtest.Run(t, vm)
			fp := graphtest.Scalar(T)
			d[j] = old - h
			graphtest.Run(t, vm)
			fm := graphtest.Scalar(T)
			d[j] = old
			num := (fp - fm) / (2 * h)
			if math.Abs(num-analytic[k][j]) > 1e-5*(1+math.Abs(num)) {
				t.Errorf("∂T/∂%s[%d]: analytic %.10g, finite difference %.10g", p.Name(), j, analytic[k][j], num)
			}
		}
	}
	graphtest.Run(t, vm)
}

// checkSecond compares the Hessian–vector products hvs with central
// differences of the first derivatives along the directions dirs.
func checkSecond(t *testing.T, vm *autodiff.Machine, ps, first, hvs []*autodiff.Node, dirs [][]float64) {
	t.Helper()
	analytic := make([][]float64, len(hvs))
	for k, g := range hvs {
		analytic[k] = graphtest.Values(g)
	}
	shift := func(s float64) {
		for k, p := range ps {
			d := p.Float64s()
			for j := range d {
				d[j] += s * dirs[k][j]
			}
		}
	}
	const h = 1e-5
	shift(h)
	graphtest.Run(t, vm)
	plus := make([][]float64, len(first))
	for k, f := range first {
		plus[k] = graphtest.Values(f)
	}
	shift(-2 * h)
	graphtest.Run(t, vm)
	shift(h)
	for k, f := range first {
		minus := graphtest.Values(f)
		for j := range minus {
			num := (plus[k][j] - minus[j]) / (2 * h)
			if math.Abs(num-analytic[k][j]) > 1e-4*(1+math.Abs(num)) {
				t.Errorf("(H v) for %s[%d]: analytic %.10g, finite difference %.10g", ps[k].Name(), j, analytic[k][j], num)
			}
		}
	}
}
