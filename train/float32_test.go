package train

import (
	"fmt"
	"math"
	"testing"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// TestFloat32Step runs the energy and the generator step of a briefly
// trained toy run in float32 and float64 graphs on the same parameters and
// draws, and wants the same loss and gradients: float32 graphs may only
// round, not change what a step does. (On the demo's trained models the
// gradients agree to 2e-6; bench/float32.md.)
func TestFloat32Step(t *testing.T) {
	for _, c := range []struct{ lower, upper string }{
		{"jacobian", "diffusion"},
		{"jacobian-exact", "gp"},
		{"jacobian", "gp"},
	} {
		t.Run(c.lower+"/"+c.upper, func(t *testing.T) {
			o := tinyOptions(t)
			o.Lower, o.Upper = c.lower, c.upper
			tr, err := NewTrainer(t.Context(), o, Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			for range 20 {
				if err := tr.iterate(); err != nil {
					t.Fatal(err)
				}
			}
			for _, energy := range []bool{true, false} {
				what := map[bool]string{true: "energy step", false: "generator step"}[energy]
				g64, l64 := runStepAt(t, tr, energy, autodiff.Float64)
				g32, l32 := runStepAt(t, tr, energy, autodiff.Float32)
				if e := math.Abs(l32 - l64); e > 1e-4*(1+math.Abs(l64)) {
					t.Errorf("%s: loss %.8g in float32, %.8g in float64", what, l32, l64)
				}
				e := relDiff(g32, g64)
				if e > 1e-4 {
					t.Errorf("%s: float32 gradients off by %.3g (relative norm)", what, e)
				}
				t.Logf("%s: float32 gradients off by %.3g, loss by %.3g", what, e, l32-l64)
			}
		})
	}
}

// runStepAt builds the energy (or generator) step of tr in graphs of
// element type dt, runs it once on draws of a fixed seed at tr's current
// parameters, and returns all its gradients, concatenated, and its loss.
func runStepAt(t *testing.T, tr *Trainer, energy bool, dt autodiff.Dtype) ([]float64, float64) {
	t.Helper()
	p, err := buildProgram(energy, false, weighting{}, tr.nets, tr.lower, tr.upper, dt, tr.o.BatchSize, tr.data.Width, tr.gen.inWidth)
	if err != nil {
		t.Fatal(err)
	}
	s, err := data.NewSampler(tr.data, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.run(tr.step, s, data.NewRNG(5, "z"), data.NewRNG(5, "noise")); err != nil {
		t.Fatal(fmt.Errorf("%v: %w", dt, err))
	}
	var g []float64
	for _, net := range p.gradBuf {
		for _, b := range net {
			g = append(g, b...)
		}
	}
	return g, p.lossVal
}

// relDiff is ‖a − b‖/‖b‖.
func relDiff(a, b []float64) float64 {
	num, den := 0.0, 0.0
	for i := range b {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den += b[i] * b[i]
	}
	return math.Sqrt(num / den)
}
