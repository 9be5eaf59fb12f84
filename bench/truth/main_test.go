package main

import (
	"math"
	"testing"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/pipeline/quality"
)

// TestEnergyModel checks that the ONNX energy is −log p of the mixture, at
// the centres, between them and far away, for both toy mixtures and a
// replaced width.
func TestEnergyModel(t *testing.T) {
	wide := quality.Gaussians25()
	wide.Sigma = 0.1
	for name, m := range map[string]quality.Mixture{
		"25gaussians": quality.Gaussians25(), "8gaussians": quality.Gaussians8(), "25gaussians σ 0.1": wide,
	} {
		model, err := energyModel(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		net, err := importers.New(model)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := m.Centres[3]
		rows := [][]float64{c, {c[0] + 0.01, c[1] - 0.02}, {0.1, 0.2}, {-0.3, 0.5}, {2, -1.7}}
		ev, err := net.NewEvaluator(len(rows))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var x []float64
		for _, r := range rows {
			x = append(x, r...)
		}
		out, err := ev.Run(x, len(rows))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, r := range rows {
			want := -m.LogDensity(r)
			// float32 weights and graph: relative error ~1e-6 of the
			// squared distances' scale 1/(2σ²).
			if got := out[0][i]; math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
				t.Errorf("%s: E(%v) = %v, want −log p = %v", name, r, got, want)
			}
		}
	}
}
