package pipeline

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/onnx"
)

// Test models are written with float32 parameters; means and scales are
// chosen exactly representable so that the analytic log Z is exact.

// testEnergy describes a separable energy model of input width len(mu):
//
//	quadratic: E(x) = ½ Σ ((x_j − mu_j) / sigma_j)², log Z = Σ log(√(2π) sigma_j)
//	laplace:   E(x) = Σ |x_j − mu_j| / sigma_j,     log Z = Σ log(2 sigma_j)
type testEnergy struct {
	mu, sigma []float64
	laplace   bool
	extraOut  bool // add a second output, as a model that is not an energy
}

func (te testEnergy) logZ() float64 {
	z := 0.0
	for _, s := range te.sigma {
		if te.laplace {
			z += math.Log(2 * s)
		} else {
			z += math.Log(math.Sqrt(2*math.Pi) * s)
		}
	}
	return z
}

// sample draws n rows from the energy's density.
func (te testEnergy) sample(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 99))
	d := len(te.mu)
	x := make([]float64, n*d)
	for i := range x {
		j := i % d
		v := r.NormFloat64()
		if te.laplace {
			v = r.ExpFloat64()
			if r.IntN(2) == 0 {
				v = -v
			}
		}
		x[i] = te.mu[j] + te.sigma[j]*v
	}
	return x
}

func float32s(x []float64, f func(float64) float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(f(v))
	}
	return out
}

func (te testEnergy) model() *onnx.ModelProto {
	d := len(te.mu)
	batch := onnx.Dim{Param: "batch"}
	node := func(op string, in []string, out string) *onnx.NodeProto {
		return &onnx.NodeProto{Name: proto.String(out), OpType: proto.String(op), Input: in, Output: []string{out}}
	}
	g := &onnx.GraphProto{
		Name:  proto.String("energy"),
		Input: []*onnx.ValueInfoProto{onnx.NewValueInfo("x", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: int64(d)})},
		Initializer: []*onnx.TensorProto{
			onnx.NewTensorFloat32("mu", []int{d}, float32s(te.mu, func(v float64) float64 { return v })),
			onnx.NewTensorFloat32("inv", []int{d}, float32s(te.sigma, func(v float64) float64 { return 1 / v })),
			onnx.NewTensorFloat32("half", nil, []float32{0.5}),
			onnx.NewTensorInt64("axes", []int{1}, []int64{1}),
		},
		Node: []*onnx.NodeProto{
			node("Sub", []string{"x", "mu"}, "c"),
			node("Mul", []string{"c", "inv"}, "s"),
		},
		Output: []*onnx.ValueInfoProto{onnx.NewValueInfo("energy", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: 1})},
	}
	if te.laplace {
		g.Node = append(g.Node,
			node("Abs", []string{"s"}, "q"),
			node("ReduceSum", []string{"q", "axes"}, "energy"))
	} else {
		g.Node = append(g.Node,
			node("Mul", []string{"s", "s"}, "q"),
			node("ReduceSum", []string{"q", "axes"}, "r"),
			node("Mul", []string{"r", "half"}, "energy"))
	}
	if te.extraOut {
		g.Output = append(g.Output, onnx.NewValueInfo("s", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: int64(d)}))
	}
	return &onnx.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph:       g,
	}
}

