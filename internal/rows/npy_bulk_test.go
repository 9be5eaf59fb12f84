package rows

import (
	"math"
	"path/filepath"
	"testing"
)

// TestReadNPYBulk reads an NPY file of more rows than one read-ahead buffer,
// with non-finite rows at its ends and in its middle, a row at a time and
// in large reads, which decode rows in bulk: both give the same rows and
// reject the same ones.
func TestReadNPYBulk(t *testing.T) {
	const rows, width = 9000, 2
	bad := map[int]bool{0: true, 4095: true, 4096: true, 6001: true, rows - 1: true}
	x := make([]float64, rows*width)
	var want []float64
	for i := range rows {
		for k := range width {
			x[i*width+k] = float64(i) + float64(k)/3
		}
		if bad[i] {
			x[i*width+i%width] = math.NaN()
			continue
		}
		want = append(want, x[i*width:(i+1)*width]...)
	}
	path := filepath.Join(t.TempDir(), "x.npy")
	w, err := CreateUnnamedWriter(path, width)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, perRead := range []int{1, 7, 1024, rows} {
		var rejected []int
		r, err := OpenReader(path, ReadOptions{SkipBadRows: true, Reject: func(b BadRow) { rejected = append(rejected, b.Line) }})
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(r, perRead)
		r.Close()
		if err != nil {
			t.Fatalf("%d rows a read: %v", perRead, err)
		}
		if !sameBits(got, want) {
			t.Errorf("%d rows a read: %d values, want %d, or values differ", perRead, len(got), len(want))
		}
		if len(rejected) != len(bad) {
			t.Errorf("%d rows a read: rejected rows %v, want %d rows", perRead, rejected, len(bad))
		}
		for _, line := range rejected {
			if !bad[line] {
				t.Errorf("%d rows a read: rejected row %d, a good one", perRead, line)
			}
		}
	}
}
