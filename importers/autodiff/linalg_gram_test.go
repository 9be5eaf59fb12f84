package autodiff

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ebmpipe/ebmpipe/internal/graphtest"
)

// svdOf returns the singular values (descending) of the rows×cols matrix j.
func svdOf(t *testing.T, rows, cols int, j []float64) []float64 {
	t.Helper()
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(rows, cols, append([]float64(nil), j...)), mat.SVDThin) {
		t.Fatal("SVD failed")
	}
	return svd.Values(nil)
}

// TestGramForward checks ½ log det JᵀJ, J(JᵀJ)⁻¹ and s_min against Gonum's
// SVD and inverse, for square and tall matrices up to and beyond the size
// of the in-place eigen kernel.
func TestGramForward(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	for _, sz := range [][2]int{{1, 1}, {2, 2}, {3, 2}, {5, 3}, {12, smallK + 2}} {
		rows, cols := sz[0], sz[1]
		const n = 3
		data := make([]float64, n*rows*cols)
		for i := range data {
			data[i] = r.NormFloat64()
		}
		out := runNodes(t, func(tp *Tape) []*Node {
			a := tp.Const(data, n, rows, cols)
			return []*Node{tp.HalfLogDetGram(a), tp.SmallestSingular(a), tp.pinvT(a)}
		})
		for i := 0; i < n; i++ {
			j := data[i*rows*cols : (i+1)*rows*cols]
			s := svdOf(t, rows, cols, j)
			half := 0.0
			for _, v := range s {
				half += math.Log(v)
			}
			if got := out[0][i]; math.Abs(got-half) > 1e-10*(1+math.Abs(half)) {
				t.Errorf("%d×%d #%d: ½ log det JᵀJ = %.12g, SVD %.12g", rows, cols, i, got, half)
			}
			if got, want := out[1][i], s[len(s)-1]; math.Abs(got-want) > 1e-9*want {
				t.Errorf("%d×%d #%d: s_min %.12g, SVD %.12g", rows, cols, i, got, want)
			}
			jm := mat.NewDense(rows, cols, append([]float64(nil), j...))
			var g, gi, want mat.Dense
			g.Mul(jm.T(), jm)
			if err := gi.Inverse(&g); err != nil {
				t.Fatal(err)
			}
			want.Mul(jm, &gi)
			got := mat.NewDense(rows, cols, out[2][i*rows*cols:(i+1)*rows*cols])
			if !mat.EqualApprox(got, &want, 1e-9) {
				t.Errorf("%d×%d #%d: J(JᵀJ)⁻¹ = %v, want %v", rows, cols, i, mat.Formatted(got), mat.Formatted(&want))
			}
		}
	}
}

// TestGramGradients checks ½ log det JᵀJ's first and second derivatives
// (through J(JᵀJ)⁻¹'s own rule) by finite differences.
func TestGramGradients(t *testing.T) {
	for _, c := range []fdCase{
		{name: "half-logdet-gram-tall", x: []int{2, 3, 2}, params: [][]int{{2, 2}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			return t.HalfLogDetGram(t.Tanh(t.MatMul(x, ps[0], false, false)))
		}},
		{name: "half-logdet-gram-square", x: []int{2, 2, 2}, params: [][]int{{2, 2}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			return t.Mul(t.HalfLogDetGram(t.MatMul(x, ps[0], false, false)), t.Sum(ps[0]))
		}},
	} {
		t.Run(c.name, func(t *testing.T) { checkCase(t, c) })
	}
}

// TestGramFloat32 is the case the float64 kernels exist for: a float32
// J = U diag(1, s) Vᵀ (3×2). Forming JᵀJ with the tape's float32 products
// loses s² next to 1; the Gram kernels keep it and match the float64
// values of the same (float32-rounded) J.
func TestGramFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, s := range []float64{1e-2, 1e-4, 1e-5} {
		u, v := graphtest.RandOrtho(r, 3), graphtest.RandOrtho(r, 2)
		sd := mat.NewDense(3, 2, []float64{1, 0, 0, s, 0, 0})
		var jm mat.Dense
		jm.Product(u, sd, v.T())
		j := jm.RawMatrix().Data
		for i, x := range j {
			j[i] = float64(float32(x)) // the truth is of the rounded J
		}
		sv := svdOf(t, 3, 2, j)
		half, smin := math.Log(sv[0])+math.Log(sv[1]), sv[1]
		tp := NewTape(Float32)
		a := tp.Const(j, 1, 3, 2)
		h, sm := tp.HalfLogDetGram(a), tp.SmallestSingular(a)
		naive := tp.Scale(tp.LogDet(tp.MatMul(a, a, true, false)), 0.5)
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		if err := NewMachine(tp).Run(); err != nil {
			t.Fatal(err)
		}
		if got := float64(h.Float32s()[0]); math.Abs(got-half) > 1e-6*(1+math.Abs(half)) {
			t.Errorf("s = %g: ½ log det JᵀJ = %.8g, want %.8g", s, got, half)
		}
		if got := float64(sm.Float32s()[0]); math.Abs(got-smin) > 1e-6*smin {
			t.Errorf("s = %g: s_min = %.8g, want %.8g", s, got, smin)
		}
		// The float32 route's error, for the record: at s = 1e-4 it is
		// tenths of a nat (see bench/float32.md).
		if got := float64(naive.Float32s()[0]); s <= 1e-4 && math.Abs(got-half) < 0.01 {
			t.Errorf("s = %g: float32 products gave ½ log det JᵀJ = %.8g, within 0.01 of %.8g: the case no longer tests the float64 kernels", s, got, half)
		}
	}
}

func TestGramErrors(t *testing.T) {
	for _, f := range []func(*Tape, *Node) *Node{(*Tape).HalfLogDetGram, (*Tape).SmallestSingular, (*Tape).pinvT} {
		tp := NewTape(Float64)
		if n := f(tp, tp.Full(1, 2, 3)); n != nil || tp.Err() == nil {
			t.Errorf("wide matrix: built %v without error", n)
		}
	}
	// Run-time failure: JᵀJ singular (rank-1 J).
	for _, f := range []func(*Tape, *Node) *Node{(*Tape).HalfLogDetGram, (*Tape).pinvT} {
		tp := NewTape(Float64)
		f(tp, tp.Const([]float64{1, 2, 2, 4, 3, 6}, 3, 2))
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		if err := NewMachine(tp).Run(); err == nil {
			t.Error("rank-1 J: ran without error")
		}
	}
}
