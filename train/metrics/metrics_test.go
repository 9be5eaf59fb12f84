package metrics

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWriteRead writes metrics rows, resumes after the first, and reads the
// file back.
func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.csv")
	cols := []string{ColLower, ColUpper}
	f, err := Open(path, cols, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Row{
		{Step: 10, Names: cols, Values: []float64{1.5, math.NaN()}},
		{Step: 20, Names: cols, Values: []float64{-2, 0.25}},
	} {
		if err := f.Write(r, float64(r.Step)/10); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// Resuming at step 10 keeps the first row only.
	f, err = Open(path, cols, true, 10)
	if err != nil {
		t.Fatal(err)
	}
	if last := f.Last(); last == nil || last.Step != 10 || last.Get(ColLower) != 1.5 || !math.IsNaN(last.Get(ColUpper)) {
		t.Errorf("resumed: last row %+v, want step 10 with lower 1.5, upper NaN", last)
	}
	if err := f.Write(&Row{Step: 30, Names: cols, Values: []float64{3, 4}}, 3); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	tab, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ColStep, ColLower, ColUpper, ColWall}; !slices.Equal(tab.Names, want) {
		t.Errorf("columns %q, want %q", tab.Names, want)
	}
	if got := tab.Column(ColStep); !slices.Equal(got, []float64{10, 30}) {
		t.Errorf("steps %v, want [10 30]", got)
	}
	if got := tab.Column(ColUpper); len(got) != 2 || !math.IsNaN(got[0]) || got[1] != 4 {
		t.Errorf("upper bounds %v, want [NaN 4]", got)
	}
	if tab.Column("nope") != nil {
		t.Error("Column of a missing name is not nil")
	}

	// A resumed run must write the same columns.
	if _, err := Open(path, []string{ColLower}, true, 10); err == nil || !strings.Contains(err.Error(), "has columns") {
		t.Errorf("resuming with other columns: error %v", err)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "empty.csv: empty file; want a header line and rows"},
		{"header", "step,x\n", "header.csv: no rows"},
		{"short", "step,x\n1,2\n3\n", "short.csv:3: 1 cells, but the header names 2 columns"},
		{"text", "step,x\n1,abc\n", `text.csv:2: column "x": "abc" is not a number`},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name+".csv")
		if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path)
		if err == nil || err.Error() != filepath.Join(dir, tt.want) {
			t.Errorf("%s: error %v, want %s", tt.name, err, tt.want)
		}
	}
}
