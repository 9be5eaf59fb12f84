package autodiff

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// This file holds per-example quantities of the Gram matrix JᵀJ of tall
// matrices J (…, D, d), D ≥ d: ½ log det JᵀJ, J(JᵀJ)⁻¹ and the smallest
// singular value of J. Their kernels form JᵀJ in float64 from J's
// elements and never round it to the tape's element type: JᵀJ's condition
// number is J's squared, so a float32 JᵀJ of a J with s_max/s_min ≈ 4 000
// has already lost s_min² (float32 keeps about 7 digits), while the same
// J passed whole keeps it.

// tallBatch checks that s has rank ≥ 2 with at least as many rows as
// columns in its trailing matrices and returns the matrix size and the
// number of matrices.
func tallBatch(s []int) (rows, cols, n int, err error) {
	if len(s) < 2 || s[len(s)-2] < s[len(s)-1] || s[len(s)-1] < 1 {
		return 0, 0, 0, fmt.Errorf("shape %v: want a batch of tall matrices (…, D, d) with D ≥ d ≥ 1", s)
	}
	return s[len(s)-2], s[len(s)-1], Size(s[:len(s)-2]), nil
}

// tallShape checks the input shape of a Gram kernel and returns its output
// shape: the input's with keep, else the input's without the matrix axes.
func tallShape(in []tensor.Shape, keep bool) (tensor.Shape, error) {
	if _, _, _, err := tallBatch(in[0]); err != nil {
		return nil, err
	}
	if keep {
		return in[0].Clone(), nil
	}
	return in[0][:len(in[0])-2].Clone(), nil
}

// gramAt writes JᵀJ (cols×cols, row-major, float64) of the i-th matrix of
// a into g, and that matrix's elements, as float64, into j.
func gramAt(g, j []float64, a array, i, rows, cols int) {
	off, n := i*rows*cols, rows*cols
	if a.isF32() {
		for k, v := range a.f32[off : off+n] {
			j[k] = float64(v)
		}
	} else {
		copy(j, a.f64[off:off+n])
	}
	clear(g[:cols*cols])
	for r := 0; r < rows; r++ {
		row := j[r*cols : (r+1)*cols]
		for p, v := range row {
			for q := p; q < cols; q++ {
				g[p*cols+q] += v * row[q]
			}
		}
	}
	for p := 0; p < cols; p++ {
		for q := p + 1; q < cols; q++ {
			g[q*cols+p] = g[p*cols+q]
		}
	}
}

// gramWork holds the float64 buffers of one Gram kernel run.
type gramWork struct {
	rows, cols     int
	j, g, inv, val []float64
	piv            []int
}

// eachGram calls f for each matrix i of the n in the batch a of tall
// matrices, with buffers shared between the calls, and stops at its first
// error.
func eachGram(a array, f func(w *gramWork, i, n int) error) error {
	rows, cols, n, err := tallBatch(a.shape)
	if err != nil {
		return err
	}
	w := &gramWork{rows: rows, cols: cols, j: make([]float64, rows*cols), g: make([]float64, cols*cols),
		inv: make([]float64, cols*cols), val: make([]float64, cols), piv: make([]int, cols)}
	for i := 0; i < n; i++ {
		if err := f(w, i, n); err != nil {
			return err
		}
	}
	return nil
}

// factor forms JᵀJ of the i-th matrix of a and factors it in place (LU);
// it returns ½ log det JᵀJ, or an error if JᵀJ is singular.
func (w *gramWork) factor(a array, i, n int) (float64, error) {
	gramAt(w.g, w.j, a, i, w.rows, w.cols)
	ld, sign := logDetLU(w.cols, w.g, luSmall(w.cols, w.g, w.piv))
	if sign <= 0 || math.IsInf(ld, 0) || math.IsNaN(ld) {
		return 0, fmt.Errorf("matrix %d of %d: JᵀJ is singular", i, n)
	}
	return ld / 2, nil
}

// halfLogDetGram is ½ log det JᵀJ of each tall matrix J of a batch.
type halfLogDetGram struct{}

func (halfLogDetGram) String() string { return "HalfLogDetGram" }

func (halfLogDetGram) shape(in []tensor.Shape) (tensor.Shape, error) { return tallShape(in, false) }

func (p halfLogDetGram) do(in []array) (array, error) { return doNew(p, in) }

