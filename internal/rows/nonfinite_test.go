package rows

import (
	"math"
	"path/filepath"
	"testing"
)

// TestNonFiniteRoundTrip writes NaN, +Inf and −Inf in every format and
// reads them back with ReadOptions.NonFinite; without it they stay bad
// values.
func TestNonFiniteRoundTrip(t *testing.T) {
	rows := []float64{1.5, math.NaN(), math.Inf(1), math.Inf(-1), -2, 0}
	for _, name := range []string{"s.csv", "s.jsonl", "s.npy", "named.jsonl"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			var w *Writer
			var err error
			if name == "s.jsonl" {
				w, err = CreateUnnamedWriter(path, 3)
			} else {
				w, err = CreateWriter(path, []string{"a", "b", "c"})
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(rows); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			for _, nonFinite := range []bool{true, false} {
				r, err := OpenReader(path, ReadOptions{NonFinite: nonFinite})
				if err == nil {
					got := make([]float64, len(rows))
					var n int
					n, err = r.Read(got)
					r.Close()
					if err == nil && nonFinite {
						for i, want := range rows {
							if g := got[i]; !(g == want || math.IsNaN(g) && math.IsNaN(want)) || n != 2 {
								t.Fatalf("read back %v (%d rows), want %v", got[:n*3], n, rows)
							}
						}
					}
				}
				if (err == nil) != nonFinite {
					t.Errorf("NonFinite %v: error %v", nonFinite, err)
				}
			}
		})
	}
}
