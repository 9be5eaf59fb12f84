package export_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/onnx/mlp"
)

const (
	opsetDir  = "../testdata/opset"
	quirksDir = "../testdata/torchquirks"
)

// exportAt exports m at opset with params and checks the declarations of
// that opset.
func exportAt(t *testing.T, m *onnx.ModelProto, params map[string][]float64, meta export.Meta, opset int64) (*onnx.ModelProto, error) {
	t.Helper()
	exp, err := export.ModelWith(m, params, meta, export.Options{Opset: opset})
	if err != nil {
		return nil, err
	}
	if v := onnx.OpsetVersion(exp, ""); v != opset {
		t.Errorf("opset %d, want %d", v, opset)
	}
	if err := onnx.Validate(exp); err != nil {
		t.Errorf("Validate: %v", err)
	}
	return exp, nil
}

// TestExportOpsets exports a built MLP with batch normalisation at every
// opset from MinOpset to MaxOpset, re-imports it and checks that the
// importer and ONNX Runtime compute what the importer computes from the
// source.
func TestExportOpsets(t *testing.T) {
	src, err := mlp.New("mlp:3-16-16-1:tanh", mlp.Options{Seed: 5, BatchNorm: true, Output: "energy"})
	if err != nil {
		t.Fatal(err)
	}
	params := perturbParams(t, src)
	const rows = 6
	x := ramp(rows*3, 0.3)
	want := goForward(t, withParams(t, src, params), x, rows)
	for opset := int64(export.MinOpset); opset <= export.MaxOpset; opset++ {
		t.Run(fmt.Sprint(opset), func(t *testing.T) {
			exp, err := exportAt(t, src, params, export.Meta{Kind: export.KindEnergy}, opset)
			if err != nil {
				t.Fatal(err)
			}
			net, err := importers.New(exp)
			if err != nil {
				t.Fatalf("re-import: %v", err)
			}
			if net.Opset() != opset {
				t.Errorf("re-imported opset %d, want %d", net.Opset(), opset)
			}
			checkClose(t, "re-import", goForward(t, exp, x, rows), want, tolGo)
			checkClose(t, "ONNX Runtime", ortForward(t, exp, x, []int{rows, 3}), want, tolORT)
		})
	}
}

// TestExportOptions checks the opset range.
func TestExportOptions(t *testing.T) {
	src, err := mlp.New("mlp:2-4-1", mlp.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, opset := range []int64{12, 24} {
		_, err := export.ModelWith(src, nil, export.Meta{Kind: export.KindEnergy}, export.Options{Opset: opset})
		if err == nil || !strings.Contains(err.Error(), "Opset is") || !strings.Contains(err.Error(), "want 13 to 23") {
			t.Errorf("opset %d: error %v, want one naming Opset and the range 13 to 23", opset, err)
		}
	}
	if o := export.DefaultOptions(); o.Opset != export.Opset || o.Check() != nil {
		t.Errorf("DefaultOptions() = %+v (Check %v), want opset %d", o, o.Check(), export.Opset)
	}
}

type opsetFixture struct {
	Name   string `json:"name"`
	Model  string `json:"model"`
	Input  string `json:"input"`
	Kind   string `json:"kind"`
	Opset  int64  `json:"opset"`
	Shape  []int
	x      []float64
	source *onnx.ModelProto
}

func loadOpsetFixtures(t *testing.T, dir string) []*opsetFixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fs []*opsetFixture
	if err := json.Unmarshal(data, &fs); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.source, err = onnx.Load(filepath.Join(dir, f.Model)); err != nil {
			t.Fatal(err)
		}
		if f.x, f.Shape, err = readNPY(filepath.Join(dir, f.Input)); err != nil {
			t.Fatal(err)
		}
	}
	return fs
}

// notConvertible matches the errors of conversions to an opset that cannot
// express a node.
var notConvertible = regexp.MustCompile(`needs opset \d+; it cannot be written at opset \d+|is not converted to opset \d+`)

// TestExportOpsetFixtures exports every opset 18-23 model, with perturbed
// parameters, at every opset from MinOpset to MaxOpset: the export either
// fails naming the node and the opset its form needs, or computes, in the
// importer and in ONNX Runtime, what the importer computes from the source.
func TestExportOpsetFixtures(t *testing.T) {
	converted, refused := 0, 0
	for _, f := range loadOpsetFixtures(t, opsetDir) {
		params := perturbParams(t, f.source)
		rows := f.Shape[0]
		want := goForward(t, withParams(t, f.source, params), f.x, rows)
		for opset := int64(export.MinOpset); opset <= export.MaxOpset; opset++ {
			exp, err := exportAt(t, f.source, params, export.Meta{Kind: f.Kind}, opset)
			if err != nil {
				if !notConvertible.MatchString(err.Error()) || !strings.Contains(err.Error(), "node ") {
					t.Errorf("%s at opset %d: %v", f.Name, opset, err)
				}
				refused++
				continue
			}
			converted++
			// Conversions to older opsets write float32 constants (Gelu's
			// 1/√2), hence more than tolGo.
			checkClose(t, f.Name+" re-import", goForward(t, exp, f.x, rows), want, 1e-6)
			if !t.Failed() && !t.Skipped() {
				checkClose(t, f.Name+" ONNX Runtime", ortForward(t, exp, f.x, f.Shape), want, 10*tolORT)
			}
		}
	}
	t.Logf("%d exports converted and checked, %d refused", converted, refused)
}

// TestExportTorchAliases exports the torch 1.13 DCGAN generator, whose
// BatchNorm statistics alias its weight and bias through Identity nodes and
// whose output is declared with symbolic spatial dims: every parameter of
// the imported network is exported under its name and re-imports with its
// value, the output is (batch, 1, 28, 28), a normalisation of its 784
// values applies, and ONNX Runtime computes what the importer computes.
func TestExportTorchAliases(t *testing.T) {
	var f *opsetFixture
	for _, g := range loadOpsetFixtures(t, quirksDir) {
		if g.Name == "generator_dcgan28" {
			f = g
		}
	}
	if f == nil {
		t.Fatal("generator_dcgan28 not in the manifest")
	}
	net, err := importers.New(f.source)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, p := range net.Params() {
		names = append(names, p.Name)
	}
	for _, alias := range []string{"c.2.running_mean", "c.2.running_var"} {
		if !slices.Contains(names, alias) {
			t.Errorf("parameters %q lack the alias %q", names, alias)
		}
	}
	dims := net.Outputs()[0].Dims
	if len(dims) != 4 || dims[0].Param != "batch" || dims[1].Value != 1 || dims[2].Value != 28 || dims[3].Value != 28 {
		t.Errorf("output dims %v, want [batch 1 28 28]", dims)
	}
	params := perturbParams(t, f.source)
	shift, scale := make([]float64, 784), make([]float64, 784)
	for i := range shift {
		shift[i], scale[i] = 0.5, 0.25
	}
	exp, err := export.Model(f.source, params, export.Meta{Kind: export.KindGenerator, Shift: shift, Scale: scale})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	back, err := importers.New(exp)
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	for _, p := range back.Params() {
		if !slices.Equal(p.Data, params[p.Name]) {
			t.Errorf("re-imported parameter %q differs from the exported values", p.Name)
		}
		delete(params, p.Name)
	}
	for name := range params {
		t.Errorf("parameter %q is missing after re-import", name)
	}
	want := goForward(t, exp, f.x, f.Shape[0])
	checkClose(t, "ONNX Runtime", ortForward(t, exp, f.x, f.Shape), want, tolORT)
}
