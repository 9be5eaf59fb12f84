package train

import (
	"context"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/train/metrics"
)

// evalGenerator runs the generator n in inference mode (running
// statistics) with its current values on the latent rows z.
func evalGenerator(t *testing.T, n *network, z []float64) []float64 {
	t.Helper()
	rows := len(z) / n.inWidth
	tp := autodiff.NewTape(autodiff.Float64)
	in := tp.Variable("z", autodiff.Zeros(autodiff.Float64, rows, n.inWidth))
	ps := n.net.NewParams(tp)
	for i, v := range n.values {
		if err := ps.SetData(i, v); err != nil {
			t.Fatal(err)
		}
	}
	outs, err := n.net.Apply(tp, ps, importers.ApplyOptions{}, in)
	if err != nil {
		t.Fatal(err)
	}
	vm := autodiff.NewMachine(tp)
	defer vm.Close()
	if err := autodiff.CopyIn(in, z); err != nil {
		t.Fatal(err)
	}
	if err := vm.Run(); err != nil {
		t.Fatal(err)
	}
	x, err := autodiff.CopyOut(nil, outs[0])
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestBatchNormJacobianExact trains a BatchNorm generator with the exact
// Jacobian bound, refused before: the steps run without a singular
// matrix, the running statistics move from their initial 0 and 1 towards
// the batch statistics, and the entropy of every sample the bound forms
// is ½ log det JᵀJ of the central-difference Jacobian of the generator
// in inference mode, not of the batch-coupled training-mode one.
func TestBatchNormJacobianExact(t *testing.T) {
	for _, upper := range []string{"gp", "diffusion"} {
		t.Run(upper, func(t *testing.T) {
			o := tinyOptions(t)
			o.GeneratorBatchNorm, o.Lower, o.Upper = true, "jacobian-exact", upper
			tr, err := NewTrainer(context.Background(), o, Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			if tr.bnTrack == nil {
				t.Fatal("no running statistics tracked for a BatchNorm generator")
			}
			for range 20 {
				if err := tr.iterate(); err != nil {
					t.Fatal(err)
				}
				tr.step++
			}
			row := tr.row()
			if h, s := row.Get(metrics.ColEntropy), row.Get(metrics.ColSMin); bad(h) || !(s > 0) {
				t.Errorf("entropy %v, s_min %v after 20 iterations", h, s)
			}
			// The running statistics have moved, and track a fresh
			// estimate at the current parameters.
			est, err := batchNormStats(tr.gen, 256, 8, tr.zRNG)
			if err != nil {
				t.Fatal(err)
			}
			for k, i := range append(append([]int{}, tr.bnTrack.mean...), tr.bnTrack.vr...) {
				name := tr.gen.params[i].Name
				run, want := tr.gen.values[i], est[name]
				init := 0.0
				if strings.HasSuffix(name, "var") {
					init = 1
				}
				var moved, off float64
				for ch := range run {
					moved = max(moved, math.Abs(run[ch]-init))
					off = max(off, math.Abs(run[ch]-want[ch])/(1+math.Abs(want[ch])))
				}
				if moved < 1e-3 || off > 0.5 {
					t.Errorf("%s (%d): running %v, fresh estimate %v", name, k, run, want)
				}
			}

			// One generator step; its per-sample entropy terms against
			// finite differences of the inference-mode generator.
			p := tr.gStages[0].p
			if err := p.run(tr.step, tr.sampler, tr.zRNG, tr.noise); err != nil {
				t.Fatal(err)
			}
			h, err := autodiff.CopyOut(nil, p.samples)
			if err != nil {
				t.Fatal(err)
			}
			const d, eps = 2, 1e-6
			z := p.zBuf
			rows := len(z) / d
			if len(h) != rows {
				t.Fatalf("%d entropy terms for %d rows", len(h), rows)
			}
			cols := make([][]float64, d) // ∂x/∂z_k, rows × D
			for k := range d {
				zp, zm := append([]float64{}, z...), append([]float64{}, z...)
				for i := range rows {
					zp[i*d+k] += eps
					zm[i*d+k] -= eps
				}
				xp, xm := evalGenerator(t, tr.gen, zp), evalGenerator(t, tr.gen, zm)
				cols[k] = make([]float64, len(xp))
				for j := range xp {
					cols[k][j] = (xp[j] - xm[j]) / (2 * eps)
				}
			}
			log2πe := math.Log(2 * math.Pi * math.E)
			worst := 0.0
			for i := range rows {
				J := mat.NewDense(d, d, nil)
				for r := range d {
					for k := range d {
						J.Set(r, k, cols[k][i*d+r])
					}
				}
				want := math.Log(math.Abs(mat.Det(J))) + d/2.0*log2πe
				worst = max(worst, math.Abs(h[i]-want))
			}
			if worst > 1e-5 {
				t.Errorf("per-sample entropy terms differ from the inference-mode generator's finite-difference log|det J| by up to %.3g", worst)
			}
		})
	}
}
