package autodiff

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gorgonia.org/tensor"
)

// matMul multiplies the last two axes of a and b, optionally transposed,
// broadcasting the leading (batch) axes.
type matMul struct{ ta, tb bool }

func (p matMul) String() string { return fmt.Sprintf("MatMul(%v,%v)", p.ta, p.tb) }

// dims returns m, k, n of op(a)·op(b) for the trailing matrices.
func (p matMul) dims(a, b []int) (m, k, n int, err error) {
	if len(a) < 2 || len(b) < 2 {
		return 0, 0, 0, fmt.Errorf("operands of rank %d and %d, want at least 2", len(a), len(b))
	}
	m, k = a[len(a)-2], a[len(a)-1]
	if p.ta {
		m, k = k, m
	}
	k2, n := b[len(b)-2], b[len(b)-1]
	if p.tb {
		k2, n = n, k2
	}
	if k != k2 {
		return 0, 0, 0, fmt.Errorf("inner dimensions %d and %d differ (shapes %v, %v)", k, k2, a, b)
	}
	return m, k, n, nil
}

func (p matMul) shape(in []tensor.Shape) (tensor.Shape, error) {
	a, b := in[0], in[1]
	m, _, n, err := p.dims(a, b)
	if err != nil {
		return nil, err
	}
	batch, err := BroadcastShape(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return nil, err
	}
	return tensor.Shape(append(batch, m, n)), nil
}

func (p matMul) do(in []array) (array, error) { return doNew(p, in) }

func (p matMul) doInto(out array, in []array) error { return p.gemmInto(out, in[0], in[1], false) }

// gemmInto sets out to op(a)·op(b), or adds the product to out if acc is
// set, matrix by matrix over the broadcast batch axes.
func (p matMul) gemmInto(out, a, b array, acc bool) error {
	s := out.shape
	m, k, n, _ := p.dims(a.shape, b.shape)
	batch := []int(s[:len(s)-2])
	sa := BroadcastStrides(a.shape[:len(a.shape)-2], batch)
	sb := BroadcastStrides(b.shape[:len(b.shape)-2], batch)
	ra, ca := a.shape[len(a.shape)-2], a.shape[len(a.shape)-1]
	rb, cb := b.shape[len(b.shape)-2], b.shape[len(b.shape)-1]
	ta, tb := blas.NoTrans, blas.NoTrans
	if p.ta {
		ta = blas.Trans
	}
	if p.tb {
		tb = blas.Trans
	}
	beta, beta32 := 0.0, float32(0)
	if acc {
		beta, beta32 = 1, 1
	}
	idx := make([]int, len(batch))
	for o := 0; o < Size(batch); o++ {
		oa, ob := 0, 0
		for d, i := range idx {
			oa += i * sa[d]
			ob += i * sb[d]
		}
		oa, ob = oa*ra*ca, ob*rb*cb
		oc := o * m * n
		if m*n*k <= smallGemm {
			if a.isF32() {
				gemmSmall(p.ta, p.tb, m, n, k, a.f32[oa:oa+ra*ca], ca, b.f32[ob:ob+rb*cb], cb, out.f32[oc:oc+m*n], acc)
			} else {
				gemmSmall(p.ta, p.tb, m, n, k, a.f64[oa:oa+ra*ca], ca, b.f64[ob:ob+rb*cb], cb, out.f64[oc:oc+m*n], acc)
			}
		} else if a.isF32() {
			blas32.Gemm(ta, tb, 1,
				blas32.General{Rows: ra, Cols: ca, Stride: ca, Data: a.f32[oa : oa+ra*ca]},
				blas32.General{Rows: rb, Cols: cb, Stride: cb, Data: b.f32[ob : ob+rb*cb]},
				beta32, blas32.General{Rows: m, Cols: n, Stride: n, Data: out.f32[oc : oc+m*n]})
		} else if !gemmThin(p.ta, p.tb, m, n, k, a.f64[oa:oa+ra*ca], ca, b.f64[ob:ob+rb*cb], cb, out.f64[oc:oc+m*n], acc) {
			blas64.Gemm(ta, tb, 1,
				blas64.General{Rows: ra, Cols: ca, Stride: ca, Data: a.f64[oa : oa+ra*ca]},
				blas64.General{Rows: rb, Cols: cb, Stride: cb, Data: b.f64[ob : ob+rb*cb]},
				beta, blas64.General{Rows: m, Cols: n, Stride: n, Data: out.f64[oc : oc+m*n]})
		}
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < batch[d] {
				break
			}
			idx[d] = 0
		}
	}
	return nil
}

