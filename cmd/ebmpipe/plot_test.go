package main

import (
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/plot"
	"github.com/ebmpipe/ebmpipe/train"
	"google.golang.org/protobuf/proto"
)

// checkPNGs checks that files are exactly the pictures names in dir and
// that each is a PNG image.
func checkPNGs(t *testing.T, files []string, dir string, names ...string) {
	t.Helper()
	var want []string
	for _, n := range names {
		want = append(want, filepath.Join(dir, n))
	}
	if !slices.Equal(files, want) {
		t.Fatalf("files %q, want %q", files, want)
	}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = png.DecodeConfig(r)
		r.Close()
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// lines splits output into its lines.
func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// copyFile copies the file src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPlotCommand draws the pictures of a training output directory made
// of fixtures, with the data named in its energy's metadata, and single
// pictures from their files.
func TestPlotCommand(t *testing.T) {
	dir := t.TempDir()
	e, err := onnx.Load(filepath.Join(fixtures, "energy_silu.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{export.MetaData, "toy:moons"}, {export.MetaDataRows, "300"}, {export.MetaSeed, "2"}} {
		e.MetadataProps = append(e.MetadataProps, &onnx.StringStringEntryProto{Key: proto.String(kv[0]), Value: proto.String(kv[1])})
	}
	if err := onnx.Save(filepath.Join(dir, train.EnergyFile), e); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(fixtures, "generator_mlp.onnx"), filepath.Join(dir, train.GeneratorFile))
	metrics := "step,loss_energy,loss_generator,lower_bound,upper_bound\n5,0.1,0.2,1.5,\n10,0.05,0.1,1.25,2.5\n"
	if err := os.WriteFile(filepath.Join(dir, train.MetricsFile), []byte(metrics), 0o644); err != nil {
		t.Fatal(err)
	}

	pics := filepath.Join(t.TempDir(), "pictures")
	code, stdout, stderr := runCLI("plot", "--run", dir, "--out", pics, "--grid-size", "50", "--samples", "300")
	if code != 0 || stderr != "" {
		t.Fatalf("plot --run: exit %d: %s", code, stderr)
	}
	checkPNGs(t, lines(stdout), pics, plot.DensityFile, plot.SamplesFile, plot.CurvesFile)

	code, stdout, stderr = runCLI("plot", "--metrics", filepath.Join(dir, train.MetricsFile), "--out", pics)
	if code != 0 {
		t.Fatalf("plot --metrics: exit %d: %s", code, stderr)
	}
	checkPNGs(t, lines(stdout), pics, plot.CurvesFile)
}

// TestTrainPlots checks that a training run on 2-D data ends by drawing
// its pictures.
func TestTrainPlots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI(tinyTrain(dir)...)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	out := lines(stdout)
	if len(out) != 5 {
		t.Fatalf("train printed %q, want the two models and three pictures", out)
	}
	checkPNGs(t, out[2:], dir, plot.DensityFile, plot.SamplesFile, plot.CurvesFile)
}

func TestPlotCommandErrors(t *testing.T) {
	dir := t.TempDir()
	conv := filepath.Join(fixtures, "energy_conv.onnx")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"nothing", []string{"plot", "--out", dir}, 2, "ebmpipe plot: nothing to plot"},
		{"no out", []string{"plot", "--energy", conv}, 2, "--out is required"},
		{"grid size", []string{"plot", "--energy", conv, "--out", dir, "--grid-size", "1"}, 2, "--grid-size 1: want 2 to"},
		{"argument", []string{"plot", "--out", dir, "extra"}, 2, `unexpected argument "extra"`},
		{"missing run", []string{"plot", "--run", filepath.Join(dir, "nope")}, 1, "ebmpipe plot: --run: stat "},
		{"image energy", []string{"plot", "--energy", conv, "--out", dir}, 1, "density.png skipped: " + conv + " takes rows of 64 values (shape [1 8 8]); a density picture needs 2"},
		{"data mismatch", []string{"plot", "--generator", filepath.Join(fixtures, "generator_dcgan.onnx"), "--data", "toy:moons", "--out", dir}, 1,
			"gives rows of shape [3 16 16], but the data rows have shape [2]"},
	} {
		code, stdout, stderr := runCLI(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and one line containing %q", c.name, code, stdout, stderr, c.code, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%s holds %d files after failures", dir, len(entries))
	}
}

func TestPlotHelp(t *testing.T) {
	code, stdout, _ := runCLI("plot", "--help")
	for _, want := range []string{"density.png", "samples.png", "curves.png", "--run DIR", "--grid-size K"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("plot --help: exit %d, stdout lacks %q:\n%s", code, want, stdout)
		}
	}
}
