package autodiff

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ebmpipe/ebmpipe/internal/graphtest"
)

// randSPD returns n random symmetric positive-definite k×k matrices,
// flattened: QᵀQ + k·I for Gaussian Q.
func randSPD(r *rand.Rand, n, k int, shift float64) []float64 {
	out := make([]float64, 0, n*k*k)
	for i := 0; i < n; i++ {
		q := mat.NewDense(k, k, nil)
		for a := 0; a < k; a++ {
			for b := 0; b < k; b++ {
				q.Set(a, b, r.NormFloat64())
			}
		}
		var s mat.Dense
		s.Mul(q.T(), q)
		for a := 0; a < k; a++ {
			s.Set(a, a, s.At(a, a)+shift)
		}
		out = append(out, s.RawMatrix().Data...)
	}
	return out
}

// runNodes builds f on a fresh tape, runs it and returns the outputs.
func runNodes(t *testing.T, f func(tp *Tape) []*Node) [][]float64 {
	t.Helper()
	tp := NewTape(Float64)
	outs := f(tp)
	if err := tp.Err(); err != nil {
		t.Fatal(err)
	}
	m := NewMachine(tp)
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	res := make([][]float64, len(outs))
	for i, o := range outs {
		res[i] = graphtest.Values(o)
	}
	return res
}

func TestInverseLogDetForward(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{1, 2, 3, 5} {
		const n = 4
		data := randSPD(r, n, k, 0.1)
		// A general (non-symmetric) matrix with positive determinant too.
		gen := make([]float64, n*k*k)
		for i := range gen {
			gen[i] = r.NormFloat64()
		}
		for i := 0; i < n; i++ {
			for a := 0; a < k; a++ {
				gen[i*k*k+a*k+a] += 3
			}
		}
		out := runNodes(t, func(tp *Tape) []*Node {
			a := tp.Const(data, 2, 2, k, k)
			b := tp.Const(gen, n, k, k)
			return []*Node{tp.Inverse(a), tp.LogDet(a), tp.Inverse(b)}
		})
		for i := 0; i < n; i++ {
			m := mat.NewDense(k, k, data[i*k*k:(i+1)*k*k])
			var inv mat.Dense
			if err := inv.Inverse(m); err != nil {
				t.Fatal(err)
			}
			for j, v := range inv.RawMatrix().Data {
				if got := out[0][i*k*k+j]; math.Abs(got-v) > 1e-10*(1+math.Abs(v)) {
					t.Errorf("k=%d, matrix %d: inverse[%d] %.12g, gonum %.12g", k, i, j, got, v)
				}
			}
			var ch mat.Cholesky
			if !ch.Factorize(mat.NewSymDense(k, data[i*k*k:(i+1)*k*k])) {
				t.Fatal("not positive definite")
			}
			if got, want := out[1][i], ch.LogDet(); math.Abs(got-want) > 1e-10*(1+math.Abs(want)) {
				t.Errorf("k=%d, matrix %d: log det %.12g, gonum %.12g", k, i, got, want)
			}
			mg := mat.NewDense(k, k, gen[i*k*k:(i+1)*k*k])
			if err := inv.Inverse(mg); err != nil {
				t.Fatal(err)
			}
			for j, v := range inv.RawMatrix().Data {
				if got := out[2][i*k*k+j]; math.Abs(got-v) > 1e-10*(1+math.Abs(v)) {
					t.Errorf("k=%d, general matrix %d: inverse[%d] %.12g, gonum %.12g", k, i, j, got, v)
				}
			}
		}
	}
}

