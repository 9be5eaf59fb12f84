package train

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// repoTestdata is the repository's shared testdata directory.
const repoTestdata = "../testdata"

// writeCSV writes rows of width random values in [-1, 1] to a CSV file
// in dir and returns its path.
func writeCSV(t testing.TB, dir string, rows, width int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for j := range width {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "f%d", j)
	}
	b.WriteByte('\n')
	for range rows {
		for j := range width {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%.4f", 2*rng.Float64()-1)
		}
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, fmt.Sprintf("data%d.csv", width))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRowShape checks the ports a network accepts: (batch,) is one value
// per row, as PyTorch energies give, like (batch, 1).
func TestRowShape(t *testing.T) {
	batch := onnx.Dim{Param: "batch"}
	for _, c := range []struct {
		dims []onnx.Dim
		want []int
		err  string
	}{
		{dims: []onnx.Dim{batch}, want: []int{}},
		{dims: []onnx.Dim{batch, {Value: 1}}, want: []int{1}},
		{dims: []onnx.Dim{batch, {Value: 1}, {Value: 28}, {Value: 28}}, want: []int{1, 28, 28}},
		{dims: nil, err: "want (batch,) or (batch, features...)"},
		{dims: []onnx.Dim{batch, {Param: "w"}}, err: "is not fixed"},
	} {
		got, err := rowShape(importers.Port{Name: "p", Dims: c.dims})
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("rowShape(%v): error %v, want one containing %q", c.dims, err, c.err)
		case c.err == "" && (err != nil || !slices.Equal(got, c.want)):
			t.Errorf("rowShape(%v) = %v, %v; want %v", c.dims, got, err, c.want)
		}
	}
}

// TestRankOneEnergy trains an energy whose output is (batch,) for a few
// steps and checks that the exported energy keeps that output and the
// opset asked for.
func TestRankOneEnergy(t *testing.T) {
	dir := t.TempDir()
	o := tinyOptions(t)
	o.Data = writeCSV(t, dir, 64, 2)
	o.DataRows = 0
	o.Energy = filepath.Join(repoTestdata, "opset", "energy_mlp_gelu_o23.onnx")
	o.Generator = "mlp:2-8-2"
	o.Steps, o.BatchSize, o.Opset = 3, 16, 18
	_, res := mustRun(t, o, fakeHooks())
	m, err := onnx.Load(res.Energy)
	if err != nil {
		t.Fatal(err)
	}
	if v := onnx.OpsetVersion(m, ""); v != 18 {
		t.Errorf("exported opset %d, want 18", v)
	}
	dims, _, err := onnx.ValueInfoShape(m.GetGraph().GetOutput()[0])
	if err != nil || len(dims) != 1 {
		t.Errorf("exported energy output dims %v (%v), want (batch,)", dims, err)
	}
}

// TestTorchGeneratorTrainsAndExports trains torch 1.13's DCGAN generator
// (symbolic spatial output dims, BatchNorm statistics aliased through
// Identity) for a few steps and exports it.
func TestTorchGeneratorTrainsAndExports(t *testing.T) {
	dir := t.TempDir()
	o := tinyOptions(t)
	o.Data = writeCSV(t, dir, 32, 784)
	o.DataRows = 0
	o.Energy = "mlp:784-8-1"
	o.Generator = filepath.Join(repoTestdata, "torchquirks", "generator_dcgan28.onnx")
	o.Steps, o.BatchSize = 2, 4
	_, res := mustRun(t, o, Hooks{})
	net, err := importers.Load(res.Generator)
	if err != nil {
		t.Fatal(err)
	}
	if got := net.Outputs()[0].Dims; fmt.Sprint(got[1:]) != "[1 28 28]" {
		t.Errorf("exported generator output dims %v, want [batch 1 28 28]", got)
	}
}

// TestExportCheckedBeforeTraining checks that a model that cannot be
// written at the opset asked for fails before the first step, naming the
// fields, and leaves no run behind.
func TestExportCheckedBeforeTraining(t *testing.T) {
	dir := t.TempDir()
	o := tinyOptions(t)
	o.Data = writeCSV(t, dir, 32, 4)
	o.DataRows = 0
	o.Energy = filepath.Join(repoTestdata, "opset", "energy_layernorm_o23.onnx")
	o.Generator = "mlp:4-8-4"
	o.Opset = 13
	_, err := NewTrainer(context.Background(), o, fakeHooks())
	var fe *fielderr.Error
	if !errors.As(err, &fe) || !slices.Equal(fe.Fields(), []string{"Energy", "Opset"}) || !strings.Contains(err.Error(), "LayerNormalization") {
		t.Fatalf("NewTrainer: %v; want an error naming Energy, Opset and LayerNormalization", err)
	}
	if _, err := os.Stat(o.Out); !os.IsNotExist(err) {
		t.Errorf("%s exists after a failed start (%v)", o.Out, err)
	}
	o.Opset, o.Steps = export.MaxOpset, 2
	tr, err := NewTrainer(context.Background(), o, Hooks{})
	if err == nil {
		_, err = tr.Run(context.Background())
	}
	if err != nil {
		t.Errorf("run at opset %d: %v", o.Opset, err)
	}
}
