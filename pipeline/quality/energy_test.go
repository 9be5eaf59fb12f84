package quality_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/pipeline/quality"
)

// TestEnergyPointMasses checks the closed form of two point masses, in
// several dimensions: x at a, y at b, energy distance 2|a − b| (the
// within-sample distances are 0). Equal masses tie with every
// relabelling, so p = 1; different ones give the smallest p-value but
// for relabellings that repeat the split.
func TestEnergyPointMasses(t *testing.T) {
	cases := []struct {
		a, b []float64
		n, m int
	}{
		{[]float64{0}, []float64{1.5}, 30, 40},
		{[]float64{1, 2}, []float64{-2, 6}, 50, 25},
		{[]float64{0.1, 0.2, 0.3, 0.4, 0.5}, []float64{0.5, 0.4, 0.3, 0.2, 0.1}, 20, 20},
		{[]float64{3, 3}, []float64{3, 3}, 20, 30},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.a, c.b), func(t *testing.T) {
			var x, y []float64
			for range c.n {
				x = append(x, c.a...)
			}
			for range c.m {
				y = append(y, c.b...)
			}
			o := quality.DefaultTwoSampleOptions()
			o.Permutations = 99
			res, err := quality.EnergyDistance(context.Background(), x, y, len(c.a), o)
			if err != nil {
				t.Fatal(err)
			}
			dist := 0.0
			for j := range c.a {
				dist += (c.a[j] - c.b[j]) * (c.a[j] - c.b[j])
			}
			want, wantP := 2*math.Sqrt(dist), 0.01
			if dist == 0 {
				wantP = 1
			}
			if math.Abs(res.Value-want) > 1e-12*(1+want) || res.PValue != wantP || res.N != c.n || res.M != c.m {
				t.Errorf("%v: want %.12g, p = %g, n = %d, m = %d", res, want, wantP, c.n, c.m)
			}
		})
	}
}

// TestEnergyGaussians checks the estimate against the closed form for
// N(0, 1) and N(μ, 1) in one dimension:
// 2 E|N(μ, 2)| − 2 E|N(0, 2)|, E|N(μ, s²)| = s√(2/π) e^{−μ²/2s²} + μ(1 − 2Φ(−μ/s)).
func TestEnergyGaussians(t *testing.T) {
	absMean := func(mu, s float64) float64 {
		return s*math.Sqrt(2/math.Pi)*math.Exp(-mu*mu/(2*s*s)) + mu*math.Erf(mu/(s*math.Sqrt2))
	}
	for _, mu := range []float64{0, 0.5, 1, 3} {
		want := 2*absMean(mu, math.Sqrt2) - 2*absMean(0, math.Sqrt2)
		o := quality.DefaultTwoSampleOptions()
		o.Permutations = 0
		res, err := quality.EnergyDistance(context.Background(), gaussRows(2000, 1, 0, 1), gaussRows(2000, 1, mu, 2), 1, o)
		if err != nil {
			t.Fatal(err)
		}
		// The estimate's standard deviation at n = m = 2000, measured over
		// 20 pairs of seeds, is 0.001, 0.041 and 0.083 at μ = 0, 1 and 3:
		// the tolerance is 3 to 5 of them.
		if math.Abs(res.Value-want) > 0.005+0.12*mu || !math.IsNaN(res.PValue) {
			t.Errorf("μ = %g: %v, want %.4f and no p-value", mu, res, want)
		}
		t.Logf("μ = %g: estimate %.4f, closed form %.4f", mu, res.Value, want)
	}
}

