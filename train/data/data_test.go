package data

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/rows"
)

// writeRows writes rows of width values to path with pipeline's Writer.
func writeRows(t *testing.T, path string, columns []string, width int, x []float64) {
	t.Helper()
	var w *rows.Writer
	var err error
	if columns != nil {
		w, err = rows.CreateWriter(path, columns)
	} else {
		w, err = rows.CreateUnnamedWriter(path, width)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadData(t *testing.T) {
	dir := t.TempDir()
	rows := make([]float64, 3*700) // more rows than one read chunk of pipeline
	for i := range rows {
		rows[i] = float64(i)*0.25 - 7
	}
	writeRows(t, filepath.Join(dir, "a.csv"), []string{"x", "y", "z"}, 3, rows)
	writeRows(t, filepath.Join(dir, "a.jsonl"), nil, 3, rows)
	writeRows(t, filepath.Join(dir, "a.npy"), nil, 3, rows)
	toy, err := Toy("moons", 50, 9)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		spec    string
		n       int
		want    []float64
		width   int
		columns []string
	}{
		{"toy:moons", 50, toy, 2, nil},
		{filepath.Join(dir, "a.csv"), 0, rows, 3, []string{"x", "y", "z"}},
		{filepath.Join(dir, "a.csv"), 10, rows[:30], 3, []string{"x", "y", "z"}},
		{filepath.Join(dir, "a.jsonl"), -1, rows, 3, nil},
		{filepath.Join(dir, "a.jsonl"), 699, rows[:3*699], 3, nil},
		{filepath.Join(dir, "a.npy"), 0, rows, 3, nil},
		{filepath.Join(dir, "a.npy"), 5000, rows, 3, nil},
		{filepath.Join(dir, "a.npy"), 1, rows[:3], 3, nil},
	}
	for _, tt := range tests {
		d, err := LoadData(tt.spec, tt.n, 9)
		if err != nil {
			t.Errorf("LoadData(%q, %d): %v", tt.spec, tt.n, err)
			continue
		}
		if !slices.Equal(d.Data, tt.want) {
			t.Errorf("LoadData(%q, %d): %d values, not the %d written", tt.spec, tt.n, len(d.Data), len(tt.want))
		}
		if d.Rows != len(tt.want)/tt.width || d.Width != tt.width || !slices.Equal(d.RowShape, []int{tt.width}) {
			t.Errorf("LoadData(%q, %d): %d rows of %d values, shape %v; want %d of %d",
				tt.spec, tt.n, d.Rows, d.Width, d.RowShape, len(tt.want)/tt.width, tt.width)
		}
		if !slices.Equal(d.Columns, tt.columns) || d.Source != tt.spec || d.Shift != nil || d.Scale != nil {
			t.Errorf("LoadData(%q, %d): columns %q, source %q, shift %v, scale %v",
				tt.spec, tt.n, d.Columns, d.Source, d.Shift, d.Scale)
		}
	}
}

func TestLoadDataErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("1,2\n3,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.npy")
	writeRows(t, empty, nil, 2, nil)
	tests := []struct {
		spec string
		n    int
		want string
	}{
		{"toy:nope", 10, "unknown toy data set"},
		{"toy:moons", 0, "0 points"},
		{filepath.Join(dir, "missing.csv"), 0, "missing.csv"},
		{bad, 0, "bad.csv:2"},
		{empty, 0, "empty.npy: no rows"},
		{filepath.Join(dir, "a.txt"), 0, "a.txt"},
	}
	for _, tt := range tests {
		_, err := LoadData(tt.spec, tt.n, 1)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadData(%q, %d): error %v, want one mentioning %q", tt.spec, tt.n, err, tt.want)
		}
	}
	if _, err := LoadData(filepath.Join(dir, "missing.csv"), 0, 1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v does not wrap fs.ErrNotExist", err)
	}
}

func TestStandardize(t *testing.T) {
	d := &Dataset{
		Rows: 4, Width: 3, RowShape: []int{3}, Source: "t.csv", Columns: []string{"a", "b", "c"},
		Data: []float64{
			1, 5, 10,
			2, 5, 20,
			3, 5, 30,
			6, 5, 40,
		},
	}
	orig := slices.Clone(d.Data)
	d.Standardize()
	wantShift := []float64{3, 5, 25}
	wantScale := []float64{math.Sqrt(3.5), 1, math.Sqrt(125)} // divisor 4
	for j := range 3 {
		if math.Abs(d.Shift[j]-wantShift[j]) > 1e-12 || math.Abs(d.Scale[j]-wantScale[j]) > 1e-12 {
			t.Errorf("feature %d: shift %v, scale %v; want %v, %v", j, d.Shift[j], d.Scale[j], wantShift[j], wantScale[j])
		}
	}
	for j := range 3 {
		var mean, sq float64
		for i := range d.Rows {
			x := d.Data[i*3+j]
			mean += x / 4
			sq += x * x / 4
			if back := x*d.Scale[j] + d.Shift[j]; math.Abs(back-orig[i*3+j]) > 1e-12 {
				t.Errorf("row %d feature %d: %v does not map back to %v", i, j, back, orig[i*3+j])
			}
		}
		wantSq := 1.0
		if j == 1 {
			wantSq = 0
		}
		if math.Abs(mean) > 1e-12 || math.Abs(sq-wantSq) > 1e-12 {
			t.Errorf("feature %d: mean %v, mean square %v after Standardize", j, mean, sq)
		}
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], `1 ("b") is constant`) || !strings.Contains(d.Notes[0], "t.csv") {
		t.Errorf("notes %q, want one about feature 1", d.Notes)
	}

	// A second call changes nothing.
	again := slices.Clone(d.Data)
	d.Standardize()
	if !slices.Equal(d.Data, again) || len(d.Notes) != 1 || d.Shift[0] != 3 {
		t.Error("a second Standardize changed the data set")
	}
}

