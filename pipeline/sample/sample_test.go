package sample

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testmodel"

	"github.com/ebmpipe/ebmpipe/internal/testutil"

	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/onnx/mlp"
)

// saveSampleModel writes m, tagged with kind if not empty, to dir/name and
// returns the path.
func saveSampleModel(t testing.TB, dir, name string, m *onnx.ModelProto, kind string) string {
	t.Helper()
	if kind != "" {
		m = proto.Clone(m).(*onnx.ModelProto)
		m.MetadataProps = append(m.MetadataProps, &onnx.StringStringEntryProto{Key: proto.String(export.MetaKind), Value: proto.String(kind)})
	}
	path := filepath.Join(dir, name)
	if err := onnx.Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// sampleMoments returns the mean and covariance (row-major d×d, divided by
// n−1) of n rows of d values.
func sampleMoments(x []float64, d int) (mean, cov []float64) {
	n := len(x) / d
	mean = make([]float64, d)
	for i := range x {
		mean[i%d] += x[i] / float64(n)
	}
	cov = make([]float64, d*d)
	for r := range n {
		for a := range d {
			for b := range d {
				cov[a*d+b] += (x[r*d+a] - mean[a]) * (x[r*d+b] - mean[b]) / float64(n-1)
			}
		}
	}
	return mean, cov
}

// sampleLeftovers fails if dir holds files other than keep.
func sampleLeftovers(t *testing.T, dir string, keep ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !slices.Contains(keep, e.Name()) {
			t.Errorf("left %s behind", e.Name())
		}
	}
}

