package quality_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/pipeline/quality"
)

// at returns k copies of the point c offset by off·Sigma along the first axis.
func at(c []float64, k int, off, sigma float64) []float64 {
	var x []float64
	for range k {
		x = append(x, c[0]+off*sigma, c[1])
	}
	return x
}

// TestCoverageConstructed checks Coverage on samples placed by hand.
func TestCoverageConstructed(t *testing.T) {
	m := quality.Gaussians25()
	c, s := m.Centres, m.Sigma
	every := func(k int) []float64 {
		var x []float64
		for _, ctr := range c {
			x = append(x, at(ctr, k, 0, s)...)
		}
		return x
	}
	cases := []struct {
		name    string
		x       []float64
		modes   int
		hq      float64
		counted []int // modes whose count is checked to be the number of rows near them
	}{
		{"all on one mode", at(c[7], 1000, 0, s), 1, 1, []int{7}},
		{"one at each mode", every(1), 25, 1, nil},
		{"at 2.9σ", at(c[0], 100, 2.9, s), 1, 1, []int{0}},
		{"at 3.1σ", at(c[0], 100, 3.1, s), 0, 0, nil},
		{"far away", at([]float64{10, 10}, 50, 0, s), 0, 0, nil},
		{"exactly 1% on a second mode", append(at(c[0], 99, 0, s), at(c[1], 1, 0, s)...), 2, 1, []int{0, 1}},
		{"under 1% on a second mode", append(at(c[0], 201, 0, s), at(c[1], 2, 0, s)...), 1, 1, []int{0, 1}},
		{"half off-mode", append(at(c[3], 10, 0, s), at(c[3], 10, 5, s)...), 1, 0.5, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cov, err := m.Coverage(tc.x, quality.DefaultCoverageOptions())
			if err != nil {
				t.Fatal(err)
			}
			if cov.Modes != tc.modes || cov.HighQuality != tc.hq || cov.Total != 25 || cov.N != len(tc.x)/2 {
				t.Errorf("%v, total %d: want %d/25 modes, %.0f%% high-quality (n=%d)", cov, cov.Total, tc.modes, 100*tc.hq, len(tc.x)/2)
			}
			sum := 0
			for _, k := range cov.Counts {
				sum += k
			}
			if want := int(math.Round(tc.hq * float64(cov.N))); sum != want {
				t.Errorf("counts %v add up to %d, want %d", cov.Counts, sum, want)
			}
		})
	}
}

// TestCoverageErrors checks that bad options, a bad mixture and bad rows
// are refused, every problem named at once.
func TestCoverageErrors(t *testing.T) {
	good := quality.Gaussians8()
	cases := []struct {
		name string
		m    quality.Mixture
		x    []float64
		o    quality.CoverageOptions
		want []string
	}{
		{"options", good, []float64{0, 0}, quality.CoverageOptions{Radius: -1, MinShare: 2}, []string{"Radius -1", "MinShare 2"}},
		{"mixture", quality.Mixture{Centres: [][]float64{{0, 0}, {1}}, Sigma: 0}, []float64{0, 0}, quality.DefaultCoverageOptions(),
			[]string{"centre 1 has 1 values", "Sigma 0"}},
		{"empty mixture", quality.Mixture{Sigma: 1}, []float64{0, 0}, quality.DefaultCoverageOptions(), []string{"no centres"}},
		{"partial row", good, []float64{0, 0, 1}, quality.DefaultCoverageOptions(), []string{"3 values do not make whole rows of 2"}},
		{"no rows", good, nil, quality.DefaultCoverageOptions(), []string{"0 values"}},
		{"NaN", good, []float64{0, 0, 1, math.NaN()}, quality.DefaultCoverageOptions(), []string{"row 1 value 1 is NaN"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.m.Coverage(tc.x, tc.o)
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
}

// ExampleMixture_Coverage counts the modes of 25gaussians that samples
// sitting on 24 of its centres cover.
func ExampleMixture_Coverage() {
	m := quality.Gaussians25()
	var samples []float64
	for _, c := range m.Centres[1:] {
		samples = append(samples, c...)
	}
	samples = append(samples, 5, 5) // one sample far from every mode
	cov, err := m.Coverage(samples, quality.DefaultCoverageOptions())
	if err != nil {
		panic(err)
	}
	fmt.Println(cov)
	// Output: 24/25 modes, 96.0% high-quality (n=25)
}
