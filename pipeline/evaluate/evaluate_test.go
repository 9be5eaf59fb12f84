package evaluate

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewLogLik(t *testing.T) {
	ll := NewLogLik([]float64{1, 2, 3, 6})
	// mean 3, sample variance (4+1+0+9)/3 = 14/3, standard error √(14/3/4).
	if ll.Mean != 3 || ll.Rows != 4 || math.Abs(ll.StdErr-math.Sqrt(14.0/12)) > 1e-15 {
		t.Errorf("NewLogLik = %+v, want mean 3, stderr %g, 4 rows", ll, math.Sqrt(14.0/12))
	}
}

func TestMeanLogDensity(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, data string
		mean       float64
		err        string
	}{
		{"scores.csv", "energy,log_density\n1,-2\n0.5,-1\n", -1.5, ""},
		{"raw.csv", "energy\n1\n2\n", 0, "no log_density column"},
		{"one.csv", "energy,log_density\n1,-2\n", 0, "1 rows; need at least 2"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte(c.data), 0o644); err != nil {
			t.Fatal(err)
		}
		ll, err := MeanLogDensity(path)
		switch {
		case c.err == "" && (err != nil || ll.Mean != c.mean):
			t.Errorf("%s: %+v, %v; want mean %g", c.name, ll, err, c.mean)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
}

func TestBracketBound(t *testing.T) {
	m := map[string]BoundValue{"jacobian": {Value: 1.5, StdErr: 0.1}, "gp": {Value: 2}}
	var notes []string
	note := func(s string) { notes = append(notes, s) }
	if v := BracketBound(m, nil, "jacobian", "lower", note); v.Value != 1.5 || len(notes) != 0 {
		t.Errorf("jacobian: %+v, notes %q", v, notes)
	}
	if v := BracketBound(m, nil, "mi", "lower", note); !math.IsNaN(v.Value) || len(notes) != 1 ||
		notes[0] != "the lower bound mi cannot be evaluated on the exported models (evaluated: gp, jacobian)" {
		t.Errorf("mi: %+v, notes %q", v, notes)
	}
	if v := BracketBound(m, nil, "none", "upper", note); !math.IsNaN(v.Value) || len(notes) != 1 {
		t.Errorf("none: %+v, notes %q", v, notes)
	}
	// A value the fold check marked as no bound is not one in the summary
	// either (the table prints it without its number).
	m["jacobian"] = BoundValue{Value: -3.3, StdErr: 0.06, Condition: "not a bound: the generator folds"}
	if v := BracketBound(m, nil, "jacobian", "lower", note); !math.IsNaN(v.Value) || len(notes) != 2 ||
		notes[1] != "the lower bound jacobian is no bound on the exported models: the generator folds" {
		t.Errorf("folded jacobian: %+v, notes %q", v, notes)
	}
}

// TestBracketDraws checks the certified bracket's latent draws: the option
// when set, else the budget over the latent width between Samples and a
// million, and that Check refuses too few.
func TestBracketDraws(t *testing.T) {
	for _, c := range []struct {
		bracket, samples, d, want int
	}{
		{0, 10000, 2, 1000000},
		{0, 10000, 1, 1000000},
		{0, 10000, 8, 250000},
		{0, 10000, 784, 10000},
		{0, 2000, 784, 2551},
		{5000, 10000, 2, 5000},
	} {
		o := DefaultBoundsOptions()
		o.BracketSamples, o.Samples = c.bracket, c.samples
		if got := o.BracketDraws(c.d); got != c.want {
			t.Errorf("BracketSamples %d, Samples %d, d = %d: %d draws, want %d", c.bracket, c.samples, c.d, got, c.want)
		}
	}
	o := DefaultBoundsOptions()
	o.Energy, o.Generator, o.Data, o.BracketSamples = "e.onnx", "g.onnx", "toy:moons", 3
	if err := o.Check(); err == nil || !strings.Contains(err.Error(), "BracketSamples") {
		t.Errorf("BracketSamples 3: error %v, want one naming it", err)
	}
}
