package bounds_test

import (
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/graphtest"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/onnx/flow"
)

// A flowRig is a flow generator with random parameters on a tape, with the
// exact entropy terms of Certified on latent rows z and the flow's
// log-scales as extra outputs.
type flowRig struct {
	d, layers int
	z         *autodiff.Node   // (m, d) latent rows, a variable
	x         *autodiff.Node   // (m, d) G(z)
	jac       *autodiff.Node   // (m, d, d)
	samples   *autodiff.Node   // (m) −log q(x) by the exact Jacobian
	logScales []*autodiff.Node // (m, d − ⌊d/2⌋) each
	final     *autodiff.Node   // out.logscale
	vm        *autodiff.Machine
}

// newFlowRig builds spec with the seed and moves every parameter by
// N(0, scale²), so that the flow is far from the identity.
func newFlowRig(t *testing.T, spec string, seed uint64, scale float64, m int) *flowRig {
	t.Helper()
	model, err := flow.New(spec, flow.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := flow.Parse(spec)
	for _, name := range flow.LogScales(s.Layers) {
		model.Graph.Output = append(model.Graph.Output, onnx.NewValueInfo(name, onnx.TensorProto_FLOAT,
			onnx.Dim{Param: "batch"}, onnx.Dim{Value: int64(s.Dim - s.Dim/2)}))
	}
	net, err := importers.New(model)
	if err != nil {
		t.Fatal(err)
	}
	tp := autodiff.NewTape(autodiff.Float64)
	ps := net.NewParams(tp)
	r := newRand(seed + 100)
	for i, p := range net.Params() {
		v := make([]float64, len(p.Data))
		for k := range v {
			v[k] = p.Data[k] + scale*r.NormFloat64()
		}
		if err := ps.SetData(i, v); err != nil {
			t.Fatal(err)
		}
	}
	rg := &flowRig{d: s.Dim, layers: s.Layers, final: ps.ByName["out.logscale"]}
	rg.z = tp.Variable("z", autodiff.NewTensor([]int{m, s.Dim}, make([]float64, m*s.Dim)))
	gen := func(z *autodiff.Node) (*autodiff.Node, error) {
		outs, err := net.Apply(tp, ps, importers.ApplyOptions{}, z)
		if err != nil {
			return nil, err
		}
		rg.logScales = outs[1:]
		return outs[0], tp.Err()
	}
	nets := bounds.Nets{Tape: tp, Generator: gen, DataDim: s.Dim, LatentDim: s.Dim}
	c := bounds.DefaultCertified()
	e, err := c.Entropy(nets, bounds.Batch{Z: rg.z})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Noise) != 0 {
		t.Fatalf("the exact entropy has %d noise inputs", len(e.Noise))
	}
	rg.x, rg.jac, rg.samples = e.X, e.Jacobian, e.Samples
	rg.vm = autodiff.NewMachine(tp)
	return rg
}

// run evaluates the rig at the latent rows z.
func (rg *flowRig) run(t *testing.T, z []float64) {
	t.Helper()
	if err := autodiff.CopyIn(rg.z, z); err != nil {
		t.Fatal(err)
	}
	graphtest.Run(t, rg.vm)
}

// flowCases are the random flows the tests check.
var flowCases = []struct {
	spec  string
	seed  uint64
	scale float64
}{
	{"flow:2-4-8", 1, 0.5},
	{"flow:2-6-16:silu", 2, 0.1},
	{"flow:3-3-6-6:softplus", 3, 0.6},
	{"flow:5-4-8", 4, 0.3},
}

// latentRows returns m rows of d values: for d = 2 a 9×9 grid over
// [−3, 3]² and m − 81 standard normal rows, otherwise m standard normal
// rows.
func latentRows(seed uint64, m, d int) []float64 {
	r := newRand(seed)
	z := make([]float64, 0, m*d)
	if d == 2 {
		for i := range 9 {
			for j := range 9 {
				z = append(z, -3+0.75*float64(i), -3+0.75*float64(j))
			}
		}
	}
	for len(z) < m*d {
		z = append(z, r.NormFloat64())
	}
	return z
}

// TestFlowNeverFolds counts the signs of det J of random flows over
// latent rows, as the certified bracket's FoldCheck does: every
// determinant is positive.
func TestFlowNeverFolds(t *testing.T) {
	const m = 2000
	for _, c := range flowCases {
		t.Run(fmt.Sprint(c.spec, "/", c.seed), func(t *testing.T) {
			rg := newFlowRig(t, c.spec, c.seed, c.scale, m)
			z := latentRows(c.seed, m, rg.d)
			rg.run(t, z)
			var f bounds.FoldCheck
			f.Add(z, graphtest.Values(rg.jac), rg.d)
			if f.Positive != m || f.Negative != 0 || f.Singular != 0 {
				t.Errorf("det J signs %+v over %d rows, want all positive", f, m)
			}
		})
	}
}

