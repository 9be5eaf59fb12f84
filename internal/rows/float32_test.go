package rows_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/rows"
	"github.com/ebmpipe/ebmpipe/internal/testutil"
)

// float32Rows returns rows rows of width float32 values, with a NaN or an
// infinity in the rows of bad, and values of every kind elsewhere
// (subnormal, −0, the largest float32, ordinary).
func float32Rows(rows, width int, bad map[int]bool) []float32 {
	special := []float32{float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32, -1.5e-39, 0.1}
	x := make([]float32, rows*width)
	for i := range rows {
		for k := range width {
			x[i*width+k] = float32(i) + float32(k)/3
			if (i+k)%97 == 0 {
				x[i*width+k] = special[(i+k)/97%len(special)]
			}
		}
		if bad[i] {
			x[i*width+i%width] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[i%3]
		}
	}
	return x
}

// readAllRows reads every row of the file at path with opt, perRead rows a
// call, with Read32 if as32 (as float64 values), else Read. It returns
// the rows, the bad rows rejected and the error that stopped reading.
func readAllRows(t *testing.T, path string, opt rows.ReadOptions, perRead int, as32 bool) ([]float64, []rows.BadRow, error) {
	t.Helper()
	var rejected []rows.BadRow
	opt.Reject = func(b rows.BadRow) { rejected = append(rejected, b) }
	r, err := rows.OpenReader(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.HoldsFloat32() {
		t.Fatalf("%s: HoldsFloat32 false for a float32 file", path)
	}
	var all []float64
	buf := make([]float64, perRead*r.Width())
	buf32 := make([]float32, perRead*r.Width())
	for {
		var n int
		if as32 {
			n, err = r.Read32(buf32)
			for _, v := range buf32[:n*r.Width()] {
				all = append(all, float64(v))
			}
		} else {
			n, err = r.Read(buf)
			all = append(all, buf[:n*r.Width()]...)
		}
		if errors.Is(err, io.EOF) {
			return all, rejected, nil
		}
		if err != nil {
			return all, rejected, err
		}
	}
}

// TestRead32 reads an NPY file of float32 rows, bad rows among them, with
// Read32 and with Read, in reads of several sizes and with the options that
// change what a bad row is: both give the same values, bit for bit, the
// same rejected rows and the same error.
func TestRead32(t *testing.T) {
	const n, width = 9000, 2
	bad := map[int]bool{0: true, 4095: true, 4096: true, 6001: true, n - 1: true}
	path := filepath.Join(t.TempDir(), "x.npy")
	testutil.WriteNPY32(t, path, float32Rows(n, width, bad), width)
	opts := map[string]rows.ReadOptions{
		"stop":      {},
		"skip":      {SkipBadRows: true},
		"nonfinite": {NonFinite: true},
		"float32":   {SkipBadRows: true, Float32: true},
	}
	for name, opt := range opts {
		for _, perRead := range []int{1, 7, 1024, n} {
			t.Run(fmt.Sprintf("%s/%d", name, perRead), func(t *testing.T) {
				want, wantBad, wantErr := readAllRows(t, path, opt, perRead, false)
				got, gotBad, gotErr := readAllRows(t, path, opt, perRead, true)
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Errorf("Read32 error %v, Read error %v", gotErr, wantErr)
				}
				if len(got) != len(want) {
					t.Fatalf("Read32 gave %d values, Read %d", len(got), len(want))
				}
				for i := range got {
					if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
						t.Fatalf("value %d: Read32 %v, Read %v", i, got[i], want[i])
					}
				}
				if fmt.Sprint(gotBad) != fmt.Sprint(wantBad) {
					t.Errorf("Read32 rejected %v, Read %v", gotBad, wantBad)
				}
			})
		}
	}
	// The case that must stop early and the one that must skip did.
	_, _, err := readAllRows(t, path, opts["stop"], 1024, true)
	if err == nil {
		t.Error("Read32 without SkipBadRows read past a NaN row")
	}
	_, skipped, _ := readAllRows(t, path, opts["skip"], 1024, true)
	if len(skipped) != len(bad) {
		t.Errorf("Read32 skipped %d rows, want %d", len(skipped), len(bad))
	}
}