// TestStandardizeNearConstant checks the one tolerance for a constant
// feature: relative to the feature's values, it takes features whose
// computed spread is rounding error (60 copies of 0.1 have a standard
// deviation of about 1e-17, not 0), and refuses data whose every feature
// is constant.
func TestStandardizeNearConstant(t *testing.T) {
	same := func(rows int, row ...float64) *Dataset {
		d := &Dataset{Rows: rows, Width: len(row), RowShape: []int{len(row)}, Source: "same.csv", Columns: []string{"a", "b"}[:len(row)]}
		for range rows {
			d.Data = append(d.Data, row...)
		}
		return d
	}
	tests := []struct {
		name string
		d    *Dataset
		want string // error, or "" for success
	}{
		{"one-feature", same(60, 0.1), `same.csv: feature 0 ("a") = 0.1 is constant over the 60 rows`},
		{"two-features", same(60, 0.1, 1e6+0.3), `features 0 ("a") = 0.1, 1 ("b") = 1.0000003e+06 are constant`},
		{"zeros", same(3, 0, 0), `are constant over the 3 rows`},
		{"huge", same(60, 3e38, -7e-30), `are constant`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.d.Data)
			err := tt.d.Standardize()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if tt.d.Shift != nil || !slices.Equal(tt.d.Data, before) {
				t.Error("a refused data set was changed")
			}
		})
	}

	// One near-constant feature beside a varying one: shifted, not
	// scaled by its rounding error.
	d := same(60, 0.1, 0)
	for i := range d.Rows {
		d.Data[2*i+1] = float64(i)
	}
	if err := d.Standardize(); err != nil {
		t.Fatal(err)
	}
	if d.Scale[0] != 1 || len(d.Notes) != 1 || !strings.Contains(d.Notes[0], `0 ("a") is constant`) {
		t.Errorf("scale %v, notes %q; want feature 0 unscaled, with a note", d.Scale, d.Notes)
	}
	for i := range d.Rows {
		if v := d.Data[2*i]; math.Abs(v) > 1e-15 {
			t.Fatalf("row %d: feature 0 standardised to %g", i, v)
		}
	}
}

// TestLoadDataFloat32 checks that a value overflowing float32, the
// exported models' element type, fails at load, naming file, row and
// column.
func TestLoadDataFloat32(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big.csv")
	if err := os.WriteFile(p, []byte("a,b\n1,2\n3,3.5e38\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadData(p, 0, 1)
	if want := p + ": data row 2, column 2: 3.5e+38 overflows float32"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	if err := os.WriteFile(p, []byte("a,b\n1,2\n3,3.4e38\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadData(p, 0, 1); err != nil {
		t.Errorf("3.4e38 fits float32: %v", err)
	}
}

func TestSplit(t *testing.T) {
	d, err := LoadData("toy:25gaussians", 101, 4)
	if err != nil {
		t.Fatal(err)
	}
	d.Standardize()
	tests := []struct {
		frac     float64
		wantTest int
	}{
		{0.2, 20}, {0.5, 51}, {0, 0}, {-1, 0}, {math.NaN(), 0}, {1, 101}, {3, 101},
	}
	for _, tt := range tests {
		train, test := d.Split(tt.frac, 11)
		if test.Rows != tt.wantTest || train.Rows != d.Rows-tt.wantTest ||
			len(test.Data) != test.Rows*2 || len(train.Data) != train.Rows*2 {
			t.Errorf("Split(%v): %d + %d rows (%d + %d values), want %d test rows",
				tt.frac, train.Rows, test.Rows, len(train.Data), len(test.Data), tt.wantTest)
			continue
		}
		// Each row of d is in exactly one part, and each part keeps d's order.
		i, j := 0, 0
		for r := range d.Rows {
			row := d.Data[2*r : 2*r+2]
			switch {
			case i < train.Rows && slices.Equal(row, train.Data[2*i:2*i+2]):
				i++
			case j < test.Rows && slices.Equal(row, test.Data[2*j:2*j+2]):
				j++
			default:
				t.Fatalf("Split(%v): row %d of the data set is not next in either part", tt.frac, r)
			}
		}
		for _, part := range []*Dataset{train, test} {
			if !slices.Equal(part.Shift, d.Shift) || !slices.Equal(part.Scale, d.Scale) || part.Width != 2 {
				t.Errorf("Split(%v): a part lost the standardisation or width", tt.frac)
			}
		}
	}
	a, b := d.Split(0.3, 11)
	c, e := d.Split(0.3, 11)
	if !slices.Equal(a.Data, c.Data) || !slices.Equal(b.Data, e.Data) {
		t.Error("same seed, different splits")
	}
	_, f := d.Split(0.3, 12)
	if slices.Equal(b.Data, f.Data) {
		t.Error("seeds 11 and 12 give the same test set")
	}
	train, _ := d.Split(0.3, 11)
	train.Shift[0] = 99
	if d.Shift[0] == 99 {
		t.Error("a part shares Shift with the data set")
	}
}