// testGenerator returns the generator x = mu + sigma ⊙ z, whose samples
// follow the quadratic testEnergy with the same mu and sigma.
func testGenerator(mu, sigma []float64) *onnx.ModelProto {
	d := len(mu)
	batch := onnx.Dim{Param: "batch"}
	return &onnx.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph: &onnx.GraphProto{
			Name:  proto.String("generator"),
			Input: []*onnx.ValueInfoProto{onnx.NewValueInfo("z", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: int64(d)})},
			Initializer: []*onnx.TensorProto{
				onnx.NewTensorFloat32("mu", []int{d}, float32s(mu, func(v float64) float64 { return v })),
				onnx.NewTensorFloat32("sigma", []int{d}, float32s(sigma, func(v float64) float64 { return v })),
			},
			Node: []*onnx.NodeProto{
				{Name: proto.String("mul"), OpType: proto.String("Mul"), Input: []string{"z", "sigma"}, Output: []string{"a"}},
				{Name: proto.String("add"), OpType: proto.String("Add"), Input: []string{"a", "mu"}, Output: []string{"x"}},
			},
			Output: []*onnx.ValueInfoProto{onnx.NewValueInfo("x", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: int64(d)})},
		},
	}
}

func newTestEngine(t *testing.T, m *onnx.ModelProto, batch int) engine.Engine {
	t.Helper()
	eng, err := engine.NewGoEngine(m, batch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

func repeatFloat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestLogZGrid checks grid integration against analytic log Z: the
// estimate must be within tol, and within 3 reported errors (plus 1e-9 for
// rounding) so that the reported error is not too small.
func TestLogZGrid(t *testing.T) {
	cases := []struct {
		name     string
		te       testEnergy
		data     int // rows drawn from the model for the bounds, if > 0
		bounds   []float64
		gridSize int
		tol      float64
		note     string  // a note that must be given, if not empty
		want     float64 // the integral over the box, if not the analytic log Z
		outside  float64 // the mass outside the box, if checked
	}{
		{name: "1d-gaussian", te: testEnergy{mu: []float64{0}, sigma: []float64{1}}, data: 1000, tol: 1e-6},
		{name: "2d-gaussian", te: testEnergy{mu: []float64{0, 0}, sigma: []float64{1, 1}}, data: 1000, tol: 1e-5},
		{name: "2d-diagonal-shifted", te: testEnergy{mu: []float64{1, -3}, sigma: []float64{0.5, 4}}, data: 1000, tol: 1e-5},
		{name: "2d-gaussian-bounds", te: testEnergy{mu: []float64{0, 0}, sigma: []float64{1, 1}}, bounds: []float64{-6, 6}, tol: 1e-6},
		{name: "2d-per-axis-bounds", te: testEnergy{mu: []float64{1, -3}, sigma: []float64{0.5, 4}}, bounds: []float64{-2, 4, -27, 21}, tol: 1e-6},
		// A kink off the grid nodes: the trapezoid rule is only O(h²)
		// here, and the Richardson estimate must account for it.
		{name: "2d-laplace-kink", te: testEnergy{mu: []float64{0.123, -0.456}, sigma: []float64{1, 0.5}, laplace: true},
			bounds: []float64{-15, 15}, tol: 2e-3},
		{name: "1d-laplace-coarse", te: testEnergy{mu: []float64{0.3}, sigma: []float64{1}, laplace: true},
			bounds: []float64{-40, 40}, gridSize: 64, tol: 0.2, note: "use a larger --grid-size"},
		// E = x + 10 on [-1, 1]: exp(−E) rises to the lower face, so the
		// box holds the integral ∫ exp(−x−10) dx = e⁻⁹ − e⁻¹¹, which tests the
		// end weights of the rule; the mass beyond the box is flagged.
		{name: "1d-exponential-box", te: testEnergy{mu: []float64{-10}, sigma: []float64{1}, laplace: true}, bounds: []float64{-1, 1},
			want: math.Log(math.Exp(-9) - math.Exp(-11)), tol: 1e-6, note: "the density does not fall off at the edge of the box"},
		// A box cutting off mass: the estimate is biased low, but the
		// reported error must cover it and a note must say so.
		// By Mills' inequality the face estimate bounds a Gaussian's tail
		// from above; outside is the mass outside over the mass inside.
		{name: "2d-gaussian-narrow-box", te: testEnergy{mu: []float64{0, 0}, sigma: []float64{1, 1}}, bounds: []float64{-2, 2}, tol: 0.1,
			note: "of that inside; widen it", outside: 1/math.Pow(math.Erf(2/math.Sqrt2), 2) - 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultLogZOptions()
			o.Method = LogZGrid
			o.Bounds = c.bounds
			o.GridSize = c.gridSize
			if c.data > 0 {
				o.Data = c.te.sample(c.data, 1)
			}
			res, err := LogZ(newTestEngine(t, c.te.model(), o.BatchSize), o)
			if err != nil {
				t.Fatal(err)
			}
			want := c.te.logZ()
			if c.want != 0 {
				want = c.want
			}
			diff := math.Abs(res.Value - want)
			t.Logf("log Z = %.9f ± %.2g (Richardson %.2g, truncation %.2g), want %.9f, off by %.2g; box %s",
				res.Value, res.StdErr, res.Richardson, res.Truncation, want, diff, formatBox(res.Bounds))
			if res.Method != LogZGrid {
				t.Errorf("method %q, want %q", res.Method, LogZGrid)
			}
			if diff > c.tol {
				t.Errorf("log Z = %.9f, want %.9f within %g", res.Value, want, c.tol)
			}
			// Against the integral over the box, only the discretisation
			// error counts.
			if err := res.StdErr; c.want != 0 {
				if err = res.Richardson; diff > 3*err+1e-9 {
					t.Errorf("off by %.3g, more than 3 Richardson errors (%.3g)", diff, err)
				}
			} else if diff > 3*err+1e-9 {
				t.Errorf("off by %.3g, more than 3 reported errors (%.3g)", diff, err)
			} else if err > 10*c.tol {
				t.Errorf("reported error %.3g is not sensible for a tolerance of %g", err, c.tol)
			}
			if c.outside != 0 && !(res.Truncation >= c.outside && res.Truncation < 2*c.outside) {
				t.Errorf("estimated mass outside the box %.4g of that inside, want between %.4g and twice that", res.Truncation, c.outside)
			}
			notes := strings.Join(res.Notes, "\n")
			if c.note == "" && notes != "" {
				t.Errorf("unexpected notes: %s", notes)
			}
			if !strings.Contains(notes, c.note) {
				t.Errorf("notes %q do not contain %q", notes, c.note)
			}
		})
	}
}

// TestLogZGridBoundsFromData checks that the box is the data's range widened
// by the margin on each side.
func TestLogZGridBoundsFromData(t *testing.T) {
	te := testEnergy{mu: []float64{0, 0}, sigma: []float64{1, 1}}
	o := DefaultLogZOptions()
	o.Data = []float64{-1, 2, 3, 4, 1, 2.5}
	o.Margin = 0.25
	o.GridSize = 8
	res, err := LogZ(newTestEngine(t, te.model(), 16), o)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]float64{{-2, 4}, {1.5, 4.5}}
	if len(res.Bounds) != 2 || res.Bounds[0] != want[0] || res.Bounds[1] != want[1] {
		t.Errorf("bounds %v, want %v", res.Bounds, want)
	}
	if res.Method != LogZGrid || res.GridSize != 8 || res.Evals != 81 {
		t.Errorf("method %s, grid %d, %d evaluations; want grid, 8, 81", res.Method, res.GridSize, res.Evals)
	}
}

