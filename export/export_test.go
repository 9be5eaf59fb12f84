package export_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Tolerances, relative (see checkClose).
const (
	tolGo    = 1e-9 // Go engine against Go engine: the same float32 weights, float64 arithmetic
	tolORT   = 1e-5 // ONNX Runtime's float32 arithmetic against the Go engine
	tolTorch = 1e-4 // float64 Go engine against PyTorch's float32 outputs
)

// exportPerturbed exports f with every parameter perturbed, and returns
// the export, the parameters and the reference model: f's own graph with
// those parameters, in inference form.
func exportPerturbed(t *testing.T, f *torchFixture) (exp *onnx.ModelProto, params map[string][]float64, ref *onnx.ModelProto) {
	t.Helper()
	params = perturbParams(t, f.model)
	exp, err := export.Model(f.model, params, export.Meta{Kind: f.Kind})
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	ref = withParams(t, f.model, params)
	if f.Training {
		ref = inferenceForm(ref)
	}
	return exp, params, ref
}

// TestModelFixtures exports every PyTorch fixture with perturbed
// parameters and checks that the export is a valid opset-17 FLOAT model
// that the importer and ONNX Runtime run to the outputs of the original
// graph with those parameters.
func TestModelFixtures(t *testing.T) {
	for _, f := range torchFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			exp, params, ref := exportPerturbed(t, f)
			if err := onnx.Validate(exp); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			checkExportedForm(t, exp)

			want := goForward(t, ref, f.x, f.rows)
			if !f.Training { // sanity: the perturbation changes the outputs
				if e, _, _ := maxRelErr(want, f.y, 1); e < 1e-3 {
					t.Errorf("perturbed outputs are within %.2g of the original ones: perturbation too small to test anything", e)
				}
			}

			net, err := importers.New(exp)
			if err != nil {
				t.Fatalf("re-import: %v", err)
			}
			for _, p := range net.Params() {
				v, ok := params[p.Name]
				if !ok {
					t.Errorf("re-imported parameter %q was not exported", p.Name)
					continue
				}
				if !slices.Equal(p.Data, v) {
					t.Errorf("re-imported parameter %q differs from the exported values", p.Name)
				}
				delete(params, p.Name)
			}
			for name := range params {
				t.Errorf("parameter %q is missing after re-import", name)
			}
			checkClose(t, "re-import", goForward(t, exp, f.x, f.rows), want, tolGo)
			checkClose(t, "ONNX Runtime", ortForward(t, exp, f.x, f.xShape), want, tolORT)
		})
	}
}

// checkExportedForm checks the declarations every export makes.
func checkExportedForm(t *testing.T, m *onnx.ModelProto) {
	t.Helper()
	if v := onnx.OpsetVersion(m, ""); v != export.Opset {
		t.Errorf("opset %d, want %d", v, export.Opset)
	}
	if m.GetIrVersion() != export.IRVersion {
		t.Errorf("ir_version %d, want %d", m.GetIrVersion(), export.IRVersion)
	}
	if m.GetProducerName() != "ebmpipe" || m.GetProducerVersion() != export.ProducerVersion {
		t.Errorf("producer %q %q", m.GetProducerName(), m.GetProducerVersion())
	}
	for _, v := range append(slices.Clone(m.Graph.Input), m.Graph.Output...) {
		dims, elem, err := onnx.ValueInfoShape(v)
		if err != nil {
			t.Fatal(err)
		}
		if elem != onnx.TensorProto_FLOAT {
			t.Errorf("%q holds %v, want FLOAT", v.GetName(), elem)
		}
		if len(dims) == 0 || dims[0].Param != export.BatchDim {
			t.Errorf("%q has dims %v, want %q first", v.GetName(), dims, export.BatchDim)
		}
	}
	for _, init := range m.Graph.Initializer {
		if dt := onnx.DataType(init.GetDataType()); dt != onnx.TensorProto_FLOAT && dt != onnx.TensorProto_INT64 {
			t.Errorf("initializer %q holds %v", init.GetName(), dt)
		}
	}
	for _, n := range m.Graph.Node {
		for _, a := range []string{"training_mode", "is_test", "spatial", "consumed_inputs", "broadcast"} {
			if onnx.HasAttr(n, a) {
				t.Errorf("node %q (%s) keeps attribute %s", n.GetName(), n.GetOpType(), a)
			}
		}
		switch n.GetOpType() {
		case "Squeeze", "Unsqueeze", "ReduceSum", "Split", "Slice", "Pad", "Clip":
			if len(n.Attribute) > 0 && (onnx.HasAttr(n, "axes") || onnx.HasAttr(n, "split") || onnx.HasAttr(n, "pads") || onnx.HasAttr(n, "min")) {
				t.Errorf("node %q (%s) keeps a pre-opset-13 attribute", n.GetName(), n.GetOpType())
			}
		case "Dropout":
			t.Errorf("node %q: Dropout left in an inference model", n.GetName())
		case "BatchNormalization":
			if len(n.Output) != 1 {
				t.Errorf("node %q (BatchNormalization) has %d outputs, want 1", n.GetName(), len(n.Output))
			}
		}
	}
}

