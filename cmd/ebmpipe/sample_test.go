package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testutil"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/rows"
)

// TestSampleCommand runs `ebmpipe sample` in-process: generator samples
// alone, then refined by Langevin dynamics on a Gaussian energy, whose
// mean and mean energy they must reach; the same command twice writes the
// same file.
func TestSampleCommand(t *testing.T) {
	dir := t.TempDir()
	mu, sigma := []float64{1, -1}, []float64{0.5, 0.5}
	gen := saveLogZModel(t, filepath.Join(dir, "generator.onnx"), generatorModel([]float64{4, 4}, []float64{1, 1}, export.KindGenerator))
	energy := saveLogZModel(t, filepath.Join(dir, "energy.onnx"), gaussModel(mu, sigma, export.KindEnergy, false))

	t.Run("generator", func(t *testing.T) {
		out := filepath.Join(dir, "g.jsonl")
		code, stdout, stderr := runCLI("sample", "--generator", gen, "-n", "300", "--output", out, "--engine", "go")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if want := "wrote 300 samples to " + out + "\n"; stderr != want || stdout != "" {
			t.Errorf("stdout %q, stderr %q; want nothing and %q", stdout, stderr, want)
		}
		x, width := testutil.ReadRowsWidth(t, out)
		if width != 2 || len(x) != 600 {
			t.Fatalf("%d values of width %d, want 300 rows of 2", len(x), width)
		}
		r, err := rows.OpenReader(out, rows.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		if cols := r.Columns(); !slices.Equal(cols, []string{"x0", "x1"}) {
			t.Errorf("columns %q, want x0, x1", cols)
		}
	})

	t.Run("langevin", func(t *testing.T) {
		args := func(out string) []string {
			return []string{"sample", "--generator", gen, "--energy", energy, "--langevin-steps", "400", "--step-size", "0.01",
				"--n", "1000", "--batch-size", "300", "--seed", "3", "--output", out, "--engine", "go"}
		}
		out := filepath.Join(dir, "l.csv")
		code, stdout, stderr := runCLI(args(out)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		m := regexp.MustCompile(`^wrote 1000 samples to (.*); mean energy (\S+), (\S+) after 400 Langevin steps\n$`).FindStringSubmatch(stderr)
		if m == nil || m[1] != out || stdout != "" {
			t.Fatalf("stdout %q, stderr %q", stdout, stderr)
		}
		before, _ := strconv.ParseFloat(m[2], 64)
		after, _ := strconv.ParseFloat(m[3], 64)
		// From N((4, 4), I): E = 2 Σ (x − μ)², mean 2 (9 + 1 + 25 + 1) = 72.
		// At N(μ, σ²): mean d/2 = 1, 1% more for the step's bias; the
		// standard error is 1/√1000.
		if math.Abs(before-72) > 3 || math.Abs(after-1.01) > 0.15 {
			t.Errorf("mean energy %g → %g, want about 72 → 1", before, after)
		}
		x, width := testutil.ReadRowsWidth(t, out)
		if width != 2 || len(x) != 2000 {
			t.Fatalf("%d values of width %d, want 1000 rows of 2", len(x), width)
		}
		for j := range 2 {
			mean := 0.0
			for i := j; i < len(x); i += 2 {
				mean += x[i] / 1000
			}
			if se := sigma[j] / math.Sqrt(1000); math.Abs(mean-mu[j]) > 4*se {
				t.Errorf("x%d: mean %.4f, want %g ± %.4f", j, mean, mu[j], se)
			}
		}

		again := filepath.Join(dir, "again.csv")
		if code, _, stderr := runCLI(args(again)...); code != 0 {
			t.Fatalf("second run: exit %d: %s", code, stderr)
		}
		a, _ := os.ReadFile(out)
		b, _ := os.ReadFile(again)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Error("the same command wrote different files")
		}
	})
}

// TestSampleCommandErrors checks that bad calls exit non-zero with one
// line naming the problem, 2 for the call and 1 for the models, and leave
// no output.
func TestSampleCommandErrors(t *testing.T) {
	dir := t.TempDir()
	mu, sigma := []float64{0, 0}, []float64{1, 1}
	gen := saveLogZModel(t, filepath.Join(dir, "generator.onnx"), generatorModel(mu, sigma, export.KindGenerator))
	gen3 := saveLogZModel(t, filepath.Join(dir, "generator3.onnx"), generatorModel([]float64{0, 0, 0}, []float64{1, 1, 1}, ""))
	energy := saveLogZModel(t, filepath.Join(dir, "energy.onnx"), gaussModel(mu, sigma, export.KindEnergy, false))
	out := filepath.Join(dir, "out.csv")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing-generator", []string{"-n", "10", "--output", out}, 2, "--generator is required"},
		{"missing-n", []string{"--generator", gen, "--output", out}, 2, "-n is required: the number of samples to draw"},
		{"missing-output", []string{"--generator", gen, "-n", "10"}, 2, "--output is required"},
		{"steps-without-energy", []string{"--generator", gen, "-n", "10", "--output", out, "--langevin-steps", "5"}, 2,
			"--langevin-steps 5 needs --energy"},
		{"bad-step-size", []string{"--generator", gen, "-n", "10", "--output", out, "--step-size", "0"}, 2, "--step-size 0: want a finite number > 0"},
		{"bad-engine", []string{"--generator", gen, "-n", "10", "--output", out, "--engine", "gpu"}, 2, `--engine "gpu": want auto, ort or go`},
		{"argument", []string{"--generator", gen, "-n", "10", "--output", out, "extra"}, 2, `unexpected argument "extra"`},
		{"energy-as-generator", []string{"--generator", energy, "-n", "10", "--output", out}, 1,
			energy + `: ebmpipe.kind is "energy", but --generator takes a generator model`},
		{"generator-as-energy", []string{"--generator", gen, "--energy", gen, "--langevin-steps", "5", "-n", "10", "--output", out}, 1,
			gen + `: ebmpipe.kind is "generator", but --energy takes an energy model`},
		{"width-mismatch", []string{"--generator", gen3, "--energy", energy, "--langevin-steps", "5", "-n", "10", "--output", out}, 1,
			gen3 + " gives rows of 3 values, but the energy " + energy + " takes 2 (shape [2])"},
		{"unwritable-output", []string{"--generator", gen, "-n", "10", "--output", filepath.Join(dir, "missing", "out.csv")}, 1,
			filepath.Join(dir, "missing", "out.csv") + ": cannot create: no such file or directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(append([]string{"sample", "--engine", "go"}, c.args...)...)
			checkOneLine(t, "sample", code, c.code, stdout, stderr, c.want)
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if !strings.HasSuffix(e.Name(), ".onnx") {
					t.Errorf("left %s behind", e.Name())
				}
			}
		})
	}
}