// TestLogZImportance checks importance sampling against analytic log Z:
// the estimate must be within 3 reported standard errors, and the standard
// error must be small.
func TestLogZImportance(t *testing.T) {
	sigma10 := []float64{0.25, 0.5, 1, 2, 4, 0.5, 1, 2, 1, 0.25}
	mu10 := []float64{1, -2, 0, 3, -1, 0.5, 0, -0.25, 2, 0}
	cases := []struct {
		name      string
		te        testEnergy
		data      int  // rows drawn from the model, if > 0
		generator bool // use testGenerator for the proposal
		method    string
		maxErr    float64 // the largest acceptable standard error
	}{
		{name: "10d-gaussian", te: testEnergy{mu: repeatFloat(0, 10), sigma: repeatFloat(1, 10)}, data: 2000, maxErr: 0.01},
		{name: "10d-diagonal-shifted", te: testEnergy{mu: mu10, sigma: sigma10}, data: 2000, maxErr: 0.01},
		{name: "10d-generator", te: testEnergy{mu: mu10, sigma: sigma10}, generator: true, maxErr: 0.01},
		{name: "10d-data-and-generator", te: testEnergy{mu: mu10, sigma: sigma10}, data: 2000, generator: true, maxErr: 0.01},
		{name: "2d-forced", te: testEnergy{mu: []float64{1, -3}, sigma: []float64{0.5, 4}}, data: 500, method: LogZImportance, maxErr: 0.01},
		// Not Gaussian: heavier tails than the proposal's main component.
		{name: "5d-laplace", te: testEnergy{mu: repeatFloat(0.5, 5), sigma: []float64{1, 2, 0.5, 1, 1}, laplace: true}, data: 2000, maxErr: 0.02},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultLogZOptions()
			o.Samples = 50000
			if c.method != "" {
				o.Method = c.method
			}
			if c.data > 0 {
				o.Data = c.te.sample(c.data, uint64(i))
			}
			if c.generator {
				o.Generator = newTestEngine(t, testGenerator(c.te.mu, c.te.sigma), o.BatchSize)
			}
			res, err := LogZ(newTestEngine(t, c.te.model(), o.BatchSize), o)
			if err != nil {
				t.Fatal(err)
			}
			want := c.te.logZ()
			diff := math.Abs(res.Value - want)
			t.Logf("log Z = %.5f ± %.2g, want %.5f, off by %.2g (%.1f SE); ESS %.0f of %d; %s",
				res.Value, res.StdErr, want, diff, diff/res.StdErr, res.ESS, res.Evals, res.Proposal)
			if res.Method != LogZImportance {
				t.Errorf("method %q, want %q", res.Method, LogZImportance)
			}
			if diff > 3*res.StdErr {
				t.Errorf("log Z = %.5f, want %.5f within 3 standard errors (%.3g)", res.Value, want, res.StdErr)
			}
			if !(res.StdErr > 0 && res.StdErr < c.maxErr) {
				t.Errorf("standard error %.3g, want in (0, %g)", res.StdErr, c.maxErr)
			}
			if len(res.Notes) > 0 {
				t.Errorf("unexpected notes: %q", res.Notes)
			}
		})
	}
}