// TestModelMatchesPyTorch exports every fixture with its own parameters
// and compares with PyTorch's outputs, in the Go engine and ONNX Runtime.
// The training-mode fixture exports in inference form: see
// TestTrainingBatchNormExportsInferenceForm.
func TestModelMatchesPyTorch(t *testing.T) {
	for _, f := range torchFixtures(t) {
		if f.Training {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			exp, err := export.Model(f.model, nil, export.Meta{Kind: f.Kind})
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "Go engine", goForward(t, exp, f.x, f.rows), f.y, tolTorch)
			checkClose(t, "ONNX Runtime", ortForward(t, exp, f.x, f.xShape), f.y, tolTorch)
		})
	}
}

// TestTrainingBatchNormExportsInferenceForm checks the decision for
// training-mode BatchNormalization. generator_mlp_train has generator_mlp's
// weights and was exported by PyTorch in training mode (the trace also
// moved its running statistics once). Exported with generator_mlp's
// parameters, running statistics included, it must give PyTorch's
// eval-mode outputs of generator_mlp, whatever the batch size, and not
// the batch-statistics outputs of its own fixture.
func TestTrainingBatchNormExportsInferenceForm(t *testing.T) {
	byName := map[string]*torchFixture{}
	for _, f := range torchFixtures(t) {
		byName[f.Name] = f
	}
	train, eval := byName["generator_mlp_train"], byName["generator_mlp"]
	if train == nil || eval == nil {
		t.Fatal("fixtures generator_mlp_train and generator_mlp are missing")
	}
	net, err := importers.New(eval.model)
	if err != nil {
		t.Fatal(err)
	}
	params := map[string][]float64{}
	for _, p := range net.Params() {
		params[p.Name] = p.Data
	}
	exp, err := export.Model(train.model, params, export.Meta{Kind: export.KindGenerator})
	if err != nil {
		t.Fatal(err)
	}
	got := ortForward(t, exp, eval.x, eval.xShape)
	checkClose(t, "ONNX Runtime vs PyTorch eval mode", got, eval.y, tolTorch)
	checkClose(t, "Go engine vs PyTorch eval mode", goForward(t, exp, eval.x, eval.rows), eval.y, tolTorch)
	if e, _, _ := maxRelErr(ortForward(t, exp, train.x, train.xShape), train.y, 1); e < 1e-2 {
		t.Errorf("export reproduces the training-mode outputs (within %.2g): BatchNormalization still uses batch statistics", e)
	}
	// One row at a time gives what the whole batch gives.
	w, ow := len(eval.x)/eval.rows, len(eval.y)/eval.rows
	row := ortForward(t, exp, eval.x[w:2*w], append([]int{1}, eval.xShape[1:]...))
	checkClose(t, "one row", row, got[ow:2*ow], tolORT)
}

// TestNormalisation checks that shift and scale are baked into the graph:
// an energy takes raw features, x_train = (x − shift)/scale, and a
// generator returns raw samples, x = x_train·scale + shift.
func TestNormalisation(t *testing.T) {
	byName := map[string]*torchFixture{}
	for _, f := range torchFixtures(t) {
		byName[f.Name] = f
	}
	for _, name := range []string{"energy_tanh", "energy_conv", "generator_mlp", "generator_dcgan"} {
		f := byName[name]
		t.Run(name, func(t *testing.T) {
			ref := f.model
			// Row width of the data: the input of an energy, the output of a
			// generator.
			width := len(f.x) / f.rows
			if f.Kind == export.KindGenerator {
				width = len(f.y) / f.rows
			}
			shift, scale := make([]float64, width), make([]float64, width)
			for i := range width {
				shift[i] = float64(float32(0.3 * math.Cos(float64(i))))
				scale[i] = float64(float32(0.5 + 0.25*math.Sin(float64(i)) + float64(i%3)))
			}
			meta := export.Meta{Kind: f.Kind, Shift: shift, Scale: scale}
			exp, err := export.Model(f.model, nil, meta)
			if err != nil {
				t.Fatal(err)
			}
			checkExportedForm(t, exp)
			x, want := f.x, goForward(t, ref, f.x, f.rows)
			if f.Kind == export.KindEnergy {
				// Raw inputs whose normalised form is the fixture's input.
				x = make([]float64, len(f.x))
				for i, v := range f.x {
					x[i] = v*scale[i%width] + shift[i%width]
				}
			} else {
				for i := range want {
					want[i] = want[i]*scale[i%width] + shift[i%width]
				}
			}
			// The Go engine, as ONNX Runtime, takes the raw inputs as float32.
			checkClose(t, "Go engine", goForward(t, exp, x, f.rows), want, tolORT)
			checkClose(t, "ONNX Runtime", ortForward(t, exp, x, f.xShape), want, tolORT)

			net, err := importers.New(exp)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range net.Params() {
				if strings.HasPrefix(p.Name, "ebmpipe.") {
					t.Errorf("normalisation value %q is a parameter; it must stay fixed in training", p.Name)
				}
			}

			// Exporting the export again replaces the normalisation rather
			// than stacking a second one.
			again, err := export.Model(exp, nil, meta)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(again, exp) {
				t.Error("exporting an export again changes it")
			}
			plain, err := export.Model(exp, nil, export.Meta{Kind: f.Kind})
			if err != nil {
				t.Fatal(err)
			}
			direct, err := export.Model(f.model, nil, export.Meta{Kind: f.Kind})
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(plain, direct) {
				t.Error("exporting without normalisation does not remove an earlier one")
			}
		})
	}
}
