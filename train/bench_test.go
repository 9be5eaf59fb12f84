//go:build unix

package train

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/ebmpipe/ebmpipe/bounds"
)

// Benchmarks of one training iteration on the toy setup: energy
// mlp:2-128-128-1 with spectral normalisation, generator mlp:2-128-128-2
// (the default activation, no BatchNorm), batch 256, one energy and one
// generator update per iteration, in float64 and float32 graphs.
// bench/train.sh runs them beside bench/train_step.py, which times the
// same iteration in PyTorch: a change here needs the same change there.

// benchEncoder is the encoder of the mi lower bound, which has no default:
// the data width to twice the latent width, with the hidden layers of the
// other two networks.
const benchEncoder = "mlp:2-128-128-4"

// benchPrecisions are the element types of the graphs benchmarked.
var benchPrecisions = []string{"float64", "float32"}

// benchOptions returns the toy setup with the bounds lower and upper and
// graphs of the given precision.
func benchOptions(b *testing.B, lower, upper, precision string) Options {
	o := DefaultOptions()
	if err := o.ApplyRecipe(RecipePaper); err != nil { // pinned: bench/train_step.py has no average or schedule
		b.Fatal(err)
	}
	o.DataRows = 5000
	o.Energy = "mlp:2-128-128-1"
	o.Generator = "mlp:2-128-128-2"
	o.BatchSize = 256
	o.SpectralNorm = true // pinned: bench/train_step.py does it too
	o.Precision = precision
	o.Lower, o.Upper = lower, upper
	if lower == "mi" {
		o.Encoder = benchEncoder
	}
	o.Out = b.TempDir()
	return o
}

// benchmarkStep times iterations (one energy and one generator update,
// Adam included) after the graphs are built, and reports steps/s and the
// CPU time of the process per step, which other jobs on the machine
// disturb less than the wall time.
func benchmarkStep(b *testing.B, o Options, h Hooks) {
	tr, err := NewTrainer(context.Background(), o, h)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu := cpuTime(b)
	for range b.N {
		if err := tr.iterate(); err != nil {
			b.Fatal(err)
		}
	}
	cpu = cpuTime(b) - cpu
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
	b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-ms/step")
}

// cpuTime returns the user and system time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStep times every lower × upper bound pair in each precision,
// as BenchmarkStep/LOWER/UPPER/PRECISION.
func BenchmarkStep(b *testing.B) {
	for _, lower := range bounds.LowerNames() {
		b.Run(lower, func(b *testing.B) {
			for _, upper := range bounds.UpperNames() {
				if upper == "none" {
					continue
				}
				b.Run(upper, func(b *testing.B) {
					for _, prec := range benchPrecisions {
						b.Run(prec, func(b *testing.B) {
							benchmarkStep(b, benchOptions(b, lower, upper, prec), Hooks{})
						})
					}
				})
			}
		})
	}
}

// BenchmarkStepFakeBounds is the floor of BenchmarkStep: the same networks
// with the test's minimal bounds (a 2×2 log-determinant from two VJPs and a
// gradient penalty at noisy samples) in place of the real ones, so that
// nearly all the time is the networks' forward and backward passes; as
// BenchmarkStepFakeBounds/PRECISION.
func BenchmarkStepFakeBounds(b *testing.B) {
	for _, prec := range benchPrecisions {
		b.Run(prec, func(b *testing.B) {
			benchmarkStep(b, benchOptions(b, "jacobian", "gp", prec), fakeHooks())
		})
	}
}

// commandOptions is the `ebmpipe train` run of issue 16's report:
//
//	ebmpipe train --data toy:8gaussians --energy mlp:2-128-128-1:silu \
//	  --generator mlp:2-128-128-2:silu --lower jacobian-exact --upper gp \
//	  --batch-size 256
//
// with every other option at its default then, the paper's recipe (no
// spectral normalisation, 100 000 data rows, a metrics row every 100
// iterations, a checkpoint every 1000 and at the end).
func commandOptions(b *testing.B) Options {
	o := DefaultOptions()
	if err := o.ApplyRecipe(RecipePaper); err != nil {
		b.Fatal(err)
	}
	o.Data = "toy:8gaussians"
	o.Energy = "mlp:2-128-128-1:silu"
	o.Generator = "mlp:2-128-128-2:silu"
	o.Lower, o.Upper = "jacobian-exact", "gp"
	o.BatchSize = 256
	o.Out = b.TempDir()
	return o
}

// BenchmarkCommand compares, on the configuration of commandOptions, the
// step BenchmarkStep times (BenchmarkCommand/step) with the whole of
// Trainer.Run for b.N iterations (BenchmarkCommand/run: its metrics rows,
// checkpoints and the export at the end included, the graphs' building
// not), per iteration. bench/train_cmd.sh times the whole process beside
// them.
func BenchmarkCommand(b *testing.B) {
	b.Run("step", func(b *testing.B) {
		benchmarkStep(b, commandOptions(b), Hooks{})
	})
	b.Run("run", func(b *testing.B) {
		o := commandOptions(b)
		o.Steps = b.N
		tr, err := NewTrainer(context.Background(), o, Hooks{})
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		cpu := cpuTime(b)
		if _, err := tr.Run(b.Context()); err != nil {
			b.Fatal(err)
		}
		cpu = cpuTime(b) - cpu
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
		b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-ms/step")
	})
}
