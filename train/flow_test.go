package train

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/train/metrics"
)

// TestFlowGenerator trains a flow generator against the exact Jacobian
// entropy and the gradient penalty: the certified bracket's lower end,
// which a folding MLP generator does not have, is logged, and the
// exported generator.onnx re-imports as a generator computing what the
// trained network's parameter average computes.
func TestFlowGenerator(t *testing.T) {
	o := tinyOptions(t)
	o.Generator, o.Lower, o.Upper = "flow:2-2-8", "jacobian-exact", "gp"
	o.Steps, o.LogEvery, o.CheckpointEvery, o.BracketEvery, o.BracketSamples = 10, 5, 0, 5, 200
	tr, res := mustRun(t, o, Hooks{})
	// A fold would leave both ends empty; the upper end may still be
	// missing here, as the χ² weights of an untrained, flat energy have
	// too heavy a tail.
	if v := res.Metrics.Get(metrics.ColBracketLower); math.IsNaN(v) || math.IsInf(v, 0) {
		t.Errorf("%s = %v, want a number: a flow does not fold", metrics.ColBracketLower, v)
	}
	g, err := loadNetwork(bounds.Generator, "generator", "Generator", filepath.Join(o.Out, GeneratorFile), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	z := []float64{0.3, -1.2, 2, 0.5, -0.7, 0.1}
	tr.ema.swap() // the export holds the parameter average (Options.EMA)
	want := forwardRows(t, tr.gen, tr.gen.values, z)
	tr.ema.swap()
	got := forwardRows(t, g, g.values, z)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-5*(1+math.Abs(want[i])) {
			t.Fatalf("exported flow gives %v, the trained one %v", got, want)
		}
	}
}

// forwardRows returns the output of n with the parameter values values on
// the rows of z.
func forwardRows(t *testing.T, n *network, values [][]float64, z []float64) []float64 {
	t.Helper()
	tp := autodiff.NewTape(autodiff.Float64)
	ps := n.net.NewParams(tp)
	for i, v := range values {
		ps.SetData(i, v)
	}
	x := tp.Variable("z", autodiff.NewTensor([]int{len(z) / n.inWidth, n.inWidth}, z))
	y, err := n.apply(tp, ps, false)(x)
	if err != nil {
		t.Fatal(err)
	}
	if err := autodiff.NewMachine(tp).Run(); err != nil {
		t.Fatal(err)
	}
	return y.Float64s()
}