func TestLinalgErrors(t *testing.T) {
	cases := []struct {
		name string
		f    func(tp *Tape) *Node
	}{
		{"inverse-not-square", func(tp *Tape) *Node { return tp.Inverse(tp.Full(1, 2, 3)) }},
		{"logdet-rank-1", func(tp *Tape) *Node { return tp.LogDet(tp.Full(1, 3)) }},
		{"eig-shapes-differ", func(tp *Tape) *Node { return tp.SmallestEigvec(tp.Full(1, 2, 2), tp.Full(1, 3, 3)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := NewTape(Float64)
			if n := c.f(tp); n != nil || tp.Err() == nil {
				t.Fatalf("built %v without error", n)
			}
		})
	}
	// Run-time failures: singular matrices, a non-positive determinant.
	run := []struct {
		name string
		data []float64
		f    func(tp *Tape, a *Node) *Node
	}{
		{"inverse-singular", []float64{1, 2, 2, 4}, (*Tape).Inverse},
		{"logdet-negative", []float64{0, 1, 1, 0}, (*Tape).LogDet},
		{"logdet-singular", []float64{1, 2, 2, 4}, (*Tape).LogDet},
		{"logabsdet-singular", []float64{1, 2, 2, 4}, (*Tape).LogAbsDet},
	}
	for _, c := range run {
		t.Run(c.name, func(t *testing.T) {
			tp := NewTape(Float64)
			c.f(tp, tp.Const(c.data, 2, 2))
			if err := tp.Err(); err != nil {
				t.Fatal(err)
			}
			if err := NewMachine(tp).Run(); err == nil {
				t.Fatal("ran without error")
			}
		})
	}
}

// checkEigvec checks that c (k) solves A c = λ_min B c with cᵀBc = 1 and
// the largest component positive, against gonum's eigenvalues of B^{-1/2}
// A B^{-1/2}.
func checkEigvec(t *testing.T, what string, a, b *mat.SymDense, c []float64) {
	t.Helper()
	k := a.SymmetricDim()
	cv := mat.NewVecDense(k, c)
	var ac, bc mat.VecDense
	ac.MulVec(a, cv)
	bc.MulVec(b, cv)
	cbc := mat.Dot(cv, &bc)
	if math.Abs(cbc-1) > 1e-9 {
		t.Errorf("%s: cᵀBc = %.12g, want 1", what, cbc)
	}
	lambda := mat.Dot(cv, &ac) / cbc
	var res mat.VecDense
	res.AddScaledVec(&ac, -lambda, &bc)
	if n := mat.Norm(&res, 2); n > 1e-9*(1+mat.Norm(&ac, 2)) {
		t.Errorf("%s: residual ‖Ac − λBc‖ = %.3g", what, n)
	}
	// Smallest generalised eigenvalue from gonum.
	var eb mat.EigenSym
	eb.Factorize(b, true)
	lb := eb.Values(nil)
	var ub mat.Dense
	eb.VectorsTo(&ub)
	w := mat.NewDense(k, k, nil)
	for j := 0; j < k; j++ {
		for r := 0; r < k; r++ {
			w.Set(r, j, ub.At(r, j)/math.Sqrt(lb[j]))
		}
	}
	var waw mat.Dense
	waw.Product(w.T(), a, w)
	ps := mat.NewSymDense(k, nil)
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			ps.SetSym(i, j, (waw.At(i, j)+waw.At(j, i))/2)
		}
	}
	var ea mat.EigenSym
	ea.Factorize(ps, false)
	if want := ea.Values(nil)[0]; math.Abs(lambda-want) > 1e-9*(1+math.Abs(want)) {
		t.Errorf("%s: eigenvalue %.12g, gonum's smallest %.12g", what, lambda, want)
	}
	big := 0
	for j := range c {
		if math.Abs(c[j]) > math.Abs(c[big]) {
			big = j
		}
	}
	if c[big] < 0 {
		t.Errorf("%s: largest component %g is negative", what, c[big])
	}
}

