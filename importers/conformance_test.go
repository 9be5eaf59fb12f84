package importers

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
	"google.golang.org/protobuf/proto"
)

// backendData is where Debian's libonnx-testdata installs the ONNX backend
// test models (ONNX 1.12, opsets up to 17).
const backendData = "/usr/share/libonnx-testdata/data"

// Tolerances of the ONNX backend tests.
const (
	confRtol = 1e-4
	confAtol = 1e-5
)

// defectiveData lists backend test models whose stored test data
// contradicts their own graph, with the reason; they are skipped and counted.
var defectiveData = map[string]string{
	// The unused input "like" is stored with shape [1]; the graph declares [3 4].
	"test_castlike_BFLOAT16_to_FLOAT_expanded": "input_1.pb has shape [1], the graph declares [3 4]",
	"test_castlike_BFLOAT16_to_FLOAT":          "input_1.pb has shape [1], the graph declares [3 4]",
}

// confSuite tallies one suite of backend test models.
type confSuite struct {
	name                    string
	passed, failed, skipped int
	ops                     map[string]int // unsupported op → models skipped for it
	other                   map[string]int // other skip reasons
}

func (s *confSuite) String() string {
	ops := make([]string, 0, len(s.ops))
	for op := range s.ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	msg := fmt.Sprintf("conformance: %s: %d passed, %d failed, %d skipped (unsupported ops: %s",
		s.name, s.passed, s.failed, s.skipped, strings.Join(ops, ", "))
	if len(s.other) > 0 {
		var other []string
		for why, n := range s.other {
			other = append(other, fmt.Sprintf("%s ×%d", why, n))
		}
		sort.Strings(other)
		msg += "; other: " + strings.Join(other, ", ")
	}
	return msg + ")"
}

// TestConformance runs the ONNX backend test models the importer supports:
// PyTorch's converted modules and operators (one suite) and the ONNX node
// tests (another). A model whose every node is supported must reproduce
// every output of every test data set.
func TestConformance(t *testing.T) {
	if _, err := os.Stat(backendData); err != nil {
		t.Skipf("ONNX backend test data not found at %s (Debian package libonnx-testdata)", backendData)
	}
	if testing.Short() {
		t.Skip("conformance runs hundreds of models; skipped in -short mode")
	}
	pytorch := &confSuite{name: "pytorch", ops: map[string]int{}, other: map[string]int{}}
	var dirs []string
	for _, sub := range []string{"pytorch-converted", "pytorch-operator"} {
		d, _ := filepath.Glob(filepath.Join(backendData, sub, "*", "model.onnx"))
		dirs = append(dirs, d...)
	}
	t.Run("pytorch", func(t *testing.T) { runSuite(t, pytorch, dirs) })
	t.Log(pytorch)
	if total := pytorch.passed + pytorch.failed + pytorch.skipped; total > 0 && pytorch.passed*10 < total*9 {
		t.Errorf("only %d of %d PyTorch models pass, want at least 90%%", pytorch.passed, total)
	}

	node := &confSuite{name: "node", ops: map[string]int{}, other: map[string]int{}}
	dirs, _ = filepath.Glob(filepath.Join(backendData, "node", "*", "model.onnx"))
	t.Run("node", func(t *testing.T) { runSuite(t, node, dirs) })
	t.Log(node)
}