// TestSampleSignal starts a long Langevin run, stops it with SIGINT or
// SIGTERM once its output is open, and checks that it leaves neither the
// output nor its temporary file.
func TestSampleSignal(t *testing.T) {
	dir := t.TempDir()
	gen := saveLogZModel(t, filepath.Join(dir, "generator.onnx"), generatorModel([]float64{0, 0}, []float64{1, 1}, export.KindGenerator))
	energy := saveLogZModel(t, filepath.Join(dir, "energy.onnx"), gaussModel([]float64{0, 0}, []float64{1, 1}, export.KindEnergy, false))
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := filepath.Join(dir, "out.csv")
			// A million steps take minutes: time enough to be stopped.
			cmd := child(t, nil, "sample", "--generator", gen, "--energy", energy, "--langevin-steps", "1000000",
				"-n", "100", "--output", out, "--engine", "go")
			stderr := interruptMidRun(t, cmd, filepath.Join(dir, ".out.csv.*.tmp"), sig)
			want := "ebmpipe sample: $TMP/out.csv: stopped after 0 samples, nothing written: " + sig.String() + " signal received\n"
			if msg := strings.ReplaceAll(stderr.String(), dir, "$TMP"); msg != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", msg, want)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if !strings.HasSuffix(e.Name(), ".onnx") {
					t.Errorf("left %s behind", e.Name())
				}
			}
		})
	}
}