func TestSmallestEigvecForward(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 2, 3, 6} {
		const n = 5
		// A symmetric, indefinite; B SPD.
		adata := randSPD(r, n, k, 0)
		for i := range adata {
			adata[i] -= 1.5
		}
		bdata := randSPD(r, n, k, 0.5)
		out := runNodes(t, func(tp *Tape) []*Node {
			a := tp.Const(adata, n, k, k)
			b := tp.Const(bdata, n, k, k)
			return []*Node{tp.SmallestEigvec(a, nil), tp.SmallestEigvec(a, b)}
		})
		id := mat.NewSymDense(k, nil)
		for i := 0; i < k; i++ {
			id.SetSym(i, i, 1)
		}
		for i := 0; i < n; i++ {
			a := mat.NewSymDense(k, adata[i*k*k:(i+1)*k*k])
			b := mat.NewSymDense(k, bdata[i*k*k:(i+1)*k*k])
			checkEigvec(t, "standard", a, id, out[0][i*k:(i+1)*k])
			checkEigvec(t, "generalised", a, b, out[1][i*k:(i+1)*k])
		}
	}
}

// TestSmallestEigvecRankDeficient is the Rayleigh–Ritz use: S is a d×k
// block with k > rank (a zero or repeated column), B = SᵀS, A = SᵀMS. The
// result must give the smallest eigenvalue of M on span(S), and batches
// whose blocks have different ranks must work.
func TestSmallestEigvecRankDeficient(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const d, k = 4, 3
	mm := mat.NewSymDense(d, randSPD(r, 1, d, 0.2))
	blocks := make([]*mat.Dense, 4)
	for i := range blocks {
		s := mat.NewDense(d, k, nil)
		for a := 0; a < d; a++ {
			for b := 0; b < k; b++ {
				s.Set(a, b, r.NormFloat64())
			}
		}
		switch i {
		case 1: // a zero column
			for a := 0; a < d; a++ {
				s.Set(a, 2, 0)
			}
		case 2: // a repeated column
			for a := 0; a < d; a++ {
				s.Set(a, 1, s.At(a, 0))
			}
		case 3: // two zero columns
			for a := 0; a < d; a++ {
				s.Set(a, 1, 0)
				s.Set(a, 2, 0)
			}
		}
		blocks[i] = s
	}
	var adata, bdata []float64
	for _, s := range blocks {
		var a, b mat.Dense
		a.Product(s.T(), mm, s)
		b.Mul(s.T(), s)
		adata = append(adata, a.RawMatrix().Data...)
		bdata = append(bdata, b.RawMatrix().Data...)
	}
	n := len(blocks)
	out := runNodes(t, func(tp *Tape) []*Node {
		return []*Node{tp.SmallestEigvec(tp.Const(adata, n, k, k), tp.Const(bdata, n, k, k))}
	})
	for i, s := range blocks {
		c := mat.NewVecDense(k, out[0][i*k:(i+1)*k])
		var v, mv mat.VecDense
		v.MulVec(s, c)
		mv.MulVec(mm, &v)
		if nv := mat.Norm(&v, 2); math.Abs(nv-1) > 1e-9 {
			t.Errorf("block %d: ‖Sc‖ = %.12g, want 1", i, nv)
		}
		ritz := mat.Dot(&v, &mv)
		// Smallest eigenvalue of M on span(S), from an orthonormal basis.
		var svd mat.SVD
		svd.Factorize(s, mat.SVDThin)
		var u mat.Dense
		svd.UTo(&u)
		sv := svd.Values(nil)
		rank := 0
		for _, x := range sv {
			if x > 1e-8*sv[0] {
				rank++
			}
		}
		q := u.Slice(0, d, 0, rank)
		var qmq mat.Dense
		qmq.Product(q.T(), mm, q)
		sym := mat.NewSymDense(rank, nil)
		for a := 0; a < rank; a++ {
			for b := a; b < rank; b++ {
				sym.SetSym(a, b, (qmq.At(a, b)+qmq.At(b, a))/2)
			}
		}
		var es mat.EigenSym
		es.Factorize(sym, false)
		if want := es.Values(nil)[0]; math.Abs(ritz-want) > 1e-9*(1+math.Abs(want)) {
			t.Errorf("block %d (rank %d): Ritz value %.12g, want %.12g", i, rank, ritz, want)
		}
	}
}