func runSuite(t *testing.T, s *confSuite, models []string) {
	for _, path := range models {
		dir := filepath.Dir(path)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			m, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if why, ok := defectiveData[name]; ok {
				s.skipped++
				s.other["defective test data"]++
				t.Skip(why)
			}
			if errs := Unsupported(m); len(errs) > 0 {
				s.skipped++
				seen := map[string]bool{}
				for _, err := range errs {
					var ue *UnsupportedError
					key := "other"
					if errors.As(err, &ue) {
						if ue.Reason == "unsupported op" || strings.HasPrefix(ue.Reason, "unsupported op (") {
							key = ue.Op
							if !seen[key] {
								s.ops[key]++
							}
						} else {
							key = ue.Op + ": " + ue.Reason
							if !seen[key] {
								s.other[ue.Op+" with unsupported attributes or inputs"]++
							}
						}
					} else if !seen[key] {
						s.other["unsupported input or initializer types"]++
					}
					seen[key] = true
				}
				t.Skip(errors.Join(errs...))
			}
			sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
			if len(sets) == 0 {
				t.Fatal("no test data sets")
			}
			ok := true
			for _, set := range sets {
				err := runDataSet(m, set)
				if errors.Is(err, autodiff.ErrEmptyTensor) {
					s.skipped++
					s.other["empty tensors"]++
					t.Skip(err)
				}
				if err != nil {
					t.Errorf("%s: %v", filepath.Base(set), err)
					ok = false
				}
			}
			if ok {
				s.passed++
			} else {
				s.failed++
			}
		})
	}
}

// runDataSet builds m for the shapes of one test data set, runs it and
// compares every output.
func runDataSet(m *onnx.ModelProto, set string) error {
	net, err := New(m)
	if err != nil {
		return err
	}
	tp := autodiff.NewTape(autodiff.Float64)
	ins := net.Inputs()
	nodes := make([]*autodiff.Node, len(ins))
	values := make([]autodiff.Tensor, len(ins))
	for k, p := range ins {
		tt, err := onnx.LoadTensor(filepath.Join(set, fmt.Sprintf("input_%d.pb", k)))
		if err != nil {
			return err
		}
		if p.Elem == onnx.TensorProto_INT64 {
			data, shape, err := onnx.TensorInt64(tt)
			if err != nil {
				return err
			}
			values[k] = autodiff.NewTensor(shape, data)
			nodes[k] = tp.Variable(p.Name, values[k])
			continue
		}
		if p.Elem == onnx.TensorProto_BFLOAT16 && onnx.DataType(tt.GetDataType()) == onnx.TensorProto_UINT16 {
			// numpy has no bfloat16: the suite stores such inputs as
			// their bit patterns in uint16 tensors.
			tt.DataType = proto.Int32(int32(onnx.TensorProto_BFLOAT16))
		}
		data, shape, err := onnx.TensorFloat64(tt)
		if err != nil {
			return err
		}
		values[k] = autodiff.NewTensor(shape, data)
		nodes[k] = tp.Input(p.Name, shape...)
	}
	outs, err := net.Apply(tp, net.NewParams(tp), ApplyOptions{}, nodes...)
	if err != nil {
		return err
	}
	for k, n := range nodes {
		if err := autodiff.Let(n, values[k]); err != nil {
			return err
		}
	}
	vm := autodiff.NewMachine(tp)
	defer vm.Close()
	if err := vm.Run(); err != nil {
		return err
	}
	for k, o := range outs {
		tt, err := onnx.LoadTensor(filepath.Join(set, fmt.Sprintf("output_%d.pb", k)))
		if err != nil {
			return err
		}
		want, shape, err := onnx.TensorFloat64(tt)
		if err != nil {
			return err
		}
		got, err := autodiff.CopyOut(nil, o)
		if err != nil {
			return err
		}
		if err := compareTensor(got, o.Shape(), want, shape, confRtol, confAtol); err != nil {
			return fmt.Errorf("output %d (%s): %w", k, net.Outputs()[k].Name, err)
		}
	}
	return nil
}

// compareTensor checks got against want elementwise: |got − want| ≤
// atol + rtol·|want|, NaN matching NaN.
func compareTensor(got []float64, gotShape []int, want []float64, shape []int, rtol, atol float64) error {
	if !slices.Equal(gotShape, shape) {
		return fmt.Errorf("shape %v, want %v", gotShape, shape)
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d elements, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		switch {
		case math.IsNaN(w) && math.IsNaN(g), w == g:
			continue
		case !(math.Abs(g-w) <= atol+rtol*math.Abs(w)):
			return fmt.Errorf("element %d is %g, want %g", i, g, w)
		}
	}
	return nil
}
