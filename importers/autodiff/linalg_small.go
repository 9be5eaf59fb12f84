package autodiff

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// This file holds the small, per-example linear algebra the bounds need:
// inverses, log-determinants and smallest eigenvectors of the k×k matrices
// in the last two axes of a batch, plus a stop-gradient. Kernels work in
// float64 whatever the tape's element type.

// stopGradient is the identity with no derivative.
type stopGradient struct{ noGrad }

func (stopGradient) String() string                                { return "StopGradient" }
func (stopGradient) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }

// do shares the input's data: no kernel writes into its inputs.
func (stopGradient) do(in []array) (array, error) { return in[0], nil }

// StopGradient returns x, treated as a constant by every derivative: VJP,
// JVP and ParamGrads send nothing through it.
func (t *Tape) StopGradient(x *Node) *Node { return t.apply(stopGradient{}, x) }

// squareBatch checks that s has rank ≥ 2 with square trailing matrices and
// returns the matrix size and the number of matrices.
func squareBatch(s []int) (k, n int, err error) {
	if len(s) < 2 || s[len(s)-1] != s[len(s)-2] {
		return 0, 0, fmt.Errorf("shape %v: want a batch of square matrices (…, k, k)", s)
	}
	k = s[len(s)-1]
	return k, Size(s[:len(s)-2]), nil
}

// matrixAt copies the i-th k×k matrix of a into m (row-major, float64).
func matrixAt(m []float64, a array, i, k int) {
	off := i * k * k
	if a.isF32() {
		for j, v := range a.f32[off : off+k*k] {
			m[j] = float64(v)
		}
		return
	}
	copy(m, a.f64[off:off+k*k])
}

// setMatrixAt copies m into the i-th k×k matrix of out.
func setMatrixAt(out array, i, k int, m []float64) {
	off := i * k * k
	if out.isF32() {
		for j, v := range m[:k*k] {
			out.f32[off+j] = float32(v)
		}
		return
	}
	copy(out.f64[off:off+k*k], m)
}

// inverse inverts each square matrix of a batch (…, k, k).
type inverse struct{}

func (inverse) String() string { return "Inverse" }

func (inverse) shape(in []tensor.Shape) (tensor.Shape, error) {
	if _, _, err := squareBatch(in[0]); err != nil {
		return nil, err
	}
	return in[0].Clone(), nil
}

func (p inverse) do(in []array) (array, error) { return doNew(p, in) }

func (inverse) doInto(out array, in []array) error {
	a := in[0]
	k, n, err := squareBatch(a.shape)
	if err != nil {
		return err
	}
	m, inv, piv := make([]float64, k*k), make([]float64, k*k), make([]int, k)
	for i := 0; i < n; i++ {
		matrixAt(m, a, i, k)
		luSmall(k, m, piv)
		if !invLU(k, m, piv, inv) {
			return fmt.Errorf("matrix %d of %d is singular", i, n)
		}
		setMatrixAt(out, i, k, inv)
	}
	return nil
}

// vjp: for Y = A⁻¹, Ā = −Yᵀ·Ȳ·Yᵀ.
func (inverse) vjp(t *Tape, _ []*Node, y, g *Node) []*Node {
	return []*Node{t.Neg(t.MatMul(t.MatMul(y, g, true, false), y, false, true))}
}

// Inverse returns the inverse of each square matrix in the last two axes
// of a. Running it fails on a singular matrix.
func (t *Tape) Inverse(a *Node) *Node { return t.apply(inverse{}, a) }

// logDet is log det of each square matrix of a batch, for matrices with a
// positive determinant, or log |det| with abs.
type logDet struct{ abs bool }

func (p logDet) String() string {
	if p.abs {
		return "LogAbsDet"
	}
	return "LogDet"
}

func (logDet) shape(in []tensor.Shape) (tensor.Shape, error) {
	if _, _, err := squareBatch(in[0]); err != nil {
		return nil, err
	}
	return in[0][:len(in[0])-2].Clone(), nil
}

func (p logDet) do(in []array) (array, error) { return doNew(p, in) }

func (p logDet) doInto(out array, in []array) error {
	a := in[0]
	k, n, err := squareBatch(a.shape)
	if err != nil {
		return err
	}
	m, piv := make([]float64, k*k), make([]int, k)
	for i := 0; i < n; i++ {
		matrixAt(m, a, i, k)
		ld, sign := logDetLU(k, m, luSmall(k, m, piv))
		if p.abs && sign < 0 {
			sign = 1
		}
		if sign <= 0 || math.IsInf(ld, 0) || math.IsNaN(ld) {
			if p.abs {
				return fmt.Errorf("matrix %d of %d: singular", i, n)
			}
			return fmt.Errorf("matrix %d of %d: determinant is not positive", i, n)
		}
		out.set(i, ld)
	}
	return nil
}

