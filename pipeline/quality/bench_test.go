package quality_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/ebmpipe/ebmpipe/pipeline/quality"
)

// gaussRows returns n rows of dim standard normal values, shifted by shift
// in the first value, drawn with seed.
func gaussRows(n, dim int, shift float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 17))
	x := make([]float64, n*dim)
	for i := range x {
		x[i] = r.NormFloat64()
		if i%dim == 0 {
			x[i] += shift
		}
	}
	return x
}

// BenchmarkEnergyDistance is the permutation test at its default size:
// 2000 + 2000 two-dimensional rows, 200 permutations.
func BenchmarkEnergyDistance(b *testing.B) {
	x, y := gaussRows(2000, 2, 0, 1), gaussRows(2000, 2, 0, 2)
	o := quality.DefaultTwoSampleOptions()
	for b.Loop() {
		if _, err := quality.EnergyDistance(context.Background(), x, y, 2, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnergyDistanceNoTest is the distance matrix alone.
func BenchmarkEnergyDistanceNoTest(b *testing.B) {
	x, y := gaussRows(2000, 2, 0, 1), gaussRows(2000, 2, 0, 2)
	o := quality.DefaultTwoSampleOptions()
	o.Permutations = 0
	for b.Loop() {
		if _, err := quality.EnergyDistance(context.Background(), x, y, 2, o); err != nil {
			b.Fatal(err)
		}
	}
}