// TestEnergyNull checks that the permutation test holds its level: over
// 200 pairs of samples from one law, the share of p-values ≤ 0.05 is
// 0.05 (exactly, for 99 permutations of continuous data) within 3.5
// binomial standard errors, and the mean p-value is 0.505 within 3.5
// standard errors of a uniform mean.
func TestEnergyNull(t *testing.T) {
	const seeds = 200
	o := quality.DefaultTwoSampleOptions()
	o.Permutations = 99
	low, sum := 0, 0.0
	for s := range uint64(seeds) {
		o.Seed = s
		res, err := quality.EnergyDistance(context.Background(), gaussRows(40, 2, 0, 2*s+100), gaussRows(40, 2, 0, 2*s+101), 2, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.PValue <= 0.05 {
			low++
		}
		sum += res.PValue
	}
	share, mean := float64(low)/seeds, sum/seeds
	if math.Abs(share-0.05) > 3.5*math.Sqrt(0.05*0.95/seeds) || math.Abs(mean-0.505) > 3.5*math.Sqrt(1.0/12/seeds) {
		t.Errorf("share of p ≤ 0.05: %.3f, mean p %.3f: want 0.05 and 0.505", share, mean)
	}
	t.Logf("share of p ≤ 0.05: %.3f, mean p %.3f over %d seeds", share, mean, seeds)
}

// TestEnergyDifferent checks that clearly different laws give p < 0.01.
func TestEnergyDifferent(t *testing.T) {
	cases := []struct {
		name  string
		dim   int
		shift float64
		scale float64 // of y
	}{
		{"shift 1σ, 1-D", 1, 1, 1},
		{"shift 1σ, 2-D", 2, 1, 1},
		{"shift 1σ, 10-D", 10, 1, 1},
		{"scale 2, 2-D", 2, 0, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := gaussRows(200, c.dim, 0, 6)
			for i := range y {
				y[i] *= c.scale
				if i%c.dim == 0 {
					y[i] += c.shift
				}
			}
			res, err := quality.EnergyDistance(context.Background(), gaussRows(200, c.dim, 0, 5), y, c.dim, quality.DefaultTwoSampleOptions())
			if err != nil {
				t.Fatal(err)
			}
			if !(res.PValue < 0.01) || res.Value <= 0 {
				t.Errorf("%v: want p < 0.01 and a positive distance", res)
			}
		})
	}
}

// TestEnergySubsample checks that samples beyond MaxRows are subsampled
// to MaxRows rows the same way on every call, and differently for another
// seed.
func TestEnergySubsample(t *testing.T) {
	x, y := gaussRows(300, 2, 0, 1), gaussRows(250, 2, 0.3, 2)
	o := quality.TwoSampleOptions{Permutations: 20, MaxRows: 100, Seed: 4}
	a, errA := quality.EnergyDistance(context.Background(), x, y, 2, o)
	b, errB := quality.EnergyDistance(context.Background(), x, y, 2, o)
	o.Seed = 5
	c, errC := quality.EnergyDistance(context.Background(), x, y, 2, o)
	if err := errors.Join(errA, errB, errC); err != nil {
		t.Fatal(err)
	}
	if a != b || a.N != 100 || a.M != 100 || c.Value == a.Value {
		t.Errorf("seed 4: %v and %v; seed 5: %v: want equal, 100 rows each, and a different value", a, b, c)
	}
}

// TestEnergyErrors checks that bad options and rows are refused, with every
// problem named, and that a cancelled context stops the test.
func TestEnergyErrors(t *testing.T) {
	two := []float64{0, 0, 1, 1}
	cases := []struct {
		name string
		x, y []float64
		dim  int
		o    quality.TwoSampleOptions
		want []string
	}{
		{"options", two, two, 2, quality.TwoSampleOptions{Permutations: -1, MaxRows: 1}, []string{"Permutations -1", "MaxRows 1"}},
		{"rows", []float64{0, 0, 1}, []float64{math.Inf(1), 0}, 2, quality.DefaultTwoSampleOptions(),
			[]string{"x: 3 values", "y: row 0 value 0 is +Inf"}},
		{"width", two, two, 0, quality.DefaultTwoSampleOptions(), []string{"x: row width 0"}},
		{"one row", []float64{0, 0}, two, 2, quality.DefaultTwoSampleOptions(), []string{"x has 1 rows"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := quality.EnergyDistance(context.Background(), tc.x, tc.y, tc.dim, tc.o)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := quality.EnergyDistance(ctx, two, two, 2, quality.DefaultTwoSampleOptions()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v, want context.Canceled", err)
	}
}

// ExampleEnergyDistance compares 500 rows of N(0, I₂) with 500 rows of
// N((0.5, 0), I₂).
func ExampleEnergyDistance() {
	x, y := gaussRows(500, 2, 0, 1), gaussRows(500, 2, 0.5, 2)
	res, err := quality.EnergyDistance(context.Background(), x, y, 2, quality.DefaultTwoSampleOptions())
	if err != nil {
		panic(err)
	}
	fmt.Printf("energy distance %.3f, p = %.4f (%d permutations; n = %d, m = %d)\n", res.Value, res.PValue, res.Permutations, res.N, res.M)
	// Output: energy distance 0.086, p = 0.0050 (200 permutations; n = 500, m = 500)
}