// TestLogZImportanceCalibration repeats a small importance estimate over
// seeds and checks that the reported standard errors match the spread of
// the estimates: the mean squared z-score must be near 1.
func TestLogZImportanceCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("repeats an estimate 40 times")
	}
	te := testEnergy{mu: []float64{1, -2, 0, 3, -1, 0.5, 0, -0.25, 2, 0}, sigma: []float64{0.25, 0.5, 1, 2, 4, 0.5, 1, 2, 1, 0.25}}
	data := te.sample(300, 3) // few rows: a poorly fitted proposal
	eng := newTestEngine(t, te.model(), 1000)
	want := te.logZ()
	const runs = 40
	var z1, z2 float64
	for seed := range uint64(runs) {
		o := DefaultLogZOptions()
		o.Samples, o.BatchSize, o.Seed, o.Data = 2000, 1000, seed, data
		res, err := LogZ(eng, o)
		if err != nil {
			t.Fatal(err)
		}
		z := (res.Value - want) / res.StdErr
		z1 += z
		z2 += z * z
	}
	z1 /= runs
	z2 /= runs
	t.Logf("mean z-score %.2f, mean squared z-score %.2f over %d runs", z1, z2, runs)
	// The mean of 40 standard normal z has sd 1/√40 ≈ 0.16.
	if math.Abs(z1) > 0.6 {
		t.Errorf("mean z-score %.2f: the estimate is biased", z1)
	}
	// For 40 standard normal z, the mean of z² has sd √(2/40) ≈ 0.22.
	if z2 < 0.4 || z2 > 2 {
		t.Errorf("mean squared z-score %.2f, want about 1", z2)
	}
}

