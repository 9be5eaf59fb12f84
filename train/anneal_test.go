package train

import (
	"context"
	"math"
	"testing"
)

// TestAnneal checks that the annealing divides the entropy term of the
// generator's loss by β_t = β_0^(1−t/T), for every lower bound that has a
// loss weight, and leaves it alone after T iterations and when off.
func TestAnneal(t *testing.T) {
	const from, steps = 0.01, 100
	for _, lower := range []string{"jacobian", "jacobian-exact"} {
		for _, c := range []struct {
			from   float64
			step   int
			factor float64
		}{
			{from, 0, 100}, {from, 50, 10}, {from, 75, math.Sqrt(10)}, {from, 100, 1}, {from, 1000, 1},
			{0, 0, 1},
		} {
			o := tinyOptions(t)
			o.Lower, o.AnnealFrom, o.AnnealSteps = lower, c.from, steps
			tr, err := NewTrainer(context.Background(), o, Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			p := tr.gStages[0].p
			if err := p.run(c.step, tr.sampler, tr.zRNG, tr.noise); err != nil {
				t.Fatal(err)
			}
			es, h := p.values["energy_samples"], p.values["entropy"]
			want := es - c.factor*h
			if got := p.lossVal; math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
				t.Errorf("%s, β0 %v, step %d: generator loss %v, want E − %v·H = %v", lower, c.from, c.step, got, c.factor, want)
			}
		}
	}
}
