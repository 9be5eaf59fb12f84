package logz

import (
	"math"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/internal/testmodel"

	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	"google.golang.org/protobuf/proto"

	"context"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Test models are written with float32 parameters; means and scales are
// chosen exactly representable so that the analytic log Z is exact.

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
		te       testmodel.Energy
		data     int // rows drawn from the model for the bounds, if > 0
		bounds   []float64
		gridSize int
		tol      float64
		note     string  // a note that must be given, if not empty
		want     float64 // the integral over the box, if not the analytic log Z
		outside  float64 // the mass outside the box, if checked
	}{
		{name: "1d-gaussian", te: testmodel.Energy{Mu: []float64{0}, Sigma: []float64{1}}, data: 1000, tol: 1e-6},
		{name: "2d-gaussian", te: testmodel.Energy{Mu: []float64{0, 0}, Sigma: []float64{1, 1}}, data: 1000, tol: 1e-5},
		{name: "2d-diagonal-shifted", te: testmodel.Energy{Mu: []float64{1, -3}, Sigma: []float64{0.5, 4}}, data: 1000, tol: 1e-5},
		{name: "2d-gaussian-bounds", te: testmodel.Energy{Mu: []float64{0, 0}, Sigma: []float64{1, 1}}, bounds: []float64{-6, 6}, tol: 1e-6},
		{name: "2d-per-axis-bounds", te: testmodel.Energy{Mu: []float64{1, -3}, Sigma: []float64{0.5, 4}}, bounds: []float64{-2, 4, -27, 21}, tol: 1e-6},
		// A kink off the grid nodes: the trapezoid rule is only O(h²)
		// here, and the Richardson estimate must account for it.
		{name: "2d-laplace-kink", te: testmodel.Energy{Mu: []float64{0.123, -0.456}, Sigma: []float64{1, 0.5}, Laplace: true},
			bounds: []float64{-15, 15}, tol: 2e-3},
		{name: "1d-laplace-coarse", te: testmodel.Energy{Mu: []float64{0.3}, Sigma: []float64{1}, Laplace: true},
			bounds: []float64{-40, 40}, gridSize: 64, tol: 0.2, note: "use a larger GridSize"},
		// E = x + 10 on [-1, 1]: exp(−E) rises to the lower face, so the
		// box holds the integral ∫ exp(−x−10) dx = e⁻⁹ − e⁻¹¹, which tests the
		// end weights of the rule; the mass beyond the box is flagged.
		{name: "1d-exponential-box", te: testmodel.Energy{Mu: []float64{-10}, Sigma: []float64{1}, Laplace: true}, bounds: []float64{-1, 1},
			want: math.Log(math.Exp(-9) - math.Exp(-11)), tol: 1e-6, note: "the density does not fall off at the edge of the box"},
		// A box cutting off mass: the estimate is biased low, but the
		// reported error must cover it and a note must say so.
		// By Mills' inequality the face estimate bounds a Gaussian's tail
		// from above; outside is the mass outside over the mass inside.
		{name: "2d-gaussian-narrow-box", te: testmodel.Energy{Mu: []float64{0, 0}, Sigma: []float64{1, 1}}, bounds: []float64{-2, 2}, tol: 0.1,
			note: "of that inside; widen it", outside: 1/math.Pow(math.Erf(2/math.Sqrt2), 2) - 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Method = Grid
			o.Bounds = c.bounds
			o.GridSize = c.gridSize
			if c.data > 0 {
				o.Data = c.te.Sample(c.data, 1)
			}
			res, err := Estimate(context.Background(), newTestEngine(t, c.te.Model(), o.BatchSize), o)
			if err != nil {
				t.Fatal(err)
			}
			want := c.te.LogZ()
			if c.want != 0 {
				want = c.want
			}
			diff := math.Abs(res.Value - want)
			t.Logf("log Z = %.9f ± %.2g (Richardson %.2g, truncation %.2g), want %.9f, off by %.2g; box %s",
				res.Value, res.StdErr, res.Richardson, res.Truncation, want, diff, FormatBox(res.Bounds))
			if res.Method != Grid {
				t.Errorf("method %q, want %q", res.Method, Grid)
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
			notes := fielderr.RenameNote(strings.Join(res.Notes, "\n"), nil)
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
	te := testmodel.Energy{Mu: []float64{0, 0}, Sigma: []float64{1, 1}}
	o := DefaultOptions()
	o.Data = []float64{-1, 2, 3, 4, 1, 2.5}
	o.Margin = 0.25
	o.GridSize = 8
	res, err := Estimate(context.Background(), newTestEngine(t, te.Model(), 16), o)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]float64{{-2, 4}, {1.5, 4.5}}
	if len(res.Bounds) != 2 || res.Bounds[0] != want[0] || res.Bounds[1] != want[1] {
		t.Errorf("bounds %v, want %v", res.Bounds, want)
	}
	if res.Method != Grid || res.GridSize != 8 || res.Evals != 81 {
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
		te        testmodel.Energy
		data      int  // rows drawn from the model, if > 0
		generator bool // use testGenerator for the proposal
		method    string
		maxErr    float64 // the largest acceptable standard error
	}{
		{name: "10d-gaussian", te: testmodel.Energy{Mu: repeatFloat(0, 10), Sigma: repeatFloat(1, 10)}, data: 2000, maxErr: 0.01},
		{name: "10d-diagonal-shifted", te: testmodel.Energy{Mu: mu10, Sigma: sigma10}, data: 2000, maxErr: 0.01},
		{name: "10d-generator", te: testmodel.Energy{Mu: mu10, Sigma: sigma10}, generator: true, maxErr: 0.01},
		{name: "10d-data-and-generator", te: testmodel.Energy{Mu: mu10, Sigma: sigma10}, data: 2000, generator: true, maxErr: 0.01},
		{name: "2d-forced", te: testmodel.Energy{Mu: []float64{1, -3}, Sigma: []float64{0.5, 4}}, data: 500, method: Importance, maxErr: 0.01},
		// Not Gaussian: heavier tails than the proposal's main component.
		{name: "5d-laplace", te: testmodel.Energy{Mu: repeatFloat(0.5, 5), Sigma: []float64{1, 2, 0.5, 1, 1}, Laplace: true}, data: 2000, maxErr: 0.02},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Samples = 50000
			if c.method != "" {
				o.Method = c.method
			}
			if c.data > 0 {
				o.Data = c.te.Sample(c.data, uint64(i))
			}
			if c.generator {
				o.Generator = newTestEngine(t, testmodel.Generator(c.te.Mu, c.te.Sigma), o.BatchSize)
			}
			res, err := Estimate(context.Background(), newTestEngine(t, c.te.Model(), o.BatchSize), o)
			if err != nil {
				t.Fatal(err)
			}
			want := c.te.LogZ()
			diff := math.Abs(res.Value - want)
			t.Logf("log Z = %.5f ± %.2g, want %.5f, off by %.2g (%.1f SE); ESS %.0f of %d; %s",
				res.Value, res.StdErr, want, diff, diff/res.StdErr, res.ESS, res.Evals, res.Proposal)
			if res.Method != Importance {
				t.Errorf("method %q, want %q", res.Method, Importance)
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
	te := testmodel.Energy{Mu: []float64{1, -2, 0, 3, -1, 0.5, 0, -0.25, 2, 0}, Sigma: []float64{0.25, 0.5, 1, 2, 4, 0.5, 1, 2, 1, 0.25}}
	data := te.Sample(300, 3) // few rows: a poorly fitted proposal
	eng := newTestEngine(t, te.Model(), 1000)
	want := te.LogZ()
	const runs = 40
	var z1, z2 float64
	for seed := range uint64(runs) {
		o := DefaultOptions()
		o.Samples, o.BatchSize, o.Seed, o.Data = 2000, 1000, seed, data
		res, err := Estimate(context.Background(), eng, o)
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
	te := testmodel.Energy{Mu: repeatFloat(0, 10), Sigma: repeatFloat(0.25, 10)}
	o := DefaultOptions()
	o.Samples = 5000
	o.Data = testmodel.Energy{Mu: repeatFloat(3, 10), Sigma: repeatFloat(4, 10)}.Sample(1000, 4)
	res, err := Estimate(context.Background(), newTestEngine(t, te.Model(), o.BatchSize), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("log Z = %.4f ± %.2g (want %.4f), ESS %.1f; notes %q", res.Value, res.StdErr, te.LogZ(), res.ESS, res.Notes)
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "effective sample size") {
		t.Errorf("no note on the effective sample size %.1f: %q", res.ESS, res.Notes)
	}
}

// TestLogZErrors checks that bad models, options and data give an error
// naming the problem.
func TestLogZErrors(t *testing.T) {
	gauss2 := testmodel.Energy{Mu: []float64{0, 0}, Sigma: []float64{1, 1}}
	gauss3 := testmodel.Energy{Mu: []float64{0, 0, 0}, Sigma: []float64{1, 1, 1}}
	// E(x) = log x₀ + log x₁ is NaN for x < 0.
	nanModel := gauss2.Model()
	nanModel.Graph.Node = []*onnx.NodeProto{
		{Name: proto.String("log"), OpType: proto.String("Log"), Input: []string{"x"}, Output: []string{"l"}},
		{Name: proto.String("sum"), OpType: proto.String("ReduceSum"), Input: []string{"l", "axes"}, Output: []string{"energy"}},
	}
	cases := []struct {
		name    string
		model   *onnx.ModelProto
		mod     func(o *Options)
		gen     *onnx.ModelProto
		wantErr string
	}{
		{"two-outputs", testmodel.Energy{Mu: []float64{0, 0}, Sigma: []float64{1, 1}, ExtraOut: true}.Model(), nil, nil,
			"one output with one energy per row; this one has 2 outputs (energy, s of 2 values)"},
		{"vector-output", testmodel.Generator([]float64{0, 0}, []float64{1, 1}), nil, nil,
			"this one has 1 output (x of 2 values)"},
		{"grid-no-data", gauss2.Model(), func(o *Options) {}, nil,
			"setting the grid bounds without Bounds needs data or a generator"},
		{"importance-no-data", gauss3.Model(), func(o *Options) {}, nil,
			"importance sampling (to fit its proposal) needs data or a generator"},
		{"grid-3d", gauss3.Model(), func(o *Options) { o.Method = Grid; o.Bounds = []float64{-1, 1} }, nil,
			"grid integration handles inputs of 1 or 2 values; this model takes 3"},
		{"bounds-count", gauss2.Model(), func(o *Options) { o.Bounds = []float64{-1, 1, -1, 1, -1, 1} }, nil,
			"want one LO,HI pair for every axis or 2 pairs"},
		{"bounds-order", gauss2.Model(), func(o *Options) { o.Bounds = []float64{1, -1} }, nil,
			"pair 1,-1: want finite LO < HI"},
		{"bounds-odd", gauss2.Model(), func(o *Options) { o.Bounds = []float64{1} }, nil,
			"want pairs LO,HI"},
		{"constant-data", gauss2.Model(), func(o *Options) { o.Data = []float64{1, 2, 1, 3} }, nil,
			"no spread on axis 0 (all 1); give Bounds"},
		{"ragged-data", gauss2.Model(), func(o *Options) { o.Data = []float64{1, 2, 3} }, nil,
			"3 data values do not make rows of 2"},
		{"one-row", gauss3.Model(), func(o *Options) { o.Data = []float64{1, 2, 3} }, nil,
			"cannot fit the importance proposal to 1 data rows; need at least 2"},
		{"generator-width", gauss3.Model(), nil, testmodel.Generator([]float64{0, 0}, []float64{1, 1}),
			"the generator should have one output of 3 values per row"},
		{"nan-energy", nanModel, func(o *Options) { o.Bounds = []float64{-1, 1} }, nil,
			"energy NaN at x = -1,-1"},
		{"method", gauss2.Model(), func(o *Options) { o.Method = "mcmc" }, nil, `Method "mcmc": want auto, grid or importance`},
		{"grid-size", gauss2.Model(), func(o *Options) { o.GridSize = 7 }, nil, "GridSize 7: want an even number"},
		{"samples", gauss2.Model(), func(o *Options) { o.Samples = 1 }, nil, "Samples 1: want at least 2"},
		{"margin", gauss2.Model(), func(o *Options) { o.Margin = math.NaN() }, nil, "Margin NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Data = gauss2.Sample(10, 1)
			if c.mod != nil {
				o.Data = nil
				c.mod(&o)
			}
			if c.gen != nil {
				o.Data = nil
				o.Generator = newTestEngine(t, c.gen, o.BatchSize)
			}
			_, err := Estimate(context.Background(), newTestEngine(t, c.model, o.BatchSize), o)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

// TestFitGaussian checks the fitted density on rows whose sample mean and
// covariance are known exactly: a full covariance LLᵀ with enough rows, a
// diagonal one with few.
func TestFitGaussian(t *testing.T) {
	l := []float64{2, 0, 0, 1, 3, 0, -1, 0.5, 1} // lower triangular
	mu := []float64{1, -2, 0.5}
	// Rows mu ± c·L_i for the columns L_i of L, each twice: 12 rows whose
	// covariance is 4c²/11 · Σ L_i L_iᵀ = LLᵀ for c = √(11/4).
	c := math.Sqrt(11.0 / 4)
	var x []float64
	for range 2 {
		for i := range 3 {
			for _, sign := range []float64{1, -1} {
				for j := range 3 {
					x = append(x, mu[j]+sign*c*l[j*3+i])
				}
			}
		}
	}
	z := []float64{0.5, -1, 2}
	pt := make([]float64, 3)
	for j := range 3 {
		pt[j] = mu[j]
		for k := range 3 {
			pt[j] += l[j*3+k] * z[k]
		}
	}
	want := -0.5*(z[0]*z[0]+z[1]*z[1]+z[2]*z[2]) - math.Log(2*3*1) - 1.5*math.Log(2*math.Pi)
	// The ridge of 1e-6 times the mean variance moves the density by ~1e-5.
	if got := FitGaussian(x, 3).LogProb(pt); math.Abs(got-want) > 1e-4 {
		t.Errorf("full covariance: log density %.8g, want %.8g", got, want)
	}

	// Six rows of width 3 are too few for a full covariance: the fit is
	// diagonal, with the sample variances.
	few := x[:18]
	want = 0
	for j := range 3 {
		var m, v float64
		for i := range 6 {
			m += few[i*3+j] / 6
		}
		for i := range 6 {
			v += (few[i*3+j] - m) * (few[i*3+j] - m) / 5
		}
		want += -0.5*(pt[j]-m)*(pt[j]-m)/v - 0.5*math.Log(2*math.Pi*v)
	}
	if got := FitGaussian(few, 3).LogProb(pt); math.Abs(got-want) > 1e-5 {
		t.Errorf("diagonal covariance: log density %.8g, want %.8g", got, want)
	}
}

func TestLSE(t *testing.T) {
	var a LogSumExp
	if v := a.Value(); !math.IsInf(v, -1) {
		t.Errorf("empty sum: %g, want -Inf", v)
	}
	for _, v := range []float64{1000, math.Inf(-1), 1000 + math.Log(3), -1e300} {
		a.Add(v)
	}
	if got, want := a.Value(), 1000+math.Log(4); math.Abs(got-want) > 1e-12 {
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
