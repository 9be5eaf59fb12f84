package data

import (
	"strings"
	"testing"
)

func TestRNGStreams(t *testing.T) {
	draws := func(r *RNG) []uint64 {
		out := make([]uint64, 8)
		for i := range out {
			out[i] = r.Uint64()
		}
		return out
	}
	tests := []struct {
		name       string
		a, b       *RNG
		wantSame   bool
		wantReason string
	}{
		{"same seed and stream", NewRNG(1, "z"), NewRNG(1, "z"), true, "deterministic"},
		{"other stream", NewRNG(1, "z"), NewRNG(1, "sampler"), false, "streams independent"},
		{"other seed", NewRNG(1, "z"), NewRNG(2, "z"), false, "seeds independent"},
	}
	for _, tt := range tests {
		x, y := draws(tt.a), draws(tt.b)
		same := 0
		for i := range x {
			if x[i] == y[i] {
				same++
			}
		}
		if (same == len(x)) != tt.wantSame || (!tt.wantSame && same > 0) {
			t.Errorf("%s: %d of %d draws equal, want %s", tt.name, same, len(x), tt.wantReason)
		}
	}
}

func TestRNGState(t *testing.T) {
	r := NewRNG(7, "z")
	for range 5 {
		r.NormFloat64()
	}
	state, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{r.NormFloat64(), r.Float64(), float64(r.IntN(1000))}
	s := NewRNG(0, "")
	if err := s.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	got := []float64{s.NormFloat64(), s.Float64(), float64(s.IntN(1000))}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("draw %d after restoring: %v, want %v", i, got[i], want[i])
		}
	}
	if err := s.UnmarshalBinary([]byte("nonsense")); err == nil || !strings.Contains(err.Error(), "random state") {
		t.Errorf("bad state: error %v", err)
	}
}
