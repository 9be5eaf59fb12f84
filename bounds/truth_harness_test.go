package bounds_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/graphtest"
)

// readings are every bound of a model pair measured on one batch, on the
// NLL scale (nats per example).
type readings struct {
	ed       bounds.MeanSE // mean energy of the data
	low      bounds.MeanSE // L_low with the exact Jacobian entropy
	gp, diff bounds.MeanSE // L_low + U
	gpEst    bounds.Estimate
	diffEst  bounds.Estimate
	bracket  bounds.Bracket // with the given Certified's proposal
	normal   bounds.Bracket // with the generator's own law, z ~ N(0, I)
	certErr  error          // from Certified.Entropy (an *UnavailableError for D ≠ d)
}

// measure builds the bounds on nets (gp and diffusion with log-Sobolev
// constant lsi), lets fill set the data, latent and noise inputs, runs the
// graph once and reads the bounds.
func measure(tb testing.TB, t *autodiff.Tape, nets bounds.Nets, data, z *autodiff.Node, lsi float64, cert bounds.Certified, fill func(noise []*autodiff.Node)) readings {
	tb.Helper()
	var r readings
	b := bounds.Batch{Data: data, Z: z}
	low, err := (&bounds.JacobianEntropy{Exact: true, Weight: 1}).Entropy(nets, b)
	if err != nil {
		tb.Fatal(err)
	}
	gp := bounds.NewGradientPenalty(false)
	gp.LSI = lsi
	df := bounds.NewDiffusion()
	df.LSI = lsi
	if r.gpEst, err = gp.KL(nets, b); err != nil {
		tb.Fatal(err)
	}
	if r.diffEst, err = df.KL(nets, b); err != nil {
		tb.Fatal(err)
	}
	eData, _ := nets.Energy(data)
	eX, _ := nets.Energy(low.X)
	// The brackets' latent draws come from their proposals, on inputs of
	// their own: the given one and N(0, I).
	normal := cert
	normal.Proposal = bounds.Proposal{}
	brs := []*bracketRig{{c: cert, out: &r.bracket}, {c: normal, out: &r.normal}}
	// Each also has independent draws for its fold check.
	for i, br := range brs {
		br.z = t.Input(fmt.Sprintf("z-proposal-%d", i), z.Shape()...)
		br.zFold = t.Input(fmt.Sprintf("z-fold-%d", i), z.Shape()...)
		if br.est, r.certErr = br.c.Entropy(nets, bounds.Batch{Data: data, Z: br.z}); r.certErr == nil {
			br.energy, _ = nets.Energy(br.est.X)
			br.fold, r.certErr = br.c.Entropy(nets, bounds.Batch{Data: data, Z: br.zFold})
		}
		if r.certErr != nil && !errors.As(r.certErr, new(*bounds.UnavailableError)) {
			tb.Fatal(r.certErr)
		}
	}
	if err := t.Err(); err != nil {
		tb.Fatal(err)
	}
	fill(append(append(low.Noise, r.gpEst.Noise...), r.diffEst.Noise...))
	for i, br := range brs {
		br.zs, br.ratios = drawProposal(br.z, br.c.Proposal, uint64(z.Shape()[0]+i))
		br.zFoldVals, _ = drawProposal(br.zFold, br.c.Proposal, uint64(z.Shape()[0]+i+1000))
	}
	vm := autodiff.NewMachine(t)
	defer vm.Close()
	graphtest.Run(tb, vm)
	r.ed = meanSEOf(graphtest.Values(eData))
	lows := graphtest.Values(eX)
	for i, h := range graphtest.Values(low.Samples) {
		lows[i] = h - lows[i]
	}
	r.low = shift(meanSEOf(lows), r.ed)
	r.gp = shift(meanSEOf(addTo(lows, graphtest.Values(r.gpEst.Samples))), r.ed)
	r.diff = shift(meanSEOf(addTo(lows, graphtest.Values(r.diffEst.Samples))), r.ed)
	for _, br := range brs {
		if r.certErr != nil {
			break
		}
		logW := graphtest.Values(br.energy)
		for i, h := range graphtest.Values(br.est.Samples) {
			logW[i] = h - logW[i]
		}
		d := nets.LatentDim
		var fc, indep bounds.FoldCheck
		fc.Add(br.zs, graphtest.Values(br.est.Jacobian), d)
		indep.Add(br.zFoldVals, graphtest.Values(br.fold.Jacobian), d)
		w := bounds.Weights{LogW: logW, LogRatio: br.ratios, Norm: bounds.RowNorms(br.zs, d), Dim: d}
		if *br.out, err = br.c.Bracket(r.ed, w, fc, indep); err != nil {
			tb.Fatal(err)
		}
	}
	return r
}

