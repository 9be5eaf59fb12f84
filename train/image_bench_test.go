//go:build unix

package train

import (
	"path/filepath"
	"strconv"
	"testing"
)

// imageBatches are the batch sizes BenchmarkImageStep times.
var imageBatches = []int{16, 64}

// imageOptions returns the 28×28 image pair of bench/image_step.py: the
// conv energy testdata/bench/energy_conv28.onnx and the DCGAN generator
// testdata/torchquirks/generator_dcgan28.onnx, on random CSV rows of
// width 784, with the default lower bound and the upper bound upper.
func imageOptions(b *testing.B, upper string, batch int) Options {
	o := DefaultOptions()
	o.Data = writeCSV(b, b.TempDir(), 256, 784)
	o.DataRows = 0
	o.Energy = filepath.Join(repoTestdata, "bench", "energy_conv28.onnx")
	o.Generator = filepath.Join(repoTestdata, "torchquirks", "generator_dcgan28.onnx")
	o.BatchSize = batch
	o.Upper = upper
	o.Out = b.TempDir()
	return o
}

// BenchmarkImageStep times one iteration (one energy and one generator
// update) of the 28×28 image pair of imageOptions with the default
// jacobian lower bound and the upper bounds gp (the default) and gp0, at
// each batch size of imageBatches, as BenchmarkImageStep/UPPER/BATCH.
// bench/image.sh runs it beside bench/image_step.py, which times the same
// iteration in PyTorch.
func BenchmarkImageStep(b *testing.B) {
	for _, upper := range []string{"gp", "gp0"} {
		b.Run(upper, func(b *testing.B) {
			for _, batch := range imageBatches {
				b.Run(strconv.Itoa(batch), func(b *testing.B) {
					benchmarkStep(b, imageOptions(b, upper, batch), Hooks{})
				})
			}
		})
	}
}
