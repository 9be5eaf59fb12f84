package pipeline

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/pipeline/quality"
	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// toyRows draws n rows of the toy set name.
func toyRows(t *testing.T, name string, n int, seed uint64) []float64 {
	t.Helper()
	x, err := data.Toy(name, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestMeasureTrueLaw measures "generators" whose samples are draws of the
// data's own law, and ones that are not: draws of the law cover every
// mode with about 98.9 % high-quality samples (P(χ²₂ ≤ 9)), the energy
// distance does not reject them, and the truth column is the law's
// log-likelihood; samples piled on one mode, or of another toy set, are
// caught.
func TestMeasureTrueLaw(t *testing.T) {
	const n, m = 5000, 2000
	one := func(name string) []float64 { // every sample at mode 0's centre, jittered
		mix, _ := quality.ToyMixture(name)
		x := toyRows(t, name, n, 3)
		for i := range n {
			x[2*i] = mix.Centres[0][0] + (x[2*i]-math.Round(x[2*i]))*1e-3
			x[2*i+1] = mix.Centres[0][1]
		}
		return x
	}
	for _, c := range []struct {
		name, toy string
		samples   []float64
		modes     int     // modes covered, −1 if no mixture
		minHQ     float64 // least high-quality share
		same      bool    // the samples follow the held-out rows' law
	}{
		{"25gaussians", "25gaussians", toyRows(t, "25gaussians", n, 3), 25, 0.98, true},
		{"8gaussians", "8gaussians", toyRows(t, "8gaussians", n, 3), 8, 0.98, true},
		{"rings", "rings", toyRows(t, "rings", n, 3), -1, 0, true},
		{"moons", "moons", toyRows(t, "moons", n, 3), -1, 0, true},
		{"one mode of 25", "25gaussians", one("25gaussians"), 1, 0.98, false},
		{"moons for 8gaussians", "8gaussians", toyRows(t, "moons", n, 3), 0, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			heldOut := toyRows(t, c.toy, m, 4)
			q, err := measure(context.Background(), c.samples, c.toy, true, heldOut, 2, 1)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s", q)
			if q.Samples != n || q.Distance.N != min(n, 2000) || q.Distance.M != m {
				t.Errorf("rows: %d samples, distance on %d and %d", q.Samples, q.Distance.N, q.Distance.M)
			}
			switch {
			case c.modes < 0 && q.Coverage != nil:
				t.Errorf("coverage %+v for a set that is no mixture", q.Coverage)
			case c.modes >= 0 && q.Coverage == nil:
				t.Error("no coverage")
			case c.modes >= 0 && (q.Coverage.Modes != c.modes || q.Coverage.HighQuality < c.minHQ):
				t.Errorf("coverage %d/%d, %.4f high-quality; want %d modes, ≥ %.2f", q.Coverage.Modes, q.Coverage.Total, q.Coverage.HighQuality, c.modes, c.minHQ)
			}
			if c.same != (q.Distance.PValue > 0.01) {
				t.Errorf("energy distance %.4g, p = %.3g; want the test to reject: %v", q.Distance.Value, q.Distance.PValue, !c.same)
			}
			if _, exact := quality.ExactDensity(c.toy); exact != (q.Truth != nil) {
				t.Fatalf("truth %+v; the law has an exact density: %v", q.Truth, exact)
			}
			// An equal-weight mixture of K far-apart Gaussians of std σ in
			// two dimensions has mean log density −log(2πσ²) − 1 − log K.
			if mix, ok := quality.ToyMixture(c.toy); ok {
				want := -math.Log(2*math.Pi*mix.Sigma*mix.Sigma) - 1 - math.Log(float64(len(mix.Centres)))
				if d := math.Abs(q.Truth.Value - want); d > 4*q.Truth.StdErr {
					t.Errorf("truth %.4f ± %.4f; want %.4f", q.Truth.Value, q.Truth.StdErr, want)
				}
			}
		})
	}
}

// TestMeasureNotToy: without a toy set only the energy distance is
// measured, and the truth is left out when the held-out rows are not of
// the toy law.
func TestMeasureNotToy(t *testing.T) {
	x := toyRows(t, "25gaussians", 500, 1)
	for _, c := range []struct {
		toy        string
		heldOutToy bool
	}{{"", true}, {"25gaussians", false}} {
		q, err := measure(context.Background(), x, c.toy, c.heldOutToy, toyRows(t, "25gaussians", 300, 2), 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		if q.Truth != nil || (c.toy == "") != (q.Coverage == nil) {
			t.Errorf("toy %q, held-out rows of it %v: truth %+v, coverage %+v", c.toy, c.heldOutToy, q.Truth, q.Coverage)
		}
		if s := q.String(); !strings.Contains(s, "energy distance") {
			t.Errorf("summary %q", s)
		}
	}
	if _, err := measure(context.Background(), x, "", false, []float64{1, 2, 3}, 2, 1); err == nil {
		t.Error("a partial held-out row: no error")
	}
}

func TestToyName(t *testing.T) {
	for spec, want := range map[string]string{"toy:rings": "rings", "rows.csv": "", "toy:": "", "": ""} {
		if got := ToyName(spec); got != want {
			t.Errorf("ToyName(%q) = %q, want %q", spec, got, want)
		}
	}
}

// TestRunSelectBest runs with Select best: the run's validator (the
// log-likelihood with log Z) scores every 100 iterations, and the choice
// is reported and written to results.json.
func TestRunSelectBest(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	o := tinyRun(t.TempDir(), func(o *RunOptions) {
		o.Train.Select, o.Train.SelectEvery, o.Train.DataRows = train.SelectBest, 100, 5000
	})
	res, err := Run(context.Background(), o, RunHooks{})
	if err != nil {
		t.Fatal(err)
	}
	sel := res.Selected
	if sel == nil || sel.Step%100 != 0 || sel.Scores != 3 || sel.Rows != 500 || sel.Metric != "validation log-likelihood" ||
		!(sel.Score > res.Gaussian.Mean-1 && sel.Score < 10) {
		t.Fatalf("selected %+v (Gaussian baseline %.4f)", sel, res.Gaussian.Mean)
	}
	t.Logf("selected %+v; test log-likelihood %.4f", sel, res.Test.Mean)
	if sel.Step == res.Train.Steps && math.Abs(sel.Score-res.Test.Mean) > 0.5 {
		t.Errorf("the last iteration scores %.4f on validation rows, %.4f on the test rows", sel.Score, res.Test.Mean)
	}
	b, err := os.ReadFile(filepath.Join(o.Train.Out, ResultsFile))
	if err != nil || !strings.Contains(string(b), `"selected": {`) {
		t.Errorf("results.json (%v):\n%s", err, b)
	}
	var rep strings.Builder
	if err := res.WriteReport(&rep); err != nil || !strings.Contains(rep.String(), "exported the models of iteration") {
		t.Errorf("report (%v):\n%s", err, rep.String())
	}
}
