package score

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/testutil"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"
)

// TestFloat32Path scores NPY files of float32 rows on the ORT engine through
// the float32 path and, with it turned off, through the float64 path: for
// energy models with and without log Z, a generator's raw outputs and an
// image energy, to every output format, with one and two workers and with
// bad rows rejected, the output files and the rejects are the same, byte
// for byte, and so are the counts.
func TestFloat32Path(t *testing.T) {
	testutil.NeedORT(t)
	dir := t.TempDir()
	withLogZ := filepath.Join(dir, "energy_logz.onnx")
	m, err := onnx.Load("../../testdata/torch/energy_silu.onnx")
	if err != nil {
		t.Fatal(err)
	}
	m.MetadataProps = append(m.MetadataProps,
		&onnx.StringStringEntryProto{Key: proto.String(export.MetaKind), Value: proto.String("energy")},
		&onnx.StringStringEntryProto{Key: proto.String(export.MetaLogZ), Value: proto.String(strconv.FormatFloat(-0.7, 'g', -1, 64))})
	if err := onnx.Save(withLogZ, m); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, model, widthFrom string
		raw                    bool
	}{
		{"energy", "../../testdata/torch/energy_silu.onnx", "../../testdata/torch/energy_silu.input.npy", false},
		{"logz", withLogZ, "../../testdata/torch/energy_silu.input.npy", false},
		{"raw", "../../testdata/torch/energy_silu.onnx", "../../testdata/torch/energy_silu.input.npy", true},
		{"generator", "../../testdata/torch/generator_mlp.onnx", "../../testdata/torch/generator_mlp.input.npy", true},
		{"conv", "../../testdata/torch/energy_conv.onnx", "../../testdata/torch/energy_conv.input.npy", false},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range cases {
		_, width := testutil.ReadRowsWidth(t, c.widthFrom)
		rows := 3000
		if width > 16 {
			rows = 300
		}
		x := make([]float32, rows*width)
		for i := range x {
			x[i] = float32(2 * rng.NormFloat64())
		}
		// Bad rows: first, last, around a batch boundary.
		bad := 0
		for _, i := range []int{0, 255, 256, 2000, rows - 1} {
			if i < rows {
				x[i*width+i%width] = []float32{float32(math.NaN()), float32(math.Inf(-1))}[i%2]
				bad++
			}
		}
		input := filepath.Join(dir, c.name+".npy")
		testutil.WriteNPY32(t, input, x, width)
		for _, format := range []string{"csv", "jsonl", "npy"} {
			for _, workers := range []int{1, 2} {
				name := fmt.Sprintf("%s/%s/workers=%d", c.name, format, workers)
				t.Run(name, func(t *testing.T) {
					o := Options{Model: c.model, Input: input, Engine: engine.ORT, BatchSize: 256,
						Workers: workers, Raw: c.raw, SkipBadRows: true}
					out32, st32 := scoreFile(t, o, filepath.Join(dir, "f32."+format), true)
					out64, st64 := scoreFile(t, o, filepath.Join(dir, "f64."+format), false)
					if !st32.Float32 || st64.Float32 {
						t.Fatalf("Stats.Float32 %v with the float32 path, %v without; want true, false", st32.Float32, st64.Float32)
					}
					st32.Float32 = false
					if st32 != st64 {
						t.Errorf("stats %+v with the float32 path, %+v without", st32, st64)
					}
					if st32.Rows != rows-bad || st32.Rejected != bad {
						t.Errorf("stats %+v; want %d rows and %d rejected", st32, rows-bad, bad)
					}
					for k := range out32 {
						if !bytes.Equal(out32[k], out64[k]) {
							t.Errorf("file %d: %d bytes with the float32 path, %d without, or they differ", k, len(out32[k]), len(out64[k]))
						}
					}
				})
			}
		}
	}
}

// scoreFile runs Score with o writing to output, through the float32 path
// if f32 is set, and returns the bytes of the output and of its rejects
// file, and the stats.
func scoreFile(t *testing.T, o Options, output string, f32 bool) ([2][]byte, Stats) {
	t.Helper()
	defer func(on bool) { float32Path = on }(float32Path)
	float32Path = f32
	o.Output = output
	st, err := Score(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var files [2][]byte
	for k, path := range []string{output, output + ".rejects"} {
		if files[k], err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	return files, st
}
