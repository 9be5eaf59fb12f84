package data

import (
	"slices"
	"strings"
	"testing"
)

// indexData returns a data set whose row i is (i, -i), so that a drawn row
// tells its index.
func indexData(rows int) *Dataset {
	d := &Dataset{Rows: rows, Width: 2, RowShape: []int{2}, Source: "index"}
	for i := range rows {
		d.Data = append(d.Data, float64(i), -float64(i))
	}
	return d
}

// draw returns the indices of the next n rows of s, drawn in batches of
// batch rows (n a multiple of batch).
func draw(s *Sampler, n, batch int) []int {
	var idx []int
	buf := make([]float64, 2*batch)
	for range n / batch {
		s.Next(buf)
		for i := 0; i < len(buf); i += 2 {
			idx = append(idx, int(buf[i]))
		}
	}
	return idx
}

func TestSamplerEpochs(t *testing.T) {
	const rows = 10
	s, err := NewSampler(indexData(rows), 5)
	if err != nil {
		t.Fatal(err)
	}
	if s.Epoch() != 0 {
		t.Errorf("Epoch() = %d before drawing", s.Epoch())
	}
	// Batches of 4 run across epoch ends; each epoch is a permutation.
	idx := draw(s, 4*rows, 4)
	var orders [][]int
	for e := range 4 {
		epoch := slices.Clone(idx[e*rows : (e+1)*rows])
		orders = append(orders, slices.Clone(epoch))
		slices.Sort(epoch)
		for i, v := range epoch {
			if v != i {
				t.Fatalf("epoch %d draws %v, not each row once", e, idx[e*rows:(e+1)*rows])
			}
		}
	}
	if s.Epoch() != 4 {
		t.Errorf("Epoch() = %d after 4 epochs", s.Epoch())
	}
	if slices.Equal(orders[0], orders[1]) && slices.Equal(orders[1], orders[2]) {
		t.Errorf("the epochs are all in the order %v", orders[0])
	}

	s2, _ := NewSampler(indexData(rows), 5)
	if got := draw(s2, 4*rows, 8); !slices.Equal(got, idx) {
		t.Error("same seed and data, other batch size: different rows")
	}
	s3, _ := NewSampler(indexData(rows), 6)
	if got := draw(s3, 4*rows, 4); slices.Equal(got, idx) {
		t.Error("seeds 5 and 6 draw the same rows")
	}
}

func TestSamplerResume(t *testing.T) {
	const rows, batch, total = 7, 3, 60
	ref, _ := NewSampler(indexData(rows), 42)
	want := draw(ref, total, batch)
	// Stop at the start, in an epoch, at an epoch's end (21 = 3 epochs).
	for _, stop := range []int{0, 3, 9, 21} {
		s, _ := NewSampler(indexData(rows), 42)
		got := draw(s, stop, batch)
		state, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		// A sampler with another seed takes on the saved state.
		r, _ := NewSampler(indexData(rows), 1)
		draw(r, 5, 1)
		if err := r.UnmarshalBinary(state); err != nil {
			t.Fatalf("stop %d: %v", stop, err)
		}
		if r.Epoch() != s.Epoch() {
			t.Errorf("stop %d: restored epoch %d, saved %d", stop, r.Epoch(), s.Epoch())
		}
		got = append(got, draw(r, total-stop, batch)...)
		if !slices.Equal(got, want) {
			t.Errorf("stop %d: resumed draws %v, uninterrupted %v", stop, got, want)
		}
	}
}

func TestSamplerErrors(t *testing.T) {
	if _, err := NewSampler(&Dataset{Width: 2, Source: "none"}, 1); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("empty data set: error %v", err)
	}
	s, _ := NewSampler(indexData(5), 1)
	good, _ := s.MarshalBinary()
	other, _ := NewSampler(indexData(6), 1)
	otherState, _ := other.MarshalBinary()
	tests := []struct {
		name  string
		state []byte
		want  string
	}{
		{"empty", nil, "not a sampler state"},
		{"other magic", append([]byte("x"), good[1:]...), "not a sampler state"},
		{"other rows", otherState, "state is for 6 rows, index has 5"},
		{"bad random state", good[:len(good)-3], "random state"},
		{"position out of range", func() []byte {
			b := slices.Clone(good)
			b[len(samplerMagic)+16] = 9
			return b
		}(), "position 9"},
	}
	for _, tt := range tests {
		err := s.UnmarshalBinary(tt.state)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Next with a partial row did not panic")
			}
		}()
		s.Next(make([]float64, 3))
	}()
}
