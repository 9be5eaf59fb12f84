package data

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// toyGolden is testdata/toy_golden.json: the first rows of each toy set.
type toyGolden struct {
	Seed uint64                 `json:"seed"`
	N    int                    `json:"n"`
	Rows map[string][][]float64 `json:"rows"`
}

func TestToyGolden(t *testing.T) {
	const path = "testdata/toy_golden.json"
	got := toyGolden{Seed: 1, N: 500, Rows: map[string][][]float64{}}
	for _, name := range ToyNames() {
		data, err := Toy(name, got.N, got.Seed)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			got.Rows[name] = append(got.Rows[name], data[2*i:2*i+2])
		}
	}
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		writeGolden(t, path, append(b, '\n'))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	var want toyGolden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if want.Seed != got.Seed || want.N != got.N {
		t.Fatalf("%s: seed %d, n %d; the test uses seed %d, n %d", path, want.Seed, want.N, got.Seed, got.N)
	}
	if len(want.Rows) != len(got.Rows) {
		t.Errorf("%s has %d sets, Toy has %d", path, len(want.Rows), len(got.Rows))
	}
	for name, rows := range got.Rows {
		for i, row := range rows {
			if i >= len(want.Rows[name]) {
				t.Errorf("%s: row %d missing from %s", name, i, path)
				break
			}
			for j, v := range row {
				// Identical on one platform; math.Sin, math.Exp and
				// fused multiply-adds may differ in the last bits on another.
				if w := want.Rows[name][i][j]; math.Abs(v-w) > 1e-12*max(1, math.Abs(w)) {
					t.Errorf("%s: row %d value %d = %v, golden %v", name, i, j, v, w)
				}
			}
		}
	}
}

// writeGolden writes a golden file through a temporary file.
func writeGolden(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestToyDeterministic(t *testing.T) {
	for _, name := range ToyNames() {
		t.Run(name, func(t *testing.T) {
			a, err := Toy(name, 300, 7)
			if err != nil {
				t.Fatal(err)
			}
			if len(a) != 600 {
				t.Fatalf("len = %d, want 600", len(a))
			}
			for i, v := range a {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("value %d is %v", i, v)
				}
			}
			b, _ := Toy(name, 300, 7)
			if !slices.Equal(a, b) {
				t.Error("same seed, different points")
			}
			c, _ := Toy(name, 300, 8)
			same := 0
			for i := range a {
				if a[i] == c[i] {
					same++
				}
			}
			if same > len(a)/10 {
				t.Errorf("seeds 7 and 8 share %d of %d values", same, len(a))
			}
		})
	}
}

func TestToySizes(t *testing.T) {
	for _, name := range ToyNames() {
		for _, n := range []int{1, 2, 3, 4, 5, 7, 26} {
			data, err := Toy(name, n, 1)
			if err != nil {
				t.Fatalf("%s, n = %d: %v", name, n, err)
			}
			if len(data) != 2*n {
				t.Errorf("%s, n = %d: %d values", name, n, len(data))
			}
			for _, v := range data {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%s, n = %d: value %v", name, n, v)
				}
			}
		}
	}
}

func TestToyErrors(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want []string
	}{
		{"gaussians", 10, []string{`"gaussians"`, "25gaussians", "checkerboard", "swissroll"}},
		{"", 10, []string{`""`, "moons"}},
		{"moons", 0, []string{"moons", "0 points"}},
		{"rings", -3, []string{"rings", "-3 points"}},
	}
	for _, tt := range tests {
		_, err := Toy(tt.name, tt.n, 1)
		if err == nil {
			t.Errorf("Toy(%q, %d): no error", tt.name, tt.n)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Toy(%q, %d): error %q does not mention %s", tt.name, tt.n, err, w)
			}
		}
	}
}

// moments returns the means and standard deviations of the two columns.
func moments(data []float64) (mean, std [2]float64) {
	n := float64(len(data) / 2)
	for i, v := range data {
		mean[i%2] += v / n
	}
	for i, v := range data {
		std[i%2] += (v - mean[i%2]) * (v - mean[i%2]) / n
	}
	return mean, [2]float64{math.Sqrt(std[0]), math.Sqrt(std[1])}
}

// nearest returns the index of the centre nearest to p, and the largest of
// the two coordinate distances to it.
func nearest(p []float64, centres [][2]float64) (int, float64) {
	best, bestD := -1, math.Inf(1)
	for k, c := range centres {
		if d := math.Hypot(p[0]-c[0], p[1]-c[1]); d < bestD {
			best, bestD = k, d
		}
	}
	c := centres[best]
	return best, max(math.Abs(p[0]-c[0]), math.Abs(p[1]-c[1]))
}

// checkMixture checks that the points are within 5σ of the centres,
// coordinate by coordinate, and that each centre has about its share.
func checkMixture(t *testing.T, data []float64, centres [][2]float64, sigma float64) {
	t.Helper()
	n := len(data) / 2
	count := make([]int, len(centres))
	within2 := 0
	for i := range n {
		k, d := nearest(data[2*i:2*i+2], centres)
		count[k]++
		if d > 5*sigma {
			t.Errorf("row %d %v is %.3gσ from the nearest centre %v", i, data[2*i:2*i+2], d/sigma, centres[k])
		}
		if d < 2*sigma {
			within2++
		}
	}
	// Both coordinates within 2σ: probability 0.9545² ≈ 0.911.
	if f := float64(within2) / float64(n); math.Abs(f-0.911) > 0.03 {
		t.Errorf("%.3f of the points within 2σ of their centre, want about 0.911", f)
	}
	share := float64(n) / float64(len(centres))
	for k, c := range count {
		if math.Abs(float64(c)-share) > 4*math.Sqrt(share)+1 {
			t.Errorf("centre %v has %d points, want about %.0f", centres[k], c, share)
		}
	}
}

