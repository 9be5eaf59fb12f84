package simd

import (
	"math"
	"math/rand"
	"testing"
)

// selectMulRef is the scalar loop SelectMul stands for.
func selectMulRef(out, x, g []float64, pos, q float64) {
	for i, v := range x[:len(out)] {
		f := pos
		if v <= 0 {
			f = q
		}
		out[i] = f * g[i]
	}
}

// specials are the values mixed into the kernels' random operands.
var specials = []float64{0, math.Copysign(0, -1), 1, -1, math.Inf(1), math.Inf(-1), math.NaN(),
	math.Float64frombits(0xfff8000000000001), 5e-324, -5e-324, math.MaxFloat64, -math.MaxFloat64}

// fillRandom sets every slice of ss to normal draws, each every-th value
// (from the first) one of specials.
func fillRandom(rng *rand.Rand, every int, ss ...[]float64) {
	for _, s := range ss {
		for i := range s {
			s[i] = rng.NormFloat64()
			if i%every == 0 {
				s[i] = specials[rng.Intn(len(specials))]
			}
		}
	}
}

func TestSelectMul(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, tc := range []struct {
		name   string
		n      int
		pos, q float64
	}{
		{"empty", 0, 1, 0.25},
		{"under four", 3, 1, 0.25},
		{"four", 4, 1, -0.5},
		{"tail", 13, 0, 1},
		{"specials", 1021, 1, 0.25},
		{"nan slope", 9, 1, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, g := make([]float64, tc.n), make([]float64, tc.n)
			fillRandom(rng, 5, x)
			fillRandom(rng, 7, g)
			want, got := make([]float64, tc.n), make([]float64, tc.n)
			selectMulRef(want, x, g, tc.pos, tc.q)
			done := SelectMul(got, x, g, tc.pos, tc.q)
			if done%4 != 0 || done > tc.n || (hasAVX2 && done != tc.n&^3) {
				t.Fatalf("set %d of %d elements", done, tc.n)
			}
			for i := range done {
				w, o := want[i], got[i]
				if math.IsNaN(w) && math.IsNaN(o) && math.IsNaN(g[i]) && (math.IsNaN(tc.q) || math.IsNaN(tc.pos)) {
					continue // two NaN operands: either payload
				}
				if math.Float64bits(w) != math.Float64bits(o) {
					t.Errorf("x %v, g %v: got %v (%#x), want %v (%#x)", x[i], g[i], o, math.Float64bits(o), w, math.Float64bits(w))
				}
			}
		})
	}
}

func TestSelectMulX(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, n := range []int{0, 3, 4, 13, 1021} {
		x, g := make([]float64, n), make([]float64, n)
		fillRandom(rng, 5, x)
		fillRandom(rng, 7, g)
		want, got := make([]float64, n), make([]float64, n)
		for i, v := range x {
			f := 0.0 // pos
			if v <= 0 {
				f = v
			}
			want[i] = f * g[i]
		}
		done := SelectMulX(got, x, g, 0)
		if done%4 != 0 || done > n || (hasAVX2 && done != n&^3) {
			t.Fatalf("n %d: set %d elements", n, done)
		}
		for i := range done {
			if math.Float64bits(want[i]) != math.Float64bits(got[i]) {
				t.Errorf("x %v, g %v: got %v (%#x), want %v (%#x)", x[i], g[i], got[i], math.Float64bits(got[i]), want[i], math.Float64bits(want[i]))
			}
		}
	}
}