// smallGemm is the largest m·n·k of a product gemmSmall computes: below it
// a call into BLAS (through cgo for OpenBLAS) costs more than the product,
// as for the per-example 2×2 and 3×3 products of the Jacobian bounds.
const smallGemm = 512

// gemmSmall sets c (m×n) to op(a)·op(b), or adds the product to c if acc
// is set, where a is stored with row stride lda and b with ldb, by the
// textbook loop.
func gemmSmall[T float](ta, tb bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, acc bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s T
			for l := 0; l < k; l++ {
				ai, bj := i*lda+l, l*ldb+j
				if ta {
					ai = l*lda + i
				}
				if tb {
					bj = j*ldb + l
				}
				s += a[ai] * b[bj]
			}
			if acc {
				s = c[i*n+j] + s
			}
			c[i*n+j] = s
		}
	}
}

func (p matMul) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	a, b := in[0], in[1]
	var ga, gb *Node
	if p.ta {
		ga = t.MatMul(b, g, p.tb, true)
	} else {
		ga = t.MatMul(g, b, false, !p.tb)
	}
	if p.tb {
		gb = t.MatMul(g, a, true, p.ta)
	} else {
		gb = t.MatMul(a, g, !p.ta, false)
	}
	return []*Node{t.SumTo(ga, a.Shape()), t.SumTo(gb, b.Shape())}
}

// MatMul returns op(a)·op(b) over the last two axes, where op transposes
// when ta (tb) is set; leading axes broadcast. Both operands have rank ≥ 2.
func (t *Tape) MatMul(a, b *Node, ta, tb bool) *Node {
	return t.apply(matMul{ta: ta, tb: tb}, a, b)
}

// matMulAdd is op(a)·op(b) + c, with c broadcast to the product's shape:
// a layer's product and bias in one pass over the output (the bias is
// copied in, the product added by gemm).
type matMulAdd struct{ mm matMul }

func (p matMulAdd) String() string { return fmt.Sprintf("MatMulAdd(%v,%v)", p.mm.ta, p.mm.tb) }

func (p matMulAdd) shape(in []tensor.Shape) (tensor.Shape, error) {
	s, err := p.mm.shape(in[:2])
	if err != nil {
		return nil, err
	}
	if bs, err := BroadcastShape(s, in[2]); err != nil || !sameShape(bs, s) {
		return nil, fmt.Errorf("addend of shape %v does not broadcast to the product's shape %v", in[2], s)
	}
	return s, nil
}

func (p matMulAdd) do(in []array) (array, error) { return doNew(p, in) }

func (p matMulAdd) doInto(out array, in []array) error {
	if err := (broadcastTo{to: out.shape}).doInto(out, in[2:]); err != nil {
		return err
	}
	return p.mm.gemmInto(out, in[0], in[1], true)
}

func (p matMulAdd) vjp(t *Tape, in []*Node, out, g *Node) []*Node {
	gs := p.mm.vjp(t, in[:2], out, g)
	return append(gs, t.SumTo(g, in[2].Shape()))
}

// MatMulAdd returns op(a)·op(b) + c as MatMul and Add would, with c
// broadcast to the product's shape (a bias row, a matrix): one prim, which
// writes the output once instead of twice.
func (t *Tape) MatMulAdd(a, b, c *Node, ta, tb bool) *Node {
	return t.apply(matMulAdd{matMul{ta: ta, tb: tb}}, a, b, c)
}