// vjp: ∂ log det A / ∂A = ∂ log |det A| / ∂A = A⁻ᵀ.
func (logDet) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	a := in[0]
	r := a.Dims()
	gs := append(g.Shape(), 1, 1)
	perm := make([]int, r)
	for i := range perm {
		perm[i] = i
	}
	perm[r-2], perm[r-1] = r-1, r-2
	return []*Node{t.Mul(t.Reshape(g, gs), t.Transpose(t.Inverse(a), perm...))}
}

// LogDet returns log det of each square matrix in the last two axes of a,
// shaped like a without them. The determinants must be positive, as for
// the Gram matrices JᵀJ of full-rank J; running it fails otherwise.
func (t *Tape) LogDet(a *Node) *Node { return t.apply(logDet{}, a) }

// LogAbsDet returns log |det| of each square matrix in the last two axes
// of a, shaped like a without them; running it fails for a singular
// matrix. For a square Jacobian J, LogAbsDet(J) = ½ LogDet(JᵀJ) without
// squaring J's condition number.
func (t *Tape) LogAbsDet(a *Node) *Node { return t.apply(logDet{abs: true}, a) }

// smallestEig finds the eigenvector of the smallest eigenvalue of the
// symmetric pencil (A, B) for each matrix pair of a batch.
type smallestEig struct{ noGrad }

func (smallestEig) String() string { return "SmallestEigvec" }

func (smallestEig) shape(in []tensor.Shape) (tensor.Shape, error) {
	for _, s := range in {
		if _, _, err := squareBatch(s); err != nil {
			return nil, err
		}
	}
	if len(in) == 2 && !sameShape(in[0], in[1]) {
		return nil, fmt.Errorf("matrix shapes %v and %v differ", in[0], in[1])
	}
	s := in[0].Clone()
	s[len(s)-1] = 1
	return s, nil
}

func (p smallestEig) do(in []array) (array, error) { return doNew(p, in) }

func (p smallestEig) doInto(out array, in []array) error {
	a := in[0]
	k, n, err := squareBatch(a.shape)
	if err != nil {
		return err
	}
	// Directions of B with eigenvalues below tol·max are dropped: the block
	// may be rank-deficient (a residual of zero, more vectors than the
	// dimension).
	tol := 1e-10
	if a.isF32() {
		tol = 1e-5
	}
	w := newEigWork(k)
	c := make([]float64, k)
	for i := 0; i < n; i++ {
		matrixAt(w.a, a, i, k)
		symmetrise(k, w.a)
		if len(in) == 2 {
			matrixAt(w.b, in[1], i, k)
			symmetrise(k, w.b)
		}
		if !w.minPencil(len(in) == 2, tol, c) {
			return fmt.Errorf("matrix %d of %d: the eigenproblem failed or the block spans nothing", i, n)
		}
		// Fix the sign: the largest component is positive.
		big := 0
		for j := 1; j < k; j++ {
			if math.Abs(c[j]) > math.Abs(c[big]) {
				big = j
			}
		}
		sign := 1.0
		if c[big] < 0 {
			sign = -1
		}
		for j := 0; j < k; j++ {
			out.set(i*k+j, sign*c[j])
		}
	}
	return nil
}

// symmetrise replaces the k×k m by (m + mᵀ)/2: the inputs are symmetric up
// to rounding.
func symmetrise(k int, m []float64) {
	for r := 0; r < k; r++ {
		for c := r + 1; c < k; c++ {
			v := (m[r*k+c] + m[c*k+r]) / 2
			m[r*k+c], m[c*k+r] = v, v
		}
	}
}

// SmallestEigvec returns, for each symmetric matrix A in the last two axes
// of a, the eigenvector c of its smallest eigenvalue, shaped (…, k, 1). With
// b (same shape, symmetric positive semi-definite) it solves the
// generalised problem A c = λ B c on the range of B and normalises
// cᵀBc = 1 — the Rayleigh–Ritz step for a block S with B = SᵀS and
// A = SᵀMS; without b (nil), B = I and ‖c‖ = 1. The sign makes the largest
// component positive. It has no derivative: the result is a constant to
// every derivative, which is exact to first order for the eigenvalue
// c ᵀAc (its derivative does not involve dc).
func (t *Tape) SmallestEigvec(a, b *Node) *Node {
	if b == nil {
		return t.apply(smallestEig{}, a)
	}
	return t.apply(smallestEig{}, a, b)
}