func TestToyStatistics(t *testing.T) {
	const n = 4000
	tests := []struct {
		name  string
		check func(t *testing.T, data []float64)
	}{
		{"25gaussians", func(t *testing.T, data []float64) {
			var centres [][2]float64
			for a := -4.0; a <= 4; a += 2 {
				for b := -4.0; b <= 4; b += 2 {
					centres = append(centres, [2]float64{a / 2.828, b / 2.828})
				}
			}
			checkMixture(t, data, centres, 0.05/2.828)
		}},
		{"8gaussians", func(t *testing.T, data []float64) {
			var centres [][2]float64
			for k := range 8 {
				// The same 8 points as the definition, listed by angle.
				a := float64(k) * math.Pi / 4
				centres = append(centres, [2]float64{2 * math.Cos(a) / 1.414, 2 * math.Sin(a) / 1.414})
			}
			checkMixture(t, data, centres, 0.02/1.414)
		}},
		{"swissroll", func(t *testing.T, data []float64) {
			// E[x² + z²] = (E[t²] + 2·noise²)/25, E[t²] = (1.5π)²·13/3.
			want := (2.25*math.Pi*math.Pi*13/3 + 2) / 25
			var r2 float64
			for i := 0; i < len(data); i += 2 {
				r2 += (data[i]*data[i] + data[i+1]*data[i+1]) / n
				if r := math.Hypot(data[i], data[i+1]); r > (4.5*math.Pi+6)/5 || r < (1.5*math.Pi-6)/5 {
					t.Errorf("row %d at radius %.3f", i/2, r)
				}
			}
			if math.Abs(r2-want) > 0.03*want {
				t.Errorf("mean squared radius %.4f, want about %.4f", r2, want)
			}
		}},
		{"moons", func(t *testing.T, data []float64) {
			mean, _ := moments(data)
			// Outer moon: mean x 0, mean y ≈ 2/π; inner: 1 and 0.5 − 2/π.
			if math.Abs(mean[0]-0.5) > 0.02 || math.Abs(mean[1]-0.25) > 0.02 {
				t.Errorf("mean %.3f, want about (0.5, 0.25)", mean)
			}
			for i := 0; i < len(data); i += 2 {
				x, y := data[i], data[i+1]
				if x < -1.5 || x > 2.5 || y < -1 || y > 1.5 {
					t.Errorf("row %d (%.3f, %.3f) out of range", i/2, x, y)
				}
			}
		}},
		{"rings", func(t *testing.T, data []float64) {
			radii := []float64{0.75, 1.5, 2.25, 3}
			count := make([]int, 4)
			for i := 0; i < len(data); i += 2 {
				r := math.Hypot(data[i], data[i+1])
				k := 0
				for j := range radii {
					if math.Abs(r-radii[j]) < math.Abs(r-radii[k]) {
						k = j
					}
				}
				count[k]++
				if math.Abs(r-radii[k]) > 5*0.08 {
					t.Errorf("row %d at radius %.3f", i/2, r)
				}
			}
			for k, c := range count {
				if c != n/4 {
					t.Errorf("ring of radius %g has %d points, want %d", radii[k], c, n/4)
				}
			}
		}},
		{"pinwheel", func(t *testing.T, data []float64) {
			mean, _ := moments(data)
			var r float64
			for i := 0; i < len(data); i += 2 {
				r += math.Hypot(data[i], data[i+1]) / n
			}
			// The radius is 2·√(f0² + f1²), about 2·E|f0| ≈ 2.
			if math.Abs(mean[0]) > 0.1 || math.Abs(mean[1]) > 0.1 || math.Abs(r-2) > 0.1 {
				t.Errorf("mean %.3f, mean radius %.3f; want about 0 and 2", mean, r)
			}
		}},
		{"checkerboard", func(t *testing.T, data []float64) {
			black := 0
			for i := 0; i < len(data); i += 2 {
				x, y := data[i], data[i+1]
				if x < -4 || x >= 4 || y < -4 || y >= 4 {
					t.Errorf("row %d (%.3f, %.3f) out of [-4, 4)²", i/2, x, y)
				}
				if (int(math.Floor(x/2))+int(math.Floor(y/2)))&1 == 0 {
					black++
				}
			}
			if black != n {
				t.Errorf("%d of %d points on the black squares", black, n)
			}
		}},
		{"2spirals", func(t *testing.T, data []float64) {
			mean, _ := moments(data)
			var r float64
			for i := 0; i < len(data); i += 2 {
				r += math.Hypot(data[i], data[i+1]) / n
			}
			// t = 3π√u has mean 2π; the radius is about t/3.
			if math.Abs(mean[0]) > 0.05 || math.Abs(mean[1]) > 0.05 || math.Abs(r-2*math.Pi/3) > 0.15 {
				t.Errorf("mean %.3f, mean radius %.3f; want about 0 and %.3f", mean, r, 2*math.Pi/3)
			}
		}},
	}
	if len(tests) != len(ToyNames()) {
		t.Errorf("%d sets checked, %d sets", len(tests), len(ToyNames()))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Toy(tt.name, n, 3)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, data)
		})
	}
}
