package rows

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
)

// roundTripValues are values whose formatting is easy to get wrong.
var roundTripValues = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.1, 1.0 / 3, math.Pi, -2.5e-7, 1e21, 123456789012345678,
	math.MaxFloat64, -math.SmallestNonzeroFloat64, 2.2250738585072014e-308, math.Nextafter(1, 2),
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		file    string
		columns []string // nil: unnamed
		width   int
	}{
		{"a.csv", []string{"energy", "log_density", "z"}, 3},
		{"a.csv", nil, 3},
		{"a.csv", []string{"e"}, 1},
		{"a.csv", []string{"has,comma", `has"quote`}, 2},
		{"a.jsonl", []string{"energy", "log_density", "z"}, 3},
		{"a.jsonl", nil, 3},
		{"a.jsonl", []string{`we"ird`, "é\t"}, 2},
		{"a.Jsonl", nil, 1},
		{"a.npy", []string{"energy", "log_density"}, 2},
		{"a.npy", nil, 7},
		{"a.NPY", nil, 1},
	}
	for _, tt := range tests {
		name := tt.file + "/" + strings.Join(tt.columns, ",")
		t.Run(name, func(t *testing.T) {
			// Rows cycle through the values, so that every value lands in
			// every column.
			const rows = 23
			values := make([]float64, rows*tt.width)
			for i := range values {
				values[i] = roundTripValues[i%len(roundTripValues)]
				if i%3 == 1 {
					values[i] = -values[i]
				}
			}

			path := filepath.Join(t.TempDir(), tt.file)
			var w *Writer
			var err error
			if tt.columns != nil {
				w, err = CreateWriter(path, tt.columns)
			} else {
				w, err = CreateUnnamedWriter(path, tt.width)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			// Write in uneven batches.
			for i := 0; i < rows; {
				n := min(1+i%4, rows-i)
				if err := w.Write(values[i*tt.width : (i+n)*tt.width]); err != nil {
					t.Fatal(err)
				}
				i += n
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}

			r, err := OpenReader(path, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			wantColumns := tt.columns
			if strings.HasSuffix(strings.ToLower(tt.file), ".npy") {
				wantColumns = nil // NPY has no column names
				if got := r.Rows(); got != rows {
					t.Errorf("Rows() = %d, want %d", got, rows)
				}
			}
			if got := r.Columns(); !reflect.DeepEqual(got, wantColumns) {
				t.Errorf("Columns() = %q, want %q", got, wantColumns)
			}
			if got := r.RowShape(); !reflect.DeepEqual(got, []int{tt.width}) {
				t.Errorf("RowShape() = %v, want [%d]", got, tt.width)
			}
			got, err := readAll(r, 5)
			if err != nil {
				t.Fatal(err)
			}
			if !sameBits(got, values) {
				t.Errorf("read back\n%v\nwant\n%v", got, values)
			}
		})
	}
}

// TestWriteFormats pins the text of what a Writer writes.
func TestWriteFormats(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		file    string
		columns []string
		width   int
		rows    []float64
		want    string
	}{
		{"a.csv", []string{"energy", "log_density"}, 2, []float64{-1.2, 0.3, 1e-7, 5}, "energy,log_density\n-1.2,0.3\n1e-07,5\n"},
		{"a.csv", []string{"a b", "c,d"}, 2, nil, "a b,\"c,d\"\n"},
		{"a.csv", nil, 1, []float64{nan, -inf, 2}, "NaN\n-Inf\n2\n"},
		{"a.jsonl", []string{"energy", "log_density"}, 2, []float64{-1.2, 0.3, 1e21, -0.0}, `{"energy": -1.2, "log_density": 0.3}` + "\n" + `{"energy": 1e+21, "log_density": 0}` + "\n"},
		{"a.jsonl", nil, 3, []float64{0.5, nan, -inf}, `[0.5, "NaN", "-Infinity"]` + "\n"},
		{"a.jsonl", []string{"<\n>"}, 1, []float64{1}, `{"\u003c\n\u003e": 1}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			var w *Writer
			var err error
			if tt.columns != nil {
				w, err = CreateWriter(path, tt.columns)
			} else {
				w, err = CreateUnnamedWriter(path, tt.width)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(tt.rows); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("wrote\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestWriteNPYHeader checks the NPY files a Writer writes with npyio.
func TestWriteNPYHeader(t *testing.T) {
	tests := []struct {
		rows, width int
		shape       []int
	}{
		{0, 1, []int{0}},
		{5, 1, []int{5}},
		{5, 2, []int{5, 2}},
		{math.MaxInt64, math.MaxInt64, []int{math.MaxInt64, math.MaxInt64}},
	}
	for _, tt := range tests {
		hdr, err := npyHeader(tt.rows, tt.width)
		if err != nil {
			t.Fatalf("npyHeader(%d, %d): %v", tt.rows, tt.width, err)
		}
		if len(hdr) != npyHeaderLen {
			t.Errorf("npyHeader(%d, %d) is %d bytes, want %d", tt.rows, tt.width, len(hdr), npyHeaderLen)
		}
		r, err := npy.NewReader(bytes.NewReader(hdr))
		if err != nil {
			t.Fatalf("npyHeader(%d, %d): npyio: %v", tt.rows, tt.width, err)
		}
		d := r.Header.Descr
		if strings.Trim(d.Type, "'") != "<f8" || d.Fortran || !reflect.DeepEqual(d.Shape, tt.shape) {
			t.Errorf("npyHeader(%d, %d) reads as %v, want <f8 C-order %v", tt.rows, tt.width, r.Header, tt.shape)
		}
	}

	// A whole file reads with npyio too.
	path := filepath.Join(t.TempDir(), "x.npy")
	w, err := CreateUnnamedWriter(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 2, 3, 4, 5, math.Inf(-1)}
	if err := w.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []float64
	if err := npy.Read(f, &got); err != nil {
		t.Fatal(err)
	}
	if !sameBits(got, want) {
		t.Errorf("npyio read %v, want %v", got, want)
	}
}

// TestWriteNonFinite checks that NaN written to CSV and NPY reads back as a
// bad row.
func TestWriteNonFinite(t *testing.T) {
	for _, file := range []string{"x.csv", "x.npy"} {
		path := filepath.Join(t.TempDir(), file)
		w, err := CreateWriter(path, []string{"a", "b"})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write([]float64{1, 2, math.NaN(), 3, 4, 5}); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		var bad []BadRow
		r, err := OpenReader(path, ReadOptions{SkipBadRows: true, Reject: func(b BadRow) { bad = append(bad, b) }})
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(r, 2)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !sameBits(got, []float64{1, 2, 4, 5}) || len(bad) != 1 || bad[0].Text != "NaN,3" {
			t.Errorf("%s: read %v and bad rows %+v, want [1 2 4 5] and one bad row NaN,3", file, got, bad)
		}
	}
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriterAtomic(t *testing.T) {
	for _, file := range []string{"out.csv", "out.jsonl", "out.npy"} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, file)

			// Abort leaves nothing behind.
			w, err := CreateWriter(path, []string{"a", "b"})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(make([]float64, 2<<15)); err != nil { // more than the buffer
				t.Fatal(err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("target exists before Commit (Stat error %v)", err)
			}
			if names := dirNames(t, dir); len(names) != 1 || !strings.HasPrefix(names[0], "."+file) {
				t.Errorf("while writing, directory holds %q, want one temporary file", names)
			}
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			if names := dirNames(t, dir); len(names) != 0 {
				t.Errorf("after Abort, directory holds %q, want nothing", names)
			}
			if err := w.Write([]float64{1, 2}); err == nil {
				t.Error("Write after Abort succeeded")
			}
			if err := w.Commit(); err == nil {
				t.Error("Commit after Abort succeeded")
			}

			// An existing file is replaced only on Commit.
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err = CreateWriter(path, []string{"a", "b"})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write([]float64{1, 2}); err != nil {
				t.Fatal(err)
			}
			if old, err := os.ReadFile(path); err != nil || string(old) != "old" {
				t.Errorf("before Commit, target holds %q (error %v), want \"old\"", old, err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := w.Abort(); err != nil {
				t.Errorf("Abort after Commit: %v", err)
			}
			if err := w.Commit(); err == nil {
				t.Error("second Commit succeeded")
			}
			if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{file}) {
				t.Errorf("after Commit, directory holds %q, want [%s]", names, file)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("committed file mode %v, want 0644", fi.Mode().Perm())
			}
			r, err := OpenReader(path, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got, err := readAll(r, 1); err != nil || !sameBits(got, []float64{1, 2}) {
				t.Errorf("read back %v, %v, want [1 2]", got, err)
			}
		})
	}
}

func TestWriterErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		file    string
		columns []string
		width   int // for CreateUnnamedWriter if columns is nil
		want    string
	}{
		{"x.csv", []string{"a", "b", "a"}, 0, `x.csv: duplicate column name "a"`},
		{"x.jsonl", []string{"a", "a"}, 0, `x.jsonl: duplicate column name "a"`},
		{"x.csv", []string{"1", "2.5", ""}, 0, `x.csv: column names ["1" "2.5" ""] all read as numbers: the header would be read as a row`},
		{"x.csv", []string{"a\nb"}, 0, `x.csv: column name "a\nb" holds a line break`},
		{"x.csv", []string{}, 0, "x.csv: no columns (use CreateUnnamedWriter for rows without names)"},
		{"x.npy", nil, 0, "x.npy: row width 0, want at least 1"},
		{"x.parquet", []string{"a"}, 0, `x.parquet: unsupported file extension ".parquet" (supported: .csv, .jsonl, .npy)`},
		{"missing/x.csv", []string{"a"}, 0, "missing/x.csv: cannot create: no such file or directory"},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.file)
		var err error
		var w *Writer
		if tt.columns != nil {
			w, err = CreateWriter(path, tt.columns)
		} else {
			w, err = CreateUnnamedWriter(path, tt.width)
		}
		if err == nil {
			w.Abort()
			t.Errorf("%s %q: created a Writer, want error %q", tt.file, tt.columns, tt.want)
			continue
		}
		if got := rebase(err, dir); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s %q: error %q, want %q", tt.file, tt.columns, got, tt.want)
		}
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("failed creations left %q", names)
	}

	w, err := CreateWriter(filepath.Join(dir, "x.csv"), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Write([]float64{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "Write of 3 values, not a multiple of the row width 2") {
		t.Errorf("Write of 3 values in rows of 2: error %v", err)
	}
}