// TestLogZPoorProposal checks that a proposal far from the model's mass
// shows in a note rather than passing silently.
func TestLogZPoorProposal(t *testing.T) {
	te := testEnergy{mu: repeatFloat(0, 10), sigma: repeatFloat(0.25, 10)}
	o := DefaultLogZOptions()
	o.Samples = 5000
	o.Data = testEnergy{mu: repeatFloat(3, 10), sigma: repeatFloat(4, 10)}.sample(1000, 4)
	res, err := LogZ(newTestEngine(t, te.model(), o.BatchSize), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("log Z = %.4f ± %.2g (want %.4f), ESS %.1f; notes %q", res.Value, res.StdErr, te.logZ(), res.ESS, res.Notes)
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "effective sample size") {
		t.Errorf("no note on the effective sample size %.1f: %q", res.ESS, res.Notes)
	}
}

// TestLogZErrors checks that bad models, options and data give an error
// naming the problem.
func TestLogZErrors(t *testing.T) {
	gauss2 := testEnergy{mu: []float64{0, 0}, sigma: []float64{1, 1}}
	gauss3 := testEnergy{mu: []float64{0, 0, 0}, sigma: []float64{1, 1, 1}}
	// E(x) = log x₀ + log x₁ is NaN for x < 0.
	nanModel := gauss2.model()
	nanModel.Graph.Node = []*onnx.NodeProto{
		{Name: proto.String("log"), OpType: proto.String("Log"), Input: []string{"x"}, Output: []string{"l"}},
		{Name: proto.String("sum"), OpType: proto.String("ReduceSum"), Input: []string{"l", "axes"}, Output: []string{"energy"}},
	}
	cases := []struct {
		name    string
		model   *onnx.ModelProto
		mod     func(o *LogZOptions)
		gen     *onnx.ModelProto
		wantErr string
	}{
		{"two-outputs", testEnergy{mu: []float64{0, 0}, sigma: []float64{1, 1}, extraOut: true}.model(), nil, nil,
			"one output with one energy per row; this one has 2 outputs (energy, s of 2 values)"},
		{"vector-output", testGenerator([]float64{0, 0}, []float64{1, 1}), nil, nil,
			"this one has 1 output (x of 2 values)"},
		{"grid-no-data", gauss2.model(), func(o *LogZOptions) {}, nil,
			"setting the grid bounds without --bounds needs data or a generator"},
		{"importance-no-data", gauss3.model(), func(o *LogZOptions) {}, nil,
			"importance sampling (to fit its proposal) needs data or a generator"},
		{"grid-3d", gauss3.model(), func(o *LogZOptions) { o.Method = LogZGrid; o.Bounds = []float64{-1, 1} }, nil,
			"grid integration handles inputs of 1 or 2 values; this model takes 3"},
		{"bounds-count", gauss2.model(), func(o *LogZOptions) { o.Bounds = []float64{-1, 1, -1, 1, -1, 1} }, nil,
			"want one LO,HI pair for every axis or 2 pairs"},
		{"bounds-order", gauss2.model(), func(o *LogZOptions) { o.Bounds = []float64{1, -1} }, nil,
			"pair 1,-1: want finite LO < HI"},
		{"bounds-odd", gauss2.model(), func(o *LogZOptions) { o.Bounds = []float64{1} }, nil,
			"want pairs LO,HI"},
		{"constant-data", gauss2.model(), func(o *LogZOptions) { o.Data = []float64{1, 2, 1, 3} }, nil,
			"no spread on axis 0 (all 1); give --bounds"},
		{"ragged-data", gauss2.model(), func(o *LogZOptions) { o.Data = []float64{1, 2, 3} }, nil,
			"3 data values do not make rows of 2"},
		{"one-row", gauss3.model(), func(o *LogZOptions) { o.Data = []float64{1, 2, 3} }, nil,
			"cannot fit the importance proposal to 1 data rows; need at least 2"},
		{"generator-width", gauss3.model(), nil, testGenerator([]float64{0, 0}, []float64{1, 1}),
			"the generator should have one output of 3 values per row"},
		{"nan-energy", nanModel, func(o *LogZOptions) { o.Bounds = []float64{-1, 1} }, nil,
			"energy NaN at x = -1,-1"},
		{"method", gauss2.model(), func(o *LogZOptions) { o.Method = "mcmc" }, nil, `--method "mcmc": want auto, grid or importance`},
		{"grid-size", gauss2.model(), func(o *LogZOptions) { o.GridSize = 7 }, nil, "--grid-size 7: want an even number"},
		{"samples", gauss2.model(), func(o *LogZOptions) { o.Samples = 1 }, nil, "--samples 1: want at least 2"},
		{"margin", gauss2.model(), func(o *LogZOptions) { o.Margin = math.NaN() }, nil, "--margin NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultLogZOptions()
			o.Data = gauss2.sample(10, 1)
			if c.mod != nil {
				o.Data = nil
				c.mod(&o)
			}
			if c.gen != nil {
				o.Data = nil
				o.Generator = newTestEngine(t, c.gen, o.BatchSize)
			}
			_, err := LogZ(newTestEngine(t, c.model, o.BatchSize), o)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

func TestCholesky(t *testing.T) {
	// a = LLᵀ for L = [[2,0,0],[1,3,0],[-1,0.5,1]].
	l := []float64{2, 0, 0, 1, 3, 0, -1, 0.5, 1}
	a := make([]float64, 9)
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				a[i*3+j] += l[i*3+k] * l[j*3+k]
			}
		}
	}
	if !cholesky(a, 3) {
		t.Fatal("cholesky failed on a positive definite matrix")
	}
	for i := range a {
		if math.Abs(a[i]-l[i]) > 1e-12 {
			t.Fatalf("L = %v, want %v", a, l)
		}
	}
	if cholesky([]float64{1, 2, 2, 1}, 2) {
		t.Error("cholesky succeeded on an indefinite matrix")
	}
}

