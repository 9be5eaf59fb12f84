package testutil

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestRowsRoundTrip(t *testing.T) {
	for _, ext := range []string{".csv", ".jsonl", ".npy"} {
		path := filepath.Join(t.TempDir(), "a"+ext)
		x := []float64{1, -2.5, 3e-9, 4}
		WriteRows(t, path, x, 2)
		got, cols := ReadRows(t, path)
		if !slices.Equal(got, x) {
			t.Errorf("%s: read %v, want %v", ext, got, x)
		}
		if want := []string{"x0", "x1"}; ext != ".npy" && !slices.Equal(cols, want) {
			t.Errorf("%s: columns %q, want %q", ext, cols, want)
		}
	}
}

func TestFixtures(t *testing.T) {
	fs := Fixtures(t, "../../testdata/torch")
	for _, f := range fs {
		if f.Name == "" || f.Model == "" || f.Input == "" || f.Output == "" {
			t.Errorf("fixture %+v: a name or file is missing", f)
		}
	}
}

func TestCloseTo(t *testing.T) {
	cases := []struct {
		got, want, tol float64
		ok             bool
	}{
		{1, 1, 0, true},
		{1.001, 1, 1e-3, true},
		{1.01, 1, 1e-3, false},
		{1000.5, 1000, 1e-3, true},
		{1002.5, 1000, 1e-3, false},
	}
	for _, c := range cases {
		if CloseTo(c.got, c.want, c.tol) != c.ok {
			t.Errorf("CloseTo(%g, %g, %g) = %v", c.got, c.want, c.tol, !c.ok)
		}
	}
}