// TestFlowLogDet checks log |det J| from the exact Jacobian entropy (the
// importer's derivatives of the graph) against the flow's formula, the
// sum of its log-scales.
func TestFlowLogDet(t *testing.T) {
	const m = 300
	for _, c := range flowCases {
		t.Run(fmt.Sprint(c.spec, "/", c.seed), func(t *testing.T) {
			rg := newFlowRig(t, c.spec, c.seed, c.scale, m)
			z := latentRows(c.seed, m, rg.d)
			rg.run(t, z)
			samples, final := graphtest.Values(rg.samples), graphtest.Values(rg.final)
			spread := 0.0
			for i := range m {
				want := 0.0
				for _, v := range final {
					want += v
				}
				for _, ls := range rg.logScales {
					v := graphtest.Values(ls)
					w := len(v) / m
					for _, s := range v[i*w : (i+1)*w] {
						want += s
					}
				}
				zz := 0.0
				for _, v := range z[i*rg.d : (i+1)*rg.d] {
					zz += v * v
				}
				got := samples[i] - zz/2 - float64(rg.d)/2*math.Log(2*math.Pi)
				if math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
					t.Fatalf("row %d: log |det J| %.12g, sum of log-scales %.12g", i, got, want)
				}
				spread = math.Max(spread, math.Abs(want))
			}
			if spread < 0.5 {
				t.Errorf("log |det J| within ±%g over the rows: the random flow is too close to volume-preserving to test", spread)
			}
		})
	}
}

// TestFlowInverse inverts random flows numerically with the importer's
// Jacobian: Newton's method with backtracking, continued from the origin
// along the straight path from G(0) to the image (G is onto R^D, so the
// path has a smooth preimage). Every latent row of a grid (and random
// rows) is recovered within 1e-8 from its image.
func TestFlowInverse(t *testing.T) {
	const m = 100
	for _, c := range flowCases {
		t.Run(fmt.Sprint(c.spec, "/", c.seed), func(t *testing.T) {
			rg := newFlowRig(t, c.spec, c.seed, c.scale, m)
			d := rg.d
			z0 := latentRows(c.seed, m, d)
			rg.run(t, z0)
			image := graphtest.Values(rg.x)
			z := make([]float64, m*d)
			rg.run(t, z)
			origin := graphtest.Values(rg.x)
			const legs = 20
			target := make([]float64, m*d)
			for k := 1; k <= legs; k++ {
				tau := float64(k) / legs
				for i := range target {
					target[i] = (1-tau)*origin[i] + tau*image[i]
				}
				rg.newton(t, z, target, 20)
			}
			worst := 0.0
			for i := range z {
				worst = math.Max(worst, math.Abs(z[i]-z0[i]))
			}
			if worst > 1e-8 {
				t.Errorf("Newton's inverse recovers z within %.3g, want 1e-8", worst)
			}
		})
	}
}

// newton moves every row of z towards G(z) = target by iters damped
// Newton steps, halving a row's step while its residual does not fall.
func (rg *flowRig) newton(t *testing.T, z, target []float64, iters int) {
	t.Helper()
	m, d := len(z)/rg.d, rg.d
	residual := func(x []float64, i int) float64 {
		s := 0.0
		for a := range d {
			s += (x[i*d+a] - target[i*d+a]) * (x[i*d+a] - target[i*d+a])
		}
		return math.Sqrt(s)
	}
	rg.run(t, z)
	x, jac := graphtest.Values(rg.x), graphtest.Values(rg.jac)
	step := make([]float64, m)
	for i := range step {
		step[i] = 1
	}
	trial := make([]float64, m*d)
	r := mat.NewVecDense(d, nil)
	for range iters {
		for i := range m {
			for a := range d {
				r.SetVec(a, x[i*d+a]-target[i*d+a])
			}
			var dz mat.VecDense
			if err := dz.SolveVec(mat.NewDense(d, d, jac[i*d*d:(i+1)*d*d]), r); err != nil {
				t.Fatalf("row %d: singular Jacobian: %v", i, err)
			}
			for a := range d {
				trial[i*d+a] = z[i*d+a] - step[i]*dz.AtVec(a)
			}
		}
		rg.run(t, trial)
		tx, tjac := graphtest.Values(rg.x), graphtest.Values(rg.jac)
		for i := range m {
			if residual(tx, i) < residual(x, i) {
				copy(z[i*d:(i+1)*d], trial[i*d:(i+1)*d])
				copy(x[i*d:(i+1)*d], tx[i*d:(i+1)*d])
				copy(jac[i*d*d:(i+1)*d*d], tjac[i*d*d:(i+1)*d*d])
				step[i] = min(1, 2*step[i])
			} else {
				step[i] /= 2
			}
		}
	}
}
