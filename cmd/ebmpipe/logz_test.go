package main

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testmodel"

	"github.com/ebmpipe/ebmpipe/internal/testutil"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/rows"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// gaussModel returns the energy E(x) = ½ Σ ((x_j − mu_j)/sigma_j)², whose
// log Z is Σ log(√(2π) sigma_j), tagged with kind (if not empty). With
// extra, the model has a second output and so is not an energy model.
// sigma must be powers of 2 so that float32 holds 1/sigma exactly.
func gaussModel(mu, sigma []float64, kind string, extra bool) *onnx.ModelProto {
	m := testmodel.Energy{Mu: mu, Sigma: sigma, ExtraOut: extra}.Model()
	setKind(m, kind)
	return m
}

// generatorModel returns x = mu + sigma ⊙ z, tagged with kind.
func generatorModel(mu, sigma []float64, kind string) *onnx.ModelProto {
	m := testmodel.Generator(mu, sigma)
	setKind(m, kind)
	return m
}

func setKind(m *onnx.ModelProto, kind string) {
	if kind != "" {
		m.MetadataProps = []*onnx.StringStringEntryProto{{Key: proto.String(export.MetaKind), Value: proto.String(kind)}}
	}
}

func gaussLogZ(sigma []float64) float64 {
	return testmodel.Energy{Sigma: sigma}.LogZ()
}

