package importers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/graphtest"
	"github.com/ebmpipe/ebmpipe/internal/testutil"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// netGrad is a network on a float64 tape set up for gradient checks:
//
//	y = Σ_k ⟨c_k, out_k⟩           (c_k fixed random weights)
//	g = ∂y/∂x₀                      (the importer's own VJP rules)
//	L = y + ½‖g‖² / rows            (a second-order loss)
//
// with ∂y/∂x_k from VJP and ∂L/∂leaf from ParamGrads (Gorgonia's Grad, once).
type netGrad struct {
	leaves []*autodiff.Node // float inputs, then trainable parameters
	names  []string
	inputs int // leaves[:inputs] are the float inputs
	y, l   *autodiff.Node
	gy     []*autodiff.Node // ∂y/∂input
	gl     []*autodiff.Node // ∂L/∂leaf
	vm     *autodiff.Machine
}

// newNetGrad builds the check for net on the given input values; inputs of
// integer type are constants.
func newNetGrad(net *Network, ins []autodiff.Tensor, training bool, seed uint64) (*netGrad, error) {
	t := autodiff.NewTape(autodiff.Float64)
	ng := &netGrad{}
	nodes := make([]*autodiff.Node, len(ins))
	for k, a := range ins {
		name := net.Inputs()[k].Name
		if a.Dtype() == autodiff.Int64 {
			nodes[k] = t.Variable(name, a)
			continue
		}
		nodes[k] = t.Variable(name, autodiff.NewTensor(a.Shape(), append([]float64(nil), a.Float64s()...)))
		ng.leaves = append(ng.leaves, nodes[k])
		ng.names = append(ng.names, "input "+name)
	}
	ng.inputs = len(ng.leaves)
	if ng.inputs == 0 {
		return nil, fmt.Errorf("no float inputs")
	}
	ps := net.NewParams(t)
	for i, p := range net.Params() {
		if p.Trainable {
			ng.leaves = append(ng.leaves, ps.Nodes[i])
			ng.names = append(ng.names, "param "+p.Name)
		}
	}
	outs, err := net.Apply(t, ps, ApplyOptions{Training: training}, nodes...)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 3))
	var y *autodiff.Node
	for k, o := range outs {
		if e := net.Outputs()[k].Elem; e != 0 && !onnx.IsFloat(e) {
			continue
		}
		c := make([]float64, autodiff.Size(o.Shape()))
		for i := range c {
			c[i] = r.NormFloat64()
		}
		term := t.Sum(t.Mul(o, t.Const(c, o.Shape()...)))
		if y == nil {
			y = term
		} else {
			y = t.Add(y, term)
		}
	}
	if y == nil {
		return nil, fmt.Errorf("no float outputs")
	}
	ng.y = y
	ng.gy = t.VJP([]*autodiff.Node{y}, []*autodiff.Node{nil}, ng.leaves[:ng.inputs])
	if err := t.Err(); err != nil {
		return nil, err
	}
	for i, n := range ng.gy {
		if n == nil { // y does not depend on this input
			ng.gy[i] = t.ZerosLike(ng.leaves[i])
		}
	}
	gx := ng.gy[0]
	rows := 1
	if s := gx.Shape(); len(s) > 0 {
		rows = s[0]
	}
	ng.l = t.Add(y, t.Scale(t.Sum(t.Square(gx)), 0.5/float64(rows)))
	if err := t.Err(); err != nil {
		return nil, err
	}
	if ng.gl, err = t.ParamGrads(ng.l, ng.leaves...); err != nil {
		return nil, err
	}
	ng.vm = autodiff.NewMachine(t)
	return ng, nil
}

func (ng *netGrad) run() error {
	defer ng.vm.Reset()
	return ng.vm.Run()
}

// check compares every analytic gradient with central differences on at
// most maxElems elements of each leaf, returning the first disagreement.
func (ng *netGrad) check(maxElems int, tol float64, seed uint64) error {
	if err := ng.run(); err != nil {
		return err
	}
	gy := make([][]float64, len(ng.gy))
	for i, n := range ng.gy {
		gy[i] = graphtest.Values(n)
	}
	gl := make([][]float64, len(ng.gl))
	for i, n := range ng.gl {
		gl[i] = graphtest.Values(n)
	}
	r := rand.New(rand.NewPCG(seed, 5))
	var err error
	eval := func(n *autodiff.Node) float64 {
		if e := ng.run(); e != nil && err == nil {
			err = e
		}
		return graphtest.Scalar(n)
	}
	for i, leaf := range ng.leaves {
		d := leaf.Float64s()
		idx := r.Perm(len(d))
		if len(idx) > maxElems {
			idx = idx[:maxElems]
		}
		for _, j := range idx {
			const h = 1e-5
			old := d[j]
			d[j] = old + h
			yp, lp := eval(ng.y), graphtest.Scalar(ng.l)
			d[j] = old - h
			ym, lm := eval(ng.y), graphtest.Scalar(ng.l)
			d[j] = old
			if err != nil {
				return err
			}
			if i < ng.inputs {
				if e := compareFD("∂y/∂"+ng.names[i], j, gy[i][j], (yp-ym)/(2*h), tol); e != nil {
					return e
				}
			}
			if e := compareFD("∂L/∂"+ng.names[i], j, gl[i][j], (lp-lm)/(2*h), tol); e != nil {
				return e
			}
		}
	}
	return nil
}