// TestRead32Refused: Read32 is refused on a file whose values are not
// float32, and HoldsFloat32 says so.
func TestRead32Refused(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"x.npy", "x.csv"} {
		path := filepath.Join(dir, name)
		testutil.WriteRows(t, path, []float64{1, 2, 3, 4}, 2)
		r, err := rows.OpenReader(path, rows.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.HoldsFloat32() {
			t.Errorf("%s: HoldsFloat32 true for float64 values", name)
		}
		if n, err := r.Read32(make([]float32, 4)); err == nil || n != 0 {
			t.Errorf("%s: Read32 = %d, %v; want an error", name, n, err)
		}
		r.Close()
	}
}

// TestWrite32 writes float32 rows with Write32 and, converted to float64,
// with Write, in every format, named and unnamed: the files are the same,
// byte for byte.
func TestWrite32(t *testing.T) {
	dir := t.TempDir()
	x := float32Rows(5000, 2, map[int]bool{3: true, 4: true, 5: true})
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	for _, format := range rows.Formats {
		for _, cols := range [][]string{{"energy", "aux"}, nil} {
			name := fmt.Sprintf("%s/named=%v", format, cols != nil)
			t.Run(name, func(t *testing.T) {
				write := func(file string, do func(*rows.Writer) error) []byte {
					path := filepath.Join(dir, file+"."+format)
					w, err := rows.CreateWriterFormat(path, "", cols, 2)
					if err != nil {
						t.Fatal(err)
					}
					defer w.Abort()
					// Two calls, the first ending mid-buffer.
					if err := do(w); err != nil {
						t.Fatal(err)
					}
					if err := w.Commit(); err != nil {
						t.Fatal(err)
					}
					b, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					return b
				}
				want := write("w64", func(w *rows.Writer) error {
					if err := w.Write(x64[:2*123]); err != nil {
						return err
					}
					return w.Write(x64[2*123:])
				})
				got := write("w32", func(w *rows.Writer) error {
					if err := w.Write32(x[:2*123]); err != nil {
						return err
					}
					return w.Write32(x[2*123:])
				})
				if !bytes.Equal(got, want) {
					t.Errorf("Write32 wrote %d bytes, Write %d, or they differ", len(got), len(want))
				}
				if len(want) < 5000*2*4 {
					t.Errorf("only %d bytes written for 5000 rows", len(want))
				}
			})
		}
	}
}

// TestRead32BigEndian reads a big-endian float32 NPY file with Read32 and
// Read: both give the values written.
func TestRead32BigEndian(t *testing.T) {
	want := []float32{1.5, -2.25, float32(math.Copysign(0, -1)), math.MaxFloat32, math.SmallestNonzeroFloat32, 0.1}
	dict := "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 2), }"
	pad := 64 - (10+len(dict)+1)%64
	b := []byte("\x93NUMPY\x01\x00")
	b = append(b, byte(len(dict)+pad+1), 0)
	b = append(b, dict...)
	b = append(b, bytes.Repeat([]byte(" "), pad)...)
	b = append(b, '\n')
	for _, v := range want {
		u := math.Float32bits(v)
		b = append(b, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
	}
	path := filepath.Join(t.TempDir(), "be.npy")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, as32 := range []bool{false, true} {
		got, _, err := readAllRows(t, path, rows.ReadOptions{}, 2, as32)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("Read32 %v: %d values, want %d", as32, len(got), len(want))
		}
		for i, v := range want {
			if math.Float64bits(got[i]) != math.Float64bits(float64(v)) {
				t.Errorf("Read32 %v: value %d = %v, want %v", as32, i, got[i], v)
			}
		}
	}
}