func TestLSE(t *testing.T) {
	var a lse
	if v := a.value(); !math.IsInf(v, -1) {
		t.Errorf("empty sum: %g, want -Inf", v)
	}
	for _, v := range []float64{1000, math.Inf(-1), 1000 + math.Log(3), -1e300} {
		a.add(v)
	}
	if got, want := a.value(), 1000+math.Log(4); math.Abs(got-want) > 1e-12 {
		t.Errorf("log(e^1000 + 3e^1000) = %.15g, want %.15g", got, want)
	}
}

func TestWeightSum(t *testing.T) {
	// Weights e^(1000+k) for k = 0, 3, 1, −Inf, 2: in units of the largest,
	// Σw = Σ e^(k−3) and Σw² = Σ e^(2(k−3)).
	var w weightSum
	for _, lw := range []float64{1000, 1003, 1001, math.Inf(-1), 1002} {
		w.add(lw)
	}
	var s1, s2 float64
	for k := range 4 {
		s1 += math.Exp(float64(k - 3))
		s2 += math.Exp(float64(2 * (k - 3)))
	}
	if w.max != 1003 || math.Abs(w.s1-s1) > 1e-12 || math.Abs(w.s2-s2) > 1e-12 {
		t.Errorf("max %g, Σw %.15g, Σw² %.15g; want 1003, %.15g, %.15g", w.max, w.s1, w.s2, s1, s2)
	}
}
