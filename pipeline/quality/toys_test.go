package quality_test

import (
	"math"
	"testing"

	"github.com/ebmpipe/ebmpipe/pipeline/quality"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// toyRows is the number of rows drawn from the toy generators.
const toyRows = 20000

// TestToyMixtures checks the mixtures against the toy generators: every
// true sample lies near a centre with residuals of standard deviation
// Sigma, every mode is covered, the high-quality share is P(χ²₂ ≤ 9) and
// the mean log-density is the mixture's negative entropy.
func TestToyMixtures(t *testing.T) {
	for _, name := range []string{"25gaussians", "8gaussians"} {
		t.Run(name, func(t *testing.T) {
			m, ok := quality.ToyMixture(name)
			if !ok {
				t.Fatalf("ToyMixture(%q): not a mixture", name)
			}
			x, err := data.Toy(name, toyRows, 11)
			if err != nil {
				t.Fatal(err)
			}
			// Residuals from the nearest centre, in units of Sigma.
			var sum, sq float64
			for i := range toyRows {
				best := math.Inf(1)
				var res [2]float64
				for _, c := range m.Centres {
					r := [2]float64{(x[2*i] - c[0]) / m.Sigma, (x[2*i+1] - c[1]) / m.Sigma}
					if d := r[0]*r[0] + r[1]*r[1]; d < best {
						best, res = d, r
					}
				}
				sum += res[0] + res[1]
				sq += res[0]*res[0] + res[1]*res[1]
			}
			k := float64(2 * toyRows)
			mean, sd := sum/k, math.Sqrt(sq/k)
			// The mean of 2n standard normals has SE 1/√(2n); their RMS SE 1/√(4n).
			if math.Abs(mean) > 4/math.Sqrt(k) || math.Abs(sd-1) > 4/math.Sqrt(2*k) {
				t.Errorf("residuals/Sigma: mean %.4f, sd %.4f: want 0 and 1 (the centres or Sigma differ from the generator's)", mean, sd)
			}

			cov, err := m.Coverage(x, quality.DefaultCoverageOptions())
			if err != nil {
				t.Fatal(err)
			}
			want := 1 - math.Exp(-4.5) // P(χ²₂ ≤ 9)
			se := math.Sqrt(want * (1 - want) / toyRows)
			if cov.Modes != len(m.Centres) || math.Abs(cov.HighQuality-want) > 4*se {
				t.Errorf("coverage %v: want %d/%d modes, %.2f%% ± %.2f%% high-quality", cov, len(m.Centres), len(m.Centres), 100*want, 400*se)
			}

			// E[log p] = −log K − log(2πσ²) − 1 for well-separated modes;
			// log p per row is a constant minus χ²₂/2, of variance 1.
			ll, err := quality.MeanLogDensity(m, x)
			if err != nil {
				t.Fatal(err)
			}
			wantLL := -math.Log(float64(len(m.Centres))) - math.Log(2*math.Pi*m.Sigma*m.Sigma) - 1
			if math.Abs(ll-wantLL) > 4/math.Sqrt(toyRows) {
				t.Errorf("mean log-density %.4f, want %.4f", ll, wantLL)
			}
			t.Logf("%v; mean log-density %.4f (closed form %.4f)", cov, ll, wantLL)
		})
	}
}

// TestRingsToy checks RingsLaw against the rings generator: a quarter of
// the rows lies nearest each circle, and the distance of a row from the
// origin minus its circle's radius has mean ≈ σ²/(2R) (the curvature's
// bias, tiny here) and standard deviation σ.
func TestRingsToy(t *testing.T) {
	law := quality.RingsLaw()
	x, err := data.Toy("rings", toyRows, 11)
	if err != nil {
		t.Fatal(err)
	}
	k := len(law.Radii)
	count := make([]int, k)
	sum, sq := make([]float64, k), make([]float64, k)
	for i := range toyRows {
		rho := math.Hypot(x[2*i], x[2*i+1])
		best := 0
		for r, rad := range law.Radii {
			if math.Abs(rho-rad) < math.Abs(rho-law.Radii[best]) {
				best = r
			}
		}
		d := rho - law.Radii[best]
		count[best]++
		sum[best] += d
		sq[best] += d * d
	}
	for r, rad := range law.Radii {
		n := float64(count[r])
		mean := sum[r] / n
		sd := math.Sqrt(sq[r]/n - mean*mean)
		share := n / toyRows
		if math.Abs(share-0.25) > 4*math.Sqrt(0.25*0.75/toyRows) ||
			math.Abs(mean-law.Sigma*law.Sigma/(2*rad)) > 4*law.Sigma/math.Sqrt(n) ||
			math.Abs(sd/law.Sigma-1) > 4/math.Sqrt(2*n) {
			t.Errorf("circle %g: share %.4f, radial residual mean %.5f, sd %.5f: want 0.25, %.5f, %.5f", rad, share, mean, sd, law.Sigma*law.Sigma/(2*rad), law.Sigma)
		}
	}
}

// TestRingsFinite checks the claim of the package documentation: at n =
// 1000 rows, the mixture of the generator's n evenly spaced Gaussians
// differs from RingsLaw by less than 1e-6 relative within the data's range.
func TestRingsFinite(t *testing.T) {
	const n = 1000
	law := quality.RingsLaw()
	fin := quality.Mixture{Sigma: law.Sigma}
	for _, rad := range law.Radii {
		for k := range n / 4 {
			sin, cos := math.Sincos(2 * math.Pi * float64(k) / (n / 4))
			fin.Centres = append(fin.Centres, []float64{rad * cos, rad * sin})
		}
	}
	worst := 0.0
	for i := range 81 {
		for j := range 81 {
			x := []float64{-3.4 + 6.8*float64(i)/80, -3.4 + 6.8*float64(j)/80}
			if math.Hypot(x[0], x[1]) > 3.3 {
				continue
			}
			worst = max(worst, math.Abs(law.LogDensity(x)-fin.LogDensity(x)))
		}
	}
	if worst > 1e-6 {
		t.Errorf("largest |log p − log p_n| %.3g at n = %d: want < 1e-6", worst, n)
	}
}

// TestNormalised checks that each exact density integrates to 1, by the
// midpoint rule on a grid fine against its noise.
func TestNormalised(t *testing.T) {
	cases := []struct {
		name       string
		half, step float64
	}{
		{"25gaussians", 1.6, 0.05 / 2.828 / 4},
		{"8gaussians", 1.6, 0.02 / 1.414 / 4},
		{"rings", 3.6, 0.08 / 4},
	}
	for _, c := range cases {
		d, ok := quality.ExactDensity(c.name)
		if !ok {
			t.Fatalf("ExactDensity(%q): none", c.name)
		}
		k := int(math.Ceil(2 * c.half / c.step))
		h := 2 * c.half / float64(k)
		s := 0.0
		x := make([]float64, 2)
		for i := range k {
			x[0] = -c.half + (float64(i)+0.5)*h
			for j := range k {
				x[1] = -c.half + (float64(j)+0.5)*h
				s += math.Exp(d.LogDensity(x))
			}
		}
		if s*h*h < 1-1e-6 || s*h*h > 1+1e-6 {
			t.Errorf("%s: integral %.9f, want 1", c.name, s*h*h)
		}
	}
	if _, ok := quality.ExactDensity("moons"); ok {
		t.Error(`ExactDensity("moons"): want none`)
	}
}
