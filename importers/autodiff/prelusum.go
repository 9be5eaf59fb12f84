package autodiff

import (
	"fmt"

	"gorgonia.org/tensor"
)

// preluSum is preluProd summed to PReLU's slope when the slope is a single
// value (its gradient): the products are made a few rows at a time into a
// small buffer and summed there, in sumLoop's order, instead of one pass
// writing all of them and another summing them. The bits are those of
// SumTo(preluProd(…)).
type preluSum struct {
	preluProd
	to tensor.Shape // the slope's shape, of one element
}

func (p preluSum) String() string { return fmt.Sprintf("SPRelu(%d,%d)%v", p.dx, p.db, []int(p.to)) }

func (p preluSum) shape(in []tensor.Shape) (tensor.Shape, error) {
	if _, err := p.preluProd.shape(in); err != nil {
		return nil, err
	}
	if Size(p.to) != 1 {
		return nil, fmt.Errorf("sum to shape %v: want one element", p.to)
	}
	return p.to.Clone(), nil
}

// vjp is preluProd's with h broadcast to the products' shape.
func (p preluSum) vjp(t *Tape, in []*Node, _, h *Node) []*Node {
	return p.preluProd.vjp(t, in, nil, t.BroadcastTo(h, in[2].Shape()))
}

func (p preluSum) do(in []array) (array, error) { return doNew(p, in) }

func (p preluSum) doInto(out array, in []array) error {
	a, b, gs := in[0], in[1], in[2:]
	full := gs[0]
	n := 1
	if r := len(full.shape); r > 0 {
		n = full.shape[r-1]
	}
	if lb, ok := slopeStride(full, a, b); ok && len(gs) <= 2 && n > 0 && n <= sumBlock/4 {
		if out.isF32() {
			out.f32[0] = preluSumRows[float32, uint32](p.preluProd, a.f32, b.f32, lb, floatsOf[float32](gs), n)
		} else {
			out.f64[0] = preluSumRows[float64, uint64](p.preluProd, a.f64, b.f64, lb, floatsOf[float64](gs), n)
		}
		return nil
	}
	prod := full.like(full.shape)
	if err := p.preluProd.doInto(prod, in); err != nil {
		return err
	}
	return sumTo{to: p.to}.doInto(out, []array{prod})
}

// sumBlock is the number of products preluSumRows buffers at a time.
const sumBlock = 2048

// preluSumRows returns the sum of preluProdInto's products over a, rows
// of n values: made a block of rows (a multiple of four) at a time into a
// buffer and summed by sumRows, each row in order and the rows' sums in
// row order, as sumLoop sums the written products.
func preluSumRows[T float32 | float64, U uint32 | uint64](p preluProd, a, b []T, lb int, gs [][]T, n int) T {
	var buf [sumBlock]T
	step := sumBlock / n / 4 * 4 * n
	var acc T
	sub := make([][]T, len(gs))
	for i := 0; i < len(a); i += step {
		end := min(len(a), i+step)
		for k, g := range gs {
			sub[k] = g[i:end]
		}
		bl := b
		if lb == 1 {
			bl = b[i:end]
		}
		preluProdInto[T, U](p, buf[:end-i], a[i:end], bl, lb, sub)
		acc = sumRows(acc, buf[:end-i], n)
	}
	return acc
}

// preluGrad returns the gradient preluProd(dx, db, a, b, gs…) summed to
// shape: fused (preluSum) when shape has one element and the products are
// as large as a.
func (t *Tape) preluGrad(dx, db int, a, b *Node, shape []int, gs ...*Node) *Node {
	if Size(shape) == 1 && len(gs) > 0 && gs[0] != nil && Size(gs[0].Shape()) > 1 && sameShape(a.Shape(), gs[0].Shape()) {
		return t.apply(preluSum{preluProd: preluProd{dx: dx, db: db}, to: tensor.Shape(shape).Clone()}, append([]*Node{a, b}, gs...)...)
	}
	return t.SumTo(t.preluProd(dx, db, a, b, gs...), shape)
}