// writeGaussRows writes rows of width values drawn from N(mu, diag(sigma²)) to
// path, whose extension picks the format.
func writeGaussRows(t *testing.T, path string, mu, sigma []float64, n int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	w, err := rows.CreateUnnamedWriter(path, len(mu))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	row := make([]float64, len(mu))
	for range n {
		for j := range row {
			row[j] = mu[j] + sigma[j]*r.NormFloat64()
		}
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func saveLogZModel(t *testing.T, path string, m *onnx.ModelProto) string {
	t.Helper()
	if err := onnx.Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

func repeatFloat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestLogZCommand runs `ebmpipe logz` on Gaussian energies of known log Z,
// checks the estimate and the metadata written, and that `ebmpipe score`
// then writes log densities.
func TestLogZCommand(t *testing.T) {
	mu2, sigma2 := []float64{1, -3}, []float64{0.5, 4}
	mu10 := []float64{1, -2, 0, 3, -1, 0.5, 0, -0.25, 2, 0}
	sigma10 := []float64{0.25, 0.5, 1, 2, 4, 0.5, 1, 2, 1, 0.25}
	cases := []struct {
		name      string
		mu, sigma []float64
		data      string // extension of a data file drawn from the model, or toy:NAME
		generator bool
		args      []string
		output    bool // write to --output instead of in place
		method    string
		tol       float64 // on |log Z − truth|, besides 3 standard errors
		warning   string  // a warning that must be printed, if not empty
	}{
		{name: "2d-standard-grid-csv", mu: []float64{0, 0}, sigma: []float64{1, 1}, data: ".csv", method: "grid", tol: 1e-3},
		{name: "2d-diagonal-grid-bounds", mu: mu2, sigma: sigma2, args: []string{"--bounds", "-2,4,-27,21"}, output: true, method: "grid", tol: 1e-3},
		// 8gaussians spans about [-1.5, 1.5]²; the box is twice as wide.
		{name: "2d-grid-toy", mu: []float64{0, 0}, sigma: []float64{0.5, 0.5}, data: "toy:8gaussians", output: true, method: "grid", tol: 1e-3},
		// A box too narrow for the energy: the estimate is off, the error
		// covers it and a warning says so.
		{name: "2d-grid-narrow-box", mu: []float64{0, 0}, sigma: []float64{1, 1}, data: "toy:8gaussians", method: "grid", tol: 0.02,
			warning: "the mass outside the box [-2.923,2.915]×[-2.92,2.926] is an estimated 0.0077 of that inside; widen it"},
		{name: "2d-diagonal-importance", mu: mu2, sigma: sigma2, data: ".jsonl", args: []string{"--method", "importance", "--samples", "20000"}, method: "importance", tol: 0.02},
		{name: "10d-standard-importance-npy", mu: repeatFloat(0, 10), sigma: repeatFloat(1, 10), data: ".npy", args: []string{"--samples", "50000"}, method: "importance", tol: 0.02},
		{name: "10d-diagonal-generator", mu: mu10, sigma: sigma10, generator: true, args: []string{"--samples", "50000"}, output: true, method: "importance", tol: 0.02},
		// auto: ONNX Runtime if its library is installed, which computes in
		// float32, else the Go engine.
		{name: "2d-diagonal-grid-auto-engine", mu: mu2, sigma: sigma2, data: ".csv", args: []string{"--engine", "auto"}, method: "grid", tol: 1e-3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			model := saveLogZModel(t, filepath.Join(dir, "energy.onnx"), gaussModel(c.mu, c.sigma, export.KindEnergy, false))
			args := []string{"logz", "--model", model}
			if !slices.Contains(c.args, "--engine") {
				args = append(args, "--engine", "go")
			}
			if strings.HasPrefix(c.data, "toy:") {
				args = append(args, "--data", c.data)
			} else if c.data != "" {
				data := filepath.Join(dir, "data"+c.data)
				writeGaussRows(t, data, c.mu, c.sigma, 2000, 1)
				args = append(args, "--data", data)
			}
			if c.generator {
				g := saveLogZModel(t, filepath.Join(dir, "generator.onnx"), generatorModel(c.mu, c.sigma, export.KindGenerator))
				args = append(args, "--generator", g)
			}
			written := model
			if c.output {
				written = filepath.Join(dir, "with-logz.onnx")
				args = append(args, "--output", written)
			}
			args = append(args, c.args...)
			code, stdout, stderr := runCLI(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			t.Logf("%s%s", stdout, stderr)
			if c.warning == "" && strings.Contains(stderr, "warning") {
				t.Errorf("unexpected warning: %s", stderr)
			}
			if c.warning != "" && (!strings.Contains(stderr, "ebmpipe logz: warning: ") || !strings.Contains(stderr, c.warning)) {
				t.Errorf("stderr %q: want a warning %q", stderr, c.warning)
			}
			if !strings.HasPrefix(stdout, "log Z = ") || strings.Count(stdout, "\n") != 1 {
				t.Errorf("stdout %q: want one line \"log Z = ...\"", stdout)
			}

			m, err := onnx.Load(written)
			if err != nil {
				t.Fatal(err)
			}
			meta, err := export.ReadMeta(m)
			if err != nil {
				t.Fatal(err)
			}
			if meta.Kind != export.KindEnergy || meta.LogZ == nil {
				t.Fatalf("metadata %+v: want kind energy and log Z", meta)
			}
			z := *meta.LogZ
			want := gaussLogZ(c.sigma)
			diff := math.Abs(z.Value - want)
			t.Logf("log Z = %.7f ± %.2g, want %.7f, off by %.2g", z.Value, z.StdErr, want, diff)
			if z.Method != c.method {
				t.Errorf("method %q, want %q", z.Method, c.method)
			}
			if diff > c.tol || diff > 3*z.StdErr+1e-6 {
				t.Errorf("log Z = %.7f ± %.3g, want %.7f within %g and 3 standard errors", z.Value, z.StdErr, want, c.tol)
			}
			if !(z.StdErr > 0 && z.StdErr < c.tol) {
				t.Errorf("standard error %.3g: want in (0, %g)", z.StdErr, c.tol)
			}
			if c.output {
				orig, err := onnx.Load(model)
				if err != nil {
					t.Fatal(err)
				}
				if len(orig.GetMetadataProps()) != 1 {
					t.Errorf("--output: the input model's metadata changed to %v", orig.GetMetadataProps())
				}
			}
			checkScore(t, written, c.mu, c.sigma, z.Value)
		})
	}
}

// checkScore scores rows with the model at path and checks the energies and
// the log densities, −energy − logZ.
func checkScore(t *testing.T, path string, mu, sigma []float64, logZ float64) {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "rows.csv"), filepath.Join(dir, "scores.csv")
	writeGaussRows(t, in, mu, sigma, 5, 2)
	if code, _, stderr := runCLI("score", "--model", path, "--input", in, "--output", out, "--engine", "go"); code != 0 {
		t.Fatalf("score: exit %d: %s", code, stderr)
	}
	r, err := rows.OpenReader(out, rows.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if cols := r.Columns(); !slices.Equal(cols, []string{"energy", "log_density"}) {
		t.Fatalf("score columns %q, want energy, log_density", cols)
	}
	x, _ := testutil.ReadRowsWidth(t, in)
	got, _ := testutil.ReadRowsWidth(t, out)
	d := len(mu)
	for i := range 5 {
		e := 0.0
		for j := range d {
			s := (x[i*d+j] - mu[j]) / sigma[j]
			e += s * s / 2
		}
		if ge, gl := got[2*i], got[2*i+1]; math.Abs(ge-e) > 1e-4*(1+e) || math.Abs(gl+ge+logZ) > 1e-9*(1+math.Abs(gl)) {
			t.Errorf("row %d: energy %g, log_density %g; want %g, %g", i, ge, gl, e, -e-logZ)
		}
	}
}

// TestLogZCommandErrors checks that bad calls exit non-zero with one line
// naming the problem, and leave the model as it was.
func TestLogZCommandErrors(t *testing.T) {
	dir := t.TempDir()
	mu, sigma := []float64{0, 0}, []float64{1, 1}
	energy := saveLogZModel(t, filepath.Join(dir, "energy.onnx"), gaussModel(mu, sigma, export.KindEnergy, false))
	untagged := saveLogZModel(t, filepath.Join(dir, "untagged.onnx"), gaussModel(mu, sigma, "", false))
	twoOut := saveLogZModel(t, filepath.Join(dir, "two-outputs.onnx"), gaussModel(mu, sigma, "", true))
	gen := saveLogZModel(t, filepath.Join(dir, "generator.onnx"), generatorModel(mu, sigma, export.KindGenerator))
	gen3 := saveLogZModel(t, filepath.Join(dir, "generator3.onnx"), generatorModel([]float64{0, 0, 0}, []float64{1, 1, 1}, ""))
	data := filepath.Join(dir, "data.csv")
	writeGaussRows(t, data, mu, sigma, 100, 1)
	data3 := filepath.Join(dir, "data3.csv")
	writeGaussRows(t, data3, []float64{0, 0, 0}, []float64{1, 1, 1}, 100, 1)
	models := []string{energy, untagged, twoOut, gen, gen3}
	before := map[string][]byte{}
	for _, p := range models {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		before[p] = b
	}

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing-model", []string{"--data", data}, 2, "--model is required"},
		{"bad-method", []string{"--model", energy, "--method", "mcmc"}, 2, `--method "mcmc": want auto, grid or importance`},
		{"bad-engine", []string{"--model", energy, "--engine", "gpu"}, 2, `--engine "gpu": want auto, ort or go`},
		{"odd-grid", []string{"--model", energy, "--grid-size", "101"}, 2, "--grid-size 101: want an even number"},
		{"bad-bounds", []string{"--model", energy, "--bounds", "1,x"}, 2, `"x" is not a number`},
		{"rows-without-data", []string{"--model", energy, "--data-rows", "5"}, 2, "--data-rows needs --data"},
		{"argument", []string{"--model", energy, "extra"}, 2, `unexpected argument "extra"`},
		{"two-outputs", []string{"--model", twoOut, "--data", data}, 1,
			"two-outputs.onnx: an energy model has one output with one energy per row; this one has 2 outputs (energy, s of 2 values)"},
		{"model-is-generator", []string{"--model", gen, "--data", data}, 1,
			`generator.onnx: ebmpipe.kind is "generator", but --model takes an energy model`},
		{"generator-is-energy", []string{"--model", untagged, "--generator", energy}, 1,
			`energy.onnx: ebmpipe.kind is "energy", but --generator takes a generator model`},
		{"generator-width", []string{"--model", energy, "--generator", gen3}, 1,
			"the generator should have one output of 2 values per row, as the energy's input; it has 1 output (x of 3 values)"},
		{"no-data-for-bounds", []string{"--model", energy}, 1,
			"setting the grid bounds without --bounds needs data or a generator"},
		{"no-data-for-importance", []string{"--model", energy, "--method", "importance"}, 1,
			"importance sampling (to fit its proposal) needs data or a generator"},
		{"data-width", []string{"--model", energy, "--data", data3}, 1,
			"data3.csv: rows of 3 values (shape [3]), but " + energy + " takes 2 (shape [2])"},
		{"missing-data", []string{"--model", energy, "--data", filepath.Join(dir, "nope.csv")}, 1, "nope.csv"},
		{"unknown-toy", []string{"--model", energy, "--data", "toy:blobs"}, 1, `unknown toy data set "blobs"`},
		{"missing-model-file", []string{"--model", filepath.Join(dir, "nope.onnx"), "--data", data}, 1, "no such file or directory"},
		{"unwritable-output", []string{"--model", energy, "--data", data, "--output", filepath.Join(dir, "missing", "out.onnx")}, 1,
			"onnx: save " + filepath.Join(dir, "missing", "out.onnx")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(append([]string{"logz", "--engine", "go"}, c.args...)...)
			checkOneLine(t, "logz", code, c.code, stdout, stderr, c.want)
			for _, p := range models {
				if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, before[p]) {
					t.Errorf("%s changed (err %v)", p, err)
				}
			}
		})
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}
