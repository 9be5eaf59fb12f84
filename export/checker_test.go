package export_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ebmpipe/ebmpipe/export"
)

// python is Debian's interpreter, where apt's python3-onnx installs.
const python = "/usr/bin/python3"

const checkScript = `import onnx, sys
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
    except Exception as e:
        print(path + ": " + str(e))
        sys.exit(1)
`

// TestONNXChecker runs the reference checker of the onnx Python package,
// with full_check (strict shape inference), on every fixture as Save
// writes it with perturbed parameters. It skips if python3-onnx is not
// installed.
func TestONNXChecker(t *testing.T) {
	needChecker(t)
	dir := t.TempDir()
	var paths []string
	for _, f := range torchFixtures(t) {
		meta := export.Meta{Kind: f.Kind}
		if f.Kind == export.KindEnergy {
			meta.LogZ = &export.LogZ{Value: 1.5, StdErr: 0.01, Method: "test"}
		}
		params := perturbParams(t, f.model)
		for _, normalised := range []bool{false, true} {
			name := f.Name
			if normalised {
				// A normalisation of the data rows (the input of an energy,
				// the output of a generator).
				width := len(f.x) / f.rows
				if f.Kind == export.KindGenerator {
					width = len(f.y) / f.rows
				}
				meta.Shift, meta.Scale = make([]float64, width), make([]float64, width)
				for i := range width {
					meta.Shift[i], meta.Scale[i] = float64(i), 2
				}
				name += "_normalised"
			}
			path := filepath.Join(dir, name+".onnx")
			if err := export.Save(path, f.model, params, meta); err != nil {
				t.Fatalf("%s: Save: %v", name, err)
			}
			paths = append(paths, path)
		}
	}
	onnxCheck(t, paths)
}

// needChecker skips t if Python's onnx package is not installed.
func needChecker(t *testing.T) {
	t.Helper()
	// onnx.checker, not onnx: libonnx-testdata alone leaves a directory
	// onnx (its test data) that imports as an empty package.
	if out, err := exec.Command(python, "-c", "import onnx.checker").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import onnx (apt-get install python3-onnx): %v %s", python, err, out)
	}
}

// onnxCheck runs onnx.checker.check_model with full_check on each file.
func onnxCheck(t *testing.T, paths []string) {
	t.Helper()
	needChecker(t)
	if len(paths) == 0 {
		t.Fatal("no models to check")
	}
	out, err := exec.Command(python, append([]string{"-c", checkScript}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker: %v\n%s", err, out)
	}
	t.Logf("onnx.checker (full_check) passes %d models", len(paths))
}
