package evaluate

import (
	"strings"
	"testing"
)

// TestWriteBoundsTableNoBound checks that a value marked "not a bound"
// is printed without its number, with the reason, and a bound with it.
func TestWriteBoundsTableNoBound(t *testing.T) {
	rep := &BoundsReport{
		Lower: map[string]BoundValue{
			"jacobian":       {Value: -13.5974, StdErr: 0.1651, Condition: "not a bound: the generator folds"},
			"jacobian-exact": {Value: 2.7116, StdErr: 0.0266, Certified: true, Condition: "needs an injective generator"},
		},
		Upper:     map[string]BoundValue{},
		NotBounds: map[string]string{"gp": "not a bound: kinks (PRelu)"},
	}
	var b strings.Builder
	if err := WriteBoundsTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, c := range []struct{ line, want, not string }{
		{"lower    jacobian ", "-          -  not a bound: the generator folds", "13.5974"},
		{"lower    jacobian-exact", "2.7116     0.0266  needs an injective generator", ""},
		{"upper    gp ", "-          -  not a bound: kinks (PRelu)", ""},
	} {
		i := strings.Index(out, c.line)
		if i < 0 {
			t.Errorf("no line %q in\n%s", c.line, out)
			continue
		}
		line, _, _ := strings.Cut(out[i:], "\n")
		if !strings.Contains(line, c.want) || c.not != "" && strings.Contains(line, c.not) {
			t.Errorf("line %q: want %q, not %q", line, c.want, c.not)
		}
	}
}