// bracketRig is one certified bracket of measure: its latent input, its
// estimate and the energy of its samples, and the independent latent
// input of its fold check with its estimate.
type bracketRig struct {
	c             bounds.Certified
	z, zFold      *autodiff.Node
	est, fold     bounds.Estimate
	energy        *autodiff.Node
	zs, zFoldVals []float64
	ratios        []float64
	out           *bounds.Bracket
}

// drawProposal sets zc to draws of the proposal p from seed and returns
// them and their log-ratios log N(z) − log ρ(z).
func drawProposal(zc *autodiff.Node, p bounds.Proposal, seed uint64) (z, logRatio []float64) {
	r := rand.New(rand.NewPCG(seed, 29))
	m, d := zc.Shape()[0], zc.Shape()[1]
	zs := make([]float64, m*d)
	ratios := make([]float64, m)
	for i := range ratios {
		ratios[i], _ = p.Draw(r, zs[i*d:(i+1)*d])
	}
	must(autodiff.Let(zc, autodiff.NewTensor([]int{m, d}, zs)))
	return zs, ratios
}

func meanSEOf(xs []float64) bounds.MeanSE {
	m, se := meanSE(xs)
	return bounds.MeanSE{Value: m, StdErr: se}
}

// shift adds the data term to a per-sample mean.
func shift(v, ed bounds.MeanSE) bounds.MeanSE {
	return bounds.MeanSE{Value: v.Value + ed.Value, StdErr: math.Hypot(v.StdErr, ed.StdErr)}
}

// addTo returns a + b elementwise, as a new slice.
func addTo(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

// fnRig places networks written as tape functions of scalar parameters.
type fnRig struct {
	t       *autodiff.Tape
	nets    bounds.Nets
	data, z *autodiff.Node
	params  map[bounds.Role][]*autodiff.Node
}

func newFnRig(D, d, n, m int) *fnRig {
	t := autodiff.NewTape(autodiff.Float64)
	return &fnRig{t: t, nets: bounds.Nets{Tape: t, DataDim: D, LatentDim: d},
		data: t.Input("data", n, D), z: t.Input("z", m, d), params: map[bounds.Role][]*autodiff.Node{}}
}

// scalar adds a (1, 1) parameter of role holding v.
func (rg *fnRig) scalar(role bounds.Role, name string, v float64) *autodiff.Node {
	p := rg.t.Variable(role.String()+"."+name, autodiff.NewTensor([]int{1, 1}, []float64{v}))
	rg.params[role] = append(rg.params[role], p)
	return p
}

// col returns column k of x (rows, cols) as (rows, 1).
func col(t *autodiff.Tape, x *autodiff.Node, k int) *autodiff.Node {
	cols := x.Shape()[1]
	e := make([]float64, cols)
	e[k] = 1
	return t.MatMul(x, t.Const(e, cols, 1), false, false)
}

// fill sets the data rows, the latent draws and every noise input from
// seed; data rows are G(z') for fresh z' by sample (rows of D values).
func (rg *fnRig) fill(seed uint64, sample func(z []float64) []float64) func(noise []*autodiff.Node) {
	return func(noise []*autodiff.Node) {
		r := rand.New(rand.NewPCG(seed, 17))
		n, D, d := rg.data.Shape()[0], rg.nets.DataDim, rg.nets.LatentDim
		data := make([]float64, 0, n*D)
		for range n {
			data = append(data, sample(randVec(r, d, 1))...)
		}
		must(autodiff.Let(rg.data, autodiff.NewTensor([]int{n, D}, data)))
		must(autodiff.Let(rg.z, randDense(r, 1, rg.z.Shape()...)))
		for _, nz := range noise {
			must(autodiff.Let(nz, randDense(r, 1, nz.Shape()...)))
		}
	}
}