// TestSampleGenerator draws from an exported linear generator
// x = A z + b with known weights: the samples must have mean b and
// covariance A Aᵀ within Monte-Carlo error, and the columns the names in
// the generator's metadata.
func TestSampleGenerator(t *testing.T) {
	dir := t.TempDir()
	base, err := mlp.New("mlp:2-3", mlp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := []float64{ // 3×2, out × in
		1, 0.5,
		-0.5, 2,
		0.25, 0,
	}
	b := []float64{3, -1, 0.5}
	gm, err := export.Model(base, map[string][]float64{"fc0.weight": a, "fc0.bias": b},
		export.Meta{Kind: export.KindGenerator, Features: []string{"u", "v", "w"}})
	if err != nil {
		t.Fatal(err)
	}
	gen := saveSampleModel(t, dir, "generator.onnx", gm, "")
	const n = 20000
	out := filepath.Join(dir, "samples.csv")
	st, err := Sample(context.Background(), Options{Generator: gen, N: n, Output: out, Engine: engine.Go, BatchSize: 999, Seed: 7, StepSize: 1, NoiseScale: 1})
	if err != nil {
		t.Fatal(err)
	}
	x, cols := testutil.ReadRows(t, out)
	if want := []string{"u", "v", "w"}; !slices.Equal(cols, want) || !slices.Equal(st.Columns, want) {
		t.Errorf("columns %q (stats %q), want %q", cols, st.Columns, want)
	}
	if st.Rows != n || len(x) != 3*n || st.Engine != engine.Go {
		t.Fatalf("stats %+v, %d values; want %d rows of 3 on the go engine", st, len(x), n)
	}
	if !math.IsNaN(st.EnergyBefore) || !math.IsNaN(st.EnergyAfter) {
		t.Errorf("energies %g, %g without an energy model, want NaN", st.EnergyBefore, st.EnergyAfter)
	}
	mean, cov := sampleMoments(x, 3)
	want := make([]float64, 9) // A Aᵀ
	for i := range 3 {
		for j := range 3 {
			want[i*3+j] = a[i*2]*a[j*2] + a[i*2+1]*a[j*2+1]
		}
	}
	for i := range 3 {
		if se := math.Sqrt(want[i*3+i] / n); math.Abs(mean[i]-b[i]) > 4*se {
			t.Errorf("mean[%d] = %.4f, want %g ± %.4f", i, mean[i], b[i], se)
		}
		for j := range 3 {
			// The variance of a sample covariance of Gaussians.
			se := math.Sqrt((want[i*3+i]*want[j*3+j] + want[i*3+j]*want[i*3+j]) / n)
			if math.Abs(cov[i*3+j]-want[i*3+j]) > 4*se {
				t.Errorf("cov[%d][%d] = %.4f, want %g ± %.4f", i, j, cov[i*3+j], want[i*3+j], se)
			}
		}
	}
}

// quadEnergy is ½ Σ ((x_j − mu_j)/sigma_j)² on rows of len(mu) values.
func quadEnergy(x, mu, sigma []float64) float64 {
	e := 0.0
	for j, v := range x {
		s := (v - mu[j]) / sigma[j]
		e += s * s / 2
	}
	return e
}

// TestSampleLangevin refines the samples of a generator far from the
// target with Langevin dynamics on a quadratic energy
// E(x) = ½ Σ ((x_j − μ_j)/σ_j)². The chain is linear and Gaussian, so x_K
// is Gaussian with the mean and variance of testmodel.ULALaw; the samples must match
// them within Monte-Carlo error, and, for a long enough chain, N(μ, σ²)
// within that error plus the step's bias. The reported mean energies must
// be those of the samples.
func TestSampleLangevin(t *testing.T) {
	mu, sigma := []float64{1, -2}, []float64{0.5, 0.25}
	m0, s0 := []float64{4, 3}, []float64{2, 0.125} // the generator
	cases := []struct {
		name      string
		eta       float64
		steps     int
		noise     float64
		converged bool // close to N(μ, s²σ²) (s > 0) or to μ (s = 0)
	}{
		{"langevin", 0.005, 1000, 1, true},
		{"transient", 0.005, 40, 1, false},
		{"half-noise", 0.005, 1000, 0.5, true},
		{"gradient-descent", 0.01, 1000, 0, true},
	}
	const n = 2000
	dir := t.TempDir()
	gen := saveSampleModel(t, dir, "generator.onnx", testmodel.Generator(m0, s0), export.KindGenerator)
	energy := saveSampleModel(t, dir, "energy.onnx", testmodel.Energy{Mu: mu, Sigma: sigma}.Model(), export.KindEnergy)
	base := Options{Generator: gen, N: n, Engine: engine.Go, BatchSize: 1000, Seed: 3, StepSize: 0.01, NoiseScale: 1}

	// The generator's samples alone, for the energy before the steps.
	o := base
	o.Output = filepath.Join(dir, "x0.npy")
	if _, err := Sample(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	x0, _ := testutil.ReadRows(t, o.Output)
	before := 0.0
	for r := range n {
		before += quadEnergy(x0[2*r:2*r+2], mu, sigma) / n
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := base
			o.Energy, o.LangevinSteps, o.StepSize, o.NoiseScale = energy, c.steps, c.eta, c.noise
			o.Output = filepath.Join(t.TempDir(), "x.npy")
			st, err := Sample(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			x, _ := testutil.ReadRows(t, o.Output)
			if len(x) != 2*n || st.Rows != n {
				t.Fatalf("%d values, stats %+v; want %d rows of 2", len(x), st, n)
			}
			mean, cov := sampleMoments(x, 2)
			after := 0.0
			for r := range n {
				after += quadEnergy(x[2*r:2*r+2], mu, sigma) / n
			}
			if !testutil.CloseTo(st.EnergyBefore, before, 1e-9) || !testutil.CloseTo(st.EnergyAfter, after, 1e-9) {
				t.Errorf("mean energies %g → %g, want %g → %g", st.EnergyBefore, st.EnergyAfter, before, after)
			}
			for j := range 2 {
				m, v := testmodel.ULALaw(mu[j], sigma[j], m0[j], s0[j], c.eta, c.noise, c.steps)
				seM, seV := math.Sqrt(v/n), v*math.Sqrt(2.0/(n-1))
				gm, gv := mean[j], cov[j*2+j]
				t.Logf("x%d: mean %.4f (law %.4f ± %.4f), variance %.5f (law %.5f ± %.5f)", j, gm, m, seM, gv, v, seV)
				if math.Abs(gm-m) > 4*seM+1e-9 || math.Abs(gv-v) > 4*seV+1e-12 {
					t.Errorf("x%d: mean %.4f, variance %.5f; want %.4f ± %.4f, %.5f ± %.5f", j, gm, gv, m, seM, v, seV)
				}
				if !c.converged {
					if math.Abs(gm-mu[j]) < 0.1 {
						t.Errorf("x%d: mean %.4f already at %g after %d steps: the case tests nothing", j, gm, mu[j], c.steps)
					}
					continue
				}
				// ULA's bias: the variance is s²σ²/(1 − η/(4σ²)).
				target := c.noise * c.noise * sigma[j] * sigma[j]
				bias := target * c.eta / (4*sigma[j]*sigma[j] - c.eta)
				if math.Abs(gm-mu[j]) > 4*seM+1e-6 || math.Abs(gv-target) > 4*seV+bias+1e-9 {
					t.Errorf("x%d: mean %.4f, variance %.5f; want N(%g, %g) within %.4f, %.5f", j, gm, gv, mu[j], target, 4*seM, 4*seV+bias)
				}
			}
			if c.noise == 0 {
				return
			}
			if math.Abs(cov[1]) > 4*math.Sqrt(cov[0]*cov[3]/n) {
				t.Errorf("covariance %.5f between independent coordinates", cov[1])
			}
		})
	}
}

// TestSampleStep checks one Langevin step exactly against the analytic
// gradient: x₁ = x₀ − (η/2)∇E(x₀) + s√η ξ, with ξ standard normal, for a
// quadratic and a Laplace energy.
func TestSampleStep(t *testing.T) {
	mu, sigma := []float64{0.5, -1, 2}, []float64{1, 0.5, 2}
	grads := map[string]func(x, mu, sigma float64) float64{
		"quadratic": func(x, mu, sigma float64) float64 { return (x - mu) / (sigma * sigma) },
		"laplace": func(x, mu, sigma float64) float64 {
			return math.Copysign(1, x-mu) / sigma
		},
	}
	const n, eta = 3000, 0.04
	dir := t.TempDir()
	gen := saveSampleModel(t, dir, "generator.onnx", testmodel.Generator([]float64{0, 0, 0}, []float64{2, 2, 2}), "")
	o := Options{Generator: gen, N: n, Engine: engine.Go, BatchSize: 512, Seed: 11, StepSize: eta, NoiseScale: 1, Output: filepath.Join(dir, "x0.npy")}
	if _, err := Sample(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	x0, _ := testutil.ReadRows(t, o.Output)
	for name, grad := range grads {
		for _, noise := range []float64{0, 0.5} {
			t.Run(fmt.Sprintf("%s/noise-%g", name, noise), func(t *testing.T) {
				te := testmodel.Energy{Mu: mu, Sigma: sigma, Laplace: name == "laplace"}
				o := o
				o.Energy = saveSampleModel(t, t.TempDir(), "energy.onnx", te.Model(), "")
				o.LangevinSteps, o.NoiseScale, o.Output = 1, noise, filepath.Join(t.TempDir(), "x1.npy")
				if _, err := Sample(context.Background(), o); err != nil {
					t.Fatal(err)
				}
				x1, _ := testutil.ReadRows(t, o.Output)
				var xi []float64 // x₁ − (x₀ − (η/2)∇E(x₀)), over s√η
				for i := range x1 {
					j := i % 3
					want := x0[i] - eta/2*grad(x0[i], mu[j], sigma[j])
					if noise == 0 {
						if !testutil.CloseTo(x1[i], want, 1e-12) {
							t.Fatalf("sample %d, value %d: x₁ = %.15g, want %.15g", i/3+1, j, x1[i], want)
						}
						continue
					}
					xi = append(xi, (x1[i]-want)/(noise*math.Sqrt(eta)))
				}
				if noise == 0 {
					return
				}
				m, v := sampleMoments(xi, 1)
				if se := 1 / math.Sqrt(float64(len(xi))); math.Abs(m[0]) > 4*se || math.Abs(v[0]-1) > 4*math.Sqrt2*se {
					t.Errorf("noise: mean %.4f, variance %.4f; want standard normal", m[0], v[0])
				}
			})
		}
	}
}

// TestSampleReproducible checks that the seed alone decides the samples:
// the same file for the same seed, whatever the batch size; a different
// one for another seed; and the first rows of a larger run equal a
// smaller run.
func TestSampleReproducible(t *testing.T) {
	dir := t.TempDir()
	mu, sigma := []float64{1, -1}, []float64{0.5, 1}
	gen := saveSampleModel(t, dir, "generator.onnx", testmodel.Generator([]float64{0, 0}, []float64{1, 1}), export.KindGenerator)
	energy := saveSampleModel(t, dir, "energy.onnx", testmodel.Energy{Mu: mu, Sigma: sigma}.Model(), export.KindEnergy)
	run := func(name string, n, batch int, seed uint64) []byte {
		t.Helper()
		o := Options{Generator: gen, Energy: energy, LangevinSteps: 5, StepSize: 0.1, NoiseScale: 1,
			N: n, BatchSize: batch, Seed: seed, Engine: engine.Go, Output: filepath.Join(dir, name)}
		if _, err := Sample(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(o.Output)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := run("a.csv", 50, 16, 5)
	if b := run("b.csv", 50, 16, 5); !bytes.Equal(a, b) {
		t.Error("same seed and options: files differ")
	}
	if b := run("c.csv", 50, 7, 5); !bytes.Equal(a, b) {
		t.Error("same seed, another batch size: files differ")
	}
	if b := run("d.csv", 50, 16, 6); bytes.Equal(a, b) {
		t.Error("another seed: same file")
	}
	small := run("e.csv", 20, 64, 5)
	lines := bytes.SplitAfter(a, []byte("\n"))
	if prefix := bytes.Join(lines[:21], nil); !bytes.Equal(small, prefix) { // header and 20 rows
		t.Errorf("20 samples:\n%s\nwant the first 20 of 50:\n%s", small, prefix)
	}
}

// TestSampleFormats writes the same samples in every format, which must
// read back as the same values; CSV and JSONL name the columns.
func TestSampleFormats(t *testing.T) {
	dir := t.TempDir()
	gen := saveSampleModel(t, dir, "generator.onnx", testmodel.Generator([]float64{1, 2}, []float64{0.5, 3}), export.KindGenerator)
	var first []float64
	for _, ext := range []string{".csv", ".jsonl", ".npy"} {
		out := filepath.Join(dir, "x"+ext)
		if _, err := Sample(context.Background(), Options{Generator: gen, N: 37, Output: out, Engine: engine.Go, BatchSize: 10, Seed: 2, StepSize: 1, NoiseScale: 1}); err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
		x, cols := testutil.ReadRows(t, out)
		wantCols := []string{"x0", "x1"}
		if ext == ".npy" {
			wantCols = nil
		}
		if !slices.Equal(cols, wantCols) {
			t.Errorf("%s: columns %q, want %q", ext, cols, wantCols)
		}
		if first == nil {
			first = x
		} else if !slices.Equal(x, first) {
			t.Errorf("%s: values differ from the CSV's", ext)
		}
	}
	if len(first) != 74 {
		t.Errorf("%d values, want 37 rows of 2", len(first))
	}
}

// TestSampleEnginesAgree draws the same samples with ONNX Runtime (float32)
// and the Go engine (float64).
func TestSampleEnginesAgree(t *testing.T) {
	testutil.NeedORT(t)
	dir := t.TempDir()
	gen := saveSampleModel(t, dir, "generator.onnx", testmodel.Generator([]float64{1, 2}, []float64{0.5, 3}), export.KindGenerator)
	got := map[string][]float64{}
	for _, eng := range []string{engine.ORT, engine.Go} {
		out := filepath.Join(dir, eng+".npy")
		st, err := Sample(context.Background(), Options{Generator: gen, N: 1000, Output: out, Engine: eng, BatchSize: 300, Seed: 4, StepSize: 1, NoiseScale: 1})
		if err != nil {
			t.Fatalf("--engine %s: %v", eng, err)
		}
		if st.Engine != eng {
			t.Errorf("ran on %s, want %s", st.Engine, eng)
		}
		got[eng], _ = testutil.ReadRows(t, out)
	}
	for i, v := range got[engine.Go] {
		if !testutil.CloseTo(got[engine.ORT][i], v, 1e-6) {
			t.Fatalf("value %d: ort %.9g, go %.9g", i, got[engine.ORT][i], v)
		}
	}
}

// TestSampleErrors checks the one-line error of each failing run, and that
// it leaves no output behind.
func TestSampleErrors(t *testing.T) {
	dir := t.TempDir()
	mu, sigma := []float64{0, 0}, []float64{1, 1}
	gen := saveSampleModel(t, dir, "generator.onnx", testmodel.Generator(mu, sigma), export.KindGenerator)
	gen3 := saveSampleModel(t, dir, "gen3.onnx", testmodel.Generator([]float64{0, 0, 0}, []float64{1, 1, 1}), "")
	energy := saveSampleModel(t, dir, "energy.onnx", testmodel.Energy{Mu: mu, Sigma: sigma}.Model(), export.KindEnergy)
	twoOut := saveSampleModel(t, dir, "two-outputs.onnx", testmodel.Energy{Mu: mu, Sigma: sigma, ExtraOut: true}.Model(), "")
	out := filepath.Join(dir, "out.csv")
	keep := []string{"generator.onnx", "gen3.onnx", "energy.onnx", "two-outputs.onnx"}
	langevin := func(o Options) Options {
		o.LangevinSteps, o.StepSize = 10, 0.01
		return o
	}
	cases := []struct {
		name string
		o    Options
		want string // the error, with the test's directory as $TMP
	}{
		{"missing-generator", Options{N: 10}, "Generator is required"},
		{"missing-n", Options{Generator: gen}, "N is required: the number of samples to draw"},
		{"negative-n", Options{Generator: gen, N: -3}, "N -3: must be at least 1"},
		{"missing-output", Options{Generator: gen, N: 10, Output: "-"}, "Output is required"},
		{"steps-without-energy", Options{Generator: gen, N: 10, LangevinSteps: 100},
			"LangevinSteps 100 needs Energy, the model whose gradient drives the steps"},
		{"zero-step-size", Options{Generator: gen, N: 10, StepSize: -1}, "StepSize -1: want a finite number > 0"},
		{"negative-noise", Options{Generator: gen, N: 10, NoiseScale: -0.5}, "NoiseScale -0.5: want a finite number ≥ 0"},
		{"bad-engine", Options{Generator: gen, N: 10, Engine: "tpu"}, `Engine "tpu": want auto, ort or go`},
		{"energy-as-generator", Options{Generator: energy, N: 10},
			`$TMP/energy.onnx: ebmpipe.kind is "energy", but Generator takes a generator model`},
		{"generator-as-energy", langevin(Options{Generator: gen, Energy: gen, N: 10}),
			`$TMP/generator.onnx: ebmpipe.kind is "generator", but Energy takes an energy model`},
		{"width-mismatch", langevin(Options{Generator: gen3, Energy: energy, N: 10}),
			"$TMP/gen3.onnx gives rows of 3 values, but the energy $TMP/energy.onnx takes 2 (shape [2])"},
		{"two-outputs", langevin(Options{Generator: gen, Energy: twoOut, N: 10}),
			"$TMP/two-outputs.onnx: an energy model has one output with one energy per row; this one has 2 outputs (energy, s of 2 values)"},
		{"missing-generator-file", Options{Generator: filepath.Join(dir, "nope.onnx"), N: 10},
			"onnx: load: open $TMP/nope.onnx: no such file or directory"},
		{"unwritable-output", Options{Generator: gen, N: 10, Output: filepath.Join(dir, "missing", "out.csv")},
			"$TMP/missing/out.csv: cannot create: no such file or directory"},
		{"bad-extension", Options{Generator: gen, N: 10, Output: filepath.Join(dir, "out.xlsx")},
			`$TMP/out.xlsx: unsupported file extension ".xlsx" (supported: .csv, .jsonl, .npy)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.o
			switch o.Output {
			case "":
				o.Output = out
			case "-":
				o.Output = ""
			}
			if o.Engine == "" {
				o.Engine = engine.Go
			}
			if o.BatchSize == 0 {
				o.BatchSize = 4
			}
			if o.StepSize == 0 {
				o.StepSize = 0.01
			}
			if o.NoiseScale == 0 {
				o.NoiseScale = 1
			}
			_, err := Sample(context.Background(), o)
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.ReplaceAll(err.Error(), dir, "$TMP")
			if strings.HasSuffix(c.want, " ") {
				if !strings.HasPrefix(msg, c.want) {
					t.Errorf("error\n%s\nwant it to start with\n%s", msg, c.want)
				}
			} else if msg != c.want {
				t.Errorf("error\n%s\nwant\n%s", msg, c.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines:\n%s", msg)
			}
			sampleLeftovers(t, dir, keep...)
		})
	}
}

// TestSampleDiverged checks the message of a chain that runs away.
func TestSampleDiverged(t *testing.T) {
	dir := t.TempDir()
	gen := saveSampleModel(t, dir, "generator.onnx", testmodel.Generator([]float64{0}, []float64{1}), "")
	energy := saveSampleModel(t, dir, "energy.onnx", testmodel.Energy{Mu: []float64{0}, Sigma: []float64{0.25}}.Model(), "")
	o := Options{Generator: gen, Energy: energy, N: 3, LangevinSteps: 1000, StepSize: 0.5, NoiseScale: 0,
		BatchSize: 3, Seed: 1, Engine: engine.Go, Output: filepath.Join(dir, "out.csv")}
	_, err := Sample(context.Background(), o)
	if err == nil {
		t.Fatal("no error")
	}
	msg := strings.ReplaceAll(err.Error(), dir, "$TMP")
	// a = 1 − η/(2σ²) = −3: |x| grows 3-fold a step from about 1, and the
	// energy 8x² overflows float64 after about 320 steps, before x does.
	if !strings.HasPrefix(msg, "$TMP/energy.onnx: sample ") || !strings.Contains(msg, " Langevin steps: energy +Inf; the dynamics diverged, try a smaller StepSize than 0.5") {
		t.Errorf("error %q", msg)
	}
	sampleLeftovers(t, dir, "generator.onnx", "energy.onnx")
}

// TestSampleCanceled checks that a canceled run writes nothing.
func TestSampleCanceled(t *testing.T) {
	dir := t.TempDir()
	gen := saveSampleModel(t, dir, "generator.onnx", testmodel.Generator([]float64{0}, []float64{1}), "")
	energy := saveSampleModel(t, dir, "energy.onnx", testmodel.Energy{Mu: []float64{0}, Sigma: []float64{1}}.Model(), "")
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	o := Options{Generator: gen, Energy: energy, N: 100, LangevinSteps: 10, StepSize: 0.1, NoiseScale: 1,
		BatchSize: 40, Seed: 1, Engine: engine.Go, Output: filepath.Join(dir, "out.npy"),
		Progress: func(done, total int) {
			if total != 100*11 {
				t.Errorf("Progress total %d, want 1100", total)
			}
			// The first batch is 40 generator rows and 10 steps of 40.
			if calls++; calls == 11 {
				if done != 440 {
					t.Errorf("done %d after the first batch, want 440", done)
				}
				cancel()
			}
		}}
	st, err := Sample(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if want := filepath.Join(dir, "out.npy") + ": stopped after 0 samples, nothing written: context canceled"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if st.Rows != 0 {
		t.Errorf("stats %+v: want 0 rows", st)
	}
	sampleLeftovers(t, dir, "generator.onnx", "energy.onnx")
}

func ExampleSample() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// A generator x = z, z ~ N(0, 1), far from the density of the energy
	// E(x) = ½ ((x − 3)/0.5)², which is N(3, 0.25).
	gen := filepath.Join(dir, "generator.onnx")
	energy := filepath.Join(dir, "energy.onnx")
	if err := onnx.Save(gen, testmodel.Generator([]float64{0}, []float64{1})); err != nil {
		log.Fatal(err)
	}
	if err := onnx.Save(energy, testmodel.Energy{Mu: []float64{3}, Sigma: []float64{0.5}}.Model()); err != nil {
		log.Fatal(err)
	}

	o := DefaultOptions()
	o.Generator, o.Energy, o.Engine = gen, energy, engine.Go
	o.N, o.Output = 1000, filepath.Join(dir, "samples.csv")
	o.LangevinSteps, o.StepSize = 500, 0.01
	st, err := Sample(context.Background(), o)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d samples, columns %v\n", st.Rows, st.Columns)
	fmt.Printf("mean energy %.0f before the Langevin steps, %.1f after\n", st.EnergyBefore, st.EnergyAfter)
	// Output:
	// 1000 samples, columns [x0]
	// mean energy 20 before the Langevin steps, 0.5 after
}