// TestSmallestEigvecNoGrad checks that the eigenvector is a constant to
// derivatives, and that the eigenvalue cᵀAc built from it has the exact
// first derivative (Hellmann–Feynman): d λ = cᵀ dA c.
func TestSmallestEigvecNoGrad(t *testing.T) {
	c := fdCase{name: "eigenvalue", x: []int{2, 3, 3}, params: [][]int{{3, 3}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
		// A = XᵀX·P + (XᵀX·P)ᵀ, symmetric per batch.
		xtx := t.MatMul(x, x, true, false)
		a0 := t.MatMul(xtx, ps[0], false, false)
		a := t.Add(a0, t.Transpose(a0, 0, 2, 1))
		v := t.SmallestEigvec(a, nil)
		return t.MatMul(v, t.MatMul(a, v, false, false), true, false)
	}}
	gg := buildGradGraph(t, c, 9)
	gg.run(t)
	gx := graphtest.Values(gg.gx)
	fdCheck(t, "∂λ/∂x", gg, gg.x, gx, func() float64 { gg.run(t); return graphtest.Scalar(gg.y) }, 1e-6)

	tp := NewTape(Float64)
	a := tp.Variable("a", NewTensor([]int{2, 2}, []float64{2, 1, 1, 3}))
	y := tp.Sum(tp.SmallestEigvec(a, nil))
	if gr := tp.InputGradient(y, a); gr == nil || tp.Err() != nil {
		t.Fatal(tp.Err())
	}
	ys := tp.Sum(tp.Square(tp.StopGradient(a)))
	gs := tp.InputGradient(ys, a)
	m := NewMachine(tp)
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	for _, v := range graphtest.Values(gs) {
		if v != 0 {
			t.Fatalf("gradient through StopGradient: %v", graphtest.Values(gs))
		}
	}
}

// TestLinalgGradients checks first and second derivatives of Inverse and
// LogDet against central differences (the second order through the
// parameter gradient of a loss containing the input gradient).
func TestLinalgGradients(t *testing.T) {
	spd := func(t *Tape, x, p *Node) *Node {
		// (XP)ᵀ(XP) + I per batch: symmetric positive definite.
		xp := t.MatMul(x, p, false, false)
		k := p.Shape()[1]
		id := make([]float64, k*k)
		for i := 0; i < k; i++ {
			id[i*k+i] = 1
		}
		return t.Add(t.MatMul(xp, xp, true, false), t.Const(id, k, k))
	}
	cases := []fdCase{
		{name: "logdet-spd", x: []int{2, 4, 3}, params: [][]int{{3, 3}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			return t.LogDet(spd(t, x, ps[0]))
		}},
		{name: "logdet-gram-1x1", x: []int{3, 2, 1}, params: [][]int{{1, 1}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			return t.LogDet(spd(t, x, ps[0]))
		}},
		{name: "inverse-spd", x: []int{2, 3, 2}, params: [][]int{{2, 2}, {2, 1}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			return t.MatMul(t.Inverse(spd(t, x, ps[0])), ps[1], false, false)
		}},
		{name: "inverse-general", x: []int{2, 2, 2}, params: [][]int{{2, 2}}, positive: true, build: func(t *Tape, x *Node, ps []*Node) *Node {
			// Diagonally dominant: X + 3I, times P.
			a := t.Add(x, t.Const([]float64{3, 0, 0, 3}, 2, 2))
			return t.Tanh(t.MatMul(t.Inverse(a), ps[0], false, false))
		}},
		{name: "logabsdet-general", x: []int{2, 2, 2}, params: [][]int{{2, 2}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			// det(X + P) of either sign, away from zero: X + P + 3·diag(1, −1).
			return t.LogAbsDet(t.Add(t.Add(x, ps[0]), t.Const([]float64{3, 0, 0, -3}, 2, 2)))
		}},
		{name: "logdet-of-inverse", x: []int{2, 3, 2}, params: [][]int{{2, 2}}, build: func(t *Tape, x *Node, ps []*Node) *Node {
			return t.LogDet(t.Inverse(spd(t, x, ps[0])))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkCase(t, c) })
	}
}
