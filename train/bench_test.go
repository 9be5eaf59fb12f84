package train

import (
	"testing"
)

// benchmarkIteration times training iterations (one energy and one
// generator update) of the paper's toy networks: 2-100-100-1 energy,
// 2-100-100-2 generator with BatchNorm, batch 200.
func benchmarkIteration(b *testing.B, h Hooks) {
	o := DefaultOptions()
	o.DataRows = 5000
	o.Out = b.TempDir()
	tr, err := NewTrainer(o, h)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := tr.iterate(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}

func BenchmarkIterationFakeBounds(b *testing.B) { benchmarkIteration(b, fakeHooks()) }

// BenchmarkIteration times the toy defaults: --lower jacobian --upper gp.
func BenchmarkIteration(b *testing.B) { benchmarkIteration(b, Hooks{}) }