func compareFD(what string, j int, analytic, fd, tol float64) error {
	if math.IsNaN(fd) && math.IsNaN(analytic) {
		return nil
	}
	if !(math.Abs(analytic-fd) <= tol*(1+math.Abs(fd))) {
		return fmt.Errorf("%s[%d]: analytic %.10g, finite difference %.10g", what, j, analytic, fd)
	}
	return nil
}

// TestNodeGradients checks first- and second-order gradients of every
// supported op against central differences, on the ONNX backend suite's
// node test models that the conformance test runs: y = Σ c·outputs,
// ∂y/∂inputs and ∂(y + ½‖∂y/∂x₀‖²)/∂(inputs, initializers). Every
// supported op must be covered by at least one model, unless listed in
// noGradOps.
func TestNodeGradients(t *testing.T) {
	if _, err := os.Stat(backendData); err != nil {
		t.Skipf("ONNX backend test data not found at %s (Debian package libonnx-testdata)", backendData)
	}
	if testing.Short() {
		t.Skip("runs hundreds of models; skipped in -short mode")
	}
	models, _ := filepath.Glob(filepath.Join(backendData, "node", "*", "model.onnx"))
	covered := map[string]bool{}
	checked, failed := 0, 0
	for _, path := range models {
		dir := filepath.Dir(path)
		name := filepath.Base(dir)
		m, err := onnx.Load(path)
		if err != nil || len(Unsupported(m)) > 0 || defectiveData[name] != "" {
			continue
		}
		if why, ok := kinkedNodeTests[name]; ok {
			t.Logf("%s: not gradient-checked: %s", name, why)
			continue
		}
		net, err := New(m)
		if err != nil {
			continue
		}
		ins, err := loadInputs(net, filepath.Join(dir, "test_data_set_0"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		ng, err := newNetGrad(net, ins, false, 11)
		if err != nil {
			// Ops with no float input or output have no gradient;
			// Gorgonia has no empty tensors.
			t.Logf("%s: not gradient-checked: %v", name, err)
			continue
		}
		checked++
		if err := ng.check(12, 1e-5, 13); err != nil {
			failed++
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, n := range m.GetGraph().GetNode() {
			covered[n.GetOpType()] = true
		}
	}
	var missing []string
	for _, op := range SupportedOps() {
		if !covered[op] && noGradOps[op] == "" {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	t.Logf("gradients: %d node models checked, %d failed; ops with no checked model: %s", checked, failed, strings.Join(missing, ", "))
	if len(missing) > 0 {
		t.Errorf("supported ops without a gradient-checked node model: %v", missing)
	}
}

// kinkedNodeTests are node models whose test inputs sit on a kink of a
// piecewise-linear op, where a central difference averages two one-sided
// derivatives and no gradient is right.
var kinkedNodeTests = map[string]string{
	"test_elu_example":                              "x = 0, where Elu with α = 2 has slopes 2 and 1",
	"test_leakyrelu_example":                        "x = 0, where LeakyRelu has slopes 0.1 and 1",
	"test_selu_example":                             "x = 0, where Selu has slopes γ·α and γ",
	"test_softsign_example":                         "x = 0, where Softsign's second derivative jumps",
	"test_reduce_min_default_axes_keepdims_example": "the minimum, 1, appears three times: ReduceMin has no derivative at ties",
}

// noGradOps are supported ops that no node model can gradient-check, with
// the reason; their derivatives are checked elsewhere or do not exist.
var noGradOps = map[string]string{
	"Shape":              "integer-valued",
	"ConstantOfShape":    "its input is a shape; checked through the models that use it",
	"Range":              "integer-valued in the models we import",
	"Equal":              "boolean-valued",
	"Where":              "its condition must be known when the graph is built (shape computations)",
	"Pad":                "the node tests give the pad value as a runtime input or use INT32 data; TestFixtures checks Pad through energy_conv",
	"Gelu":               "opset 20, newer than the backend suite's node tests; TestFixtures checks it through testdata/opset",
	"GroupNormalization": "opset 18/21 forms newer than the backend suite's node tests; TestFixtures checks them through testdata/opset",
}

// loadInputs reads the input tensors of a backend test data set.
func loadInputs(net *Network, set string) ([]autodiff.Tensor, error) {
	var ins []autodiff.Tensor
	for k, p := range net.Inputs() {
		tt, err := onnx.LoadTensor(filepath.Join(set, fmt.Sprintf("input_%d.pb", k)))
		if err != nil {
			return nil, err
		}
		if p.Elem == onnx.TensorProto_INT64 || p.Elem == onnx.TensorProto_INT32 {
			data, shape, err := onnx.TensorInt64(tt)
			if err != nil {
				return nil, err
			}
			ins = append(ins, autodiff.NewTensor(shape, data))
			continue
		}
		data, shape, err := onnx.TensorFloat64(tt)
		if err != nil {
			return nil, err
		}
		ins = append(ins, autodiff.NewTensor(shape, data))
	}
	return ins, nil
}

// fixture is one entry of the manifest.json of a fixture directory.
type fixture = testutil.Fixture

// The fixture directories: PyTorch exports (opsets 9-17), opset 18-23
// models in the dynamo exporter's shapes, and torch 1.13 exports with
// quirks, each with ONNX Runtime's or PyTorch's outputs.
const (
	fixtureDir = "../testdata/torch"
	opsetDir   = "../testdata/opset"
	quirksDir  = "../testdata/torchquirks"
)

var fixtureDirs = []string{fixtureDir, opsetDir, quirksDir}

func readNPY(t *testing.T, path string) autodiff.Tensor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var f32 []float32
	if err := r.Read(&f32); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	data := make([]float64, len(f32))
	for i, v := range f32 {
		data[i] = float64(v)
	}
	return autodiff.NewTensor(r.Header.Descr.Shape, data)
}

// TestFixtures runs every fixture (PyTorch exports, the opset 18-23
// models, the torch quirks) forward (float64 and float32 tapes) against
// the stored outputs, then checks the gradient of y = Σ c·G(x) and of the
// second-order loss y + ½‖∂y/∂x‖²/n with respect to the input and every
// parameter against central differences: the gradient-penalty and
// diffusion bounds differentiate input gradients.
func TestFixtures(t *testing.T) {
	for _, dir := range fixtureDirs {
		for _, fx := range testutil.Fixtures(t, dir) {
			t.Run(filepath.Base(dir)+"/"+fx.Name, func(t *testing.T) { checkFixture(t, dir, fx) })
		}
	}
}

func checkFixture(t *testing.T, dir string, fx fixture) {
	net, err := Load(filepath.Join(dir, fx.Model))
	if err != nil {
		t.Fatal(err)
	}
	// The output dims the importer reports: the declared ones, with the
	// symbolic dims of torch 1.13's generator found fixed by propagation.
	wantDims := fmt.Sprint(fx.OutputDims)
	if fx.Name == "generator_dcgan28" {
		wantDims = "[batch 1 28 28]"
	}
	if got := fmt.Sprint(net.Outputs()[0].Dims); fx.OutputDims != nil && got != wantDims {
		t.Errorf("output dims %s, want %s", got, wantDims)
	}
	in := readNPY(t, filepath.Join(dir, fx.Input))
	want := readNPY(t, filepath.Join(dir, fx.Output))
	for _, dt := range []autodiff.Dtype{autodiff.Float64, autodiff.Float32} {
		got, gotShape, err := forward(net, in, fx.Training, dt)
		if err != nil {
			t.Fatalf("%v forward: %v", dt, err)
		}
		if err := compareTensor(got, gotShape, want.Float64s(), want.Shape(), 1e-4, 1e-5); err != nil {
			t.Errorf("%v forward: %v", dt, err)
		}
	}
	// Enough rows for batch statistics, few for speed.
	shape := in.Shape()
	rows := min(shape[0], 4)
	if fx.Training || net.Inputs()[0].Dims[0].Value > 0 {
		rows = shape[0] // batch statistics, or a fixed batch
	}
	w := autodiff.Size(shape[1:])
	small := autodiff.NewTensor(append([]int{rows}, shape[1:]...), in.Float64s()[:rows*w])
	ng, err := newNetGrad(net, []autodiff.Tensor{small}, fx.Training, 17)
	if err != nil {
		t.Fatal(err)
	}
	if err := ng.check(6, 1e-5, 19); err != nil {
		t.Error(err)
	}
}

// forward runs net on the input on a tape of element type dt.
func forward(net *Network, in autodiff.Tensor, training bool, dt autodiff.Dtype) ([]float64, []int, error) {
	t := autodiff.NewTape(dt)
	x := t.Variable("x", autodiff.FromFloat64s(dt, in.Shape(), in.Float64s()))
	outs, err := net.Apply(t, net.NewParams(t), ApplyOptions{Training: training}, x)
	if err != nil {
		return nil, nil, err
	}
	vm := autodiff.NewMachine(t)
	defer vm.Close()
	if err := vm.Run(); err != nil {
		return nil, nil, err
	}
	got, err := autodiff.CopyOut(nil, outs[0])
	return got, outs[0].Shape(), err
}