func (halfLogDetGram) doInto(out array, in []array) error {
	return eachGram(in[0], func(w *gramWork, i, n int) error {
		h, err := w.factor(in[0], i, n)
		out.set(i, h)
		return err
	})
}

// vjp: ∂ ½ log det JᵀJ / ∂J = J(JᵀJ)⁻¹.
func (halfLogDetGram) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	gs := append(g.Shape(), 1, 1)
	return []*Node{t.Mul(t.Reshape(g, gs), t.pinvT(in[0]))}
}

// HalfLogDetGram returns ½ log det JᵀJ of each tall matrix J (D ≥ d) in the
// last two axes of a, shaped like a without them; running it fails when
// JᵀJ is singular. JᵀJ is formed and factored in float64 whatever the
// tape's element type, as is J(JᵀJ)⁻¹, its derivative; second derivatives
// are built from the tape's own products.
func (t *Tape) HalfLogDetGram(a *Node) *Node { return t.apply(halfLogDetGram{}, a) }

// pinvTOp is J(JᵀJ)⁻¹, the transposed pseudo-inverse, of each tall matrix J.
type pinvTOp struct{}

func (pinvTOp) String() string { return "PinvT" }

func (pinvTOp) shape(in []tensor.Shape) (tensor.Shape, error) { return tallShape(in, true) }

func (p pinvTOp) do(in []array) (array, error) { return doNew(p, in) }

func (pinvTOp) doInto(out array, in []array) error {
	return eachGram(in[0], func(w *gramWork, i, n int) error {
		if _, err := w.factor(in[0], i, n); err != nil {
			return err
		}
		rows, cols := w.rows, w.cols
		invLU(cols, w.g, w.piv, w.inv) // nonsingular: factor checked
		off := i * rows * cols
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				s := 0.0
				for k := 0; k < cols; k++ {
					s += w.j[r*cols+k] * w.inv[k*cols+c]
				}
				out.set(off+r*cols+c, s)
			}
		}
		return nil
	})
}

// vjp: for Y = J G⁻¹, G = JᵀJ (so that G⁻¹ = YᵀY),
// J̄ = Ȳ G⁻¹ − J G⁻¹ (JᵀȲ + ȲᵀJ) G⁻¹.
func (pinvTOp) vjp(t *Tape, in []*Node, y, g *Node) []*Node {
	j := in[0]
	gi := t.MatMul(y, y, true, false)
	s := t.Add(t.MatMul(j, g, true, false), t.MatMul(g, j, true, false))
	return []*Node{t.Sub(t.MatMul(g, gi, false, false), t.MatMul(y, t.MatMul(s, gi, false, false), false, false))}
}

// pinvT returns J(JᵀJ)⁻¹ for each tall matrix J in the last two axes of a.
func (t *Tape) pinvT(a *Node) *Node { return t.apply(pinvTOp{}, a) }

// smallestSingular is the smallest singular value of each tall matrix.
type smallestSingular struct{ noGrad }

func (smallestSingular) String() string { return "SmallestSingular" }

func (smallestSingular) shape(in []tensor.Shape) (tensor.Shape, error) { return tallShape(in, false) }

func (p smallestSingular) do(in []array) (array, error) { return doNew(p, in) }

func (smallestSingular) doInto(out array, in []array) error {
	return eachGram(in[0], func(w *gramWork, i, n int) error {
		gramAt(w.g, w.j, in[0], i, w.rows, w.cols)
		if !symEig(w.cols, w.g, w.inv, w.val) { // w.inv: the eigenvectors, unused
			return fmt.Errorf("matrix %d of %d: the eigenproblem of JᵀJ failed", i, n)
		}
		lo := w.val[0]
		for _, v := range w.val[1:] {
			lo = math.Min(lo, v)
		}
		out.set(i, math.Sqrt(math.Max(lo, 0)))
		return nil
	})
}

// SmallestSingular returns the smallest singular value of each tall matrix
// J (D ≥ d) in the last two axes of a, shaped like a without them: the
// square root of JᵀJ's smallest eigenvalue, JᵀJ formed and solved in
// float64 whatever the tape's element type. It has no derivative.
func (t *Tape) SmallestSingular(a *Node) *Node { return t.apply(smallestSingular{}, a) }
