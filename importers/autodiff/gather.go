package autodiff

import (
	"fmt"

	"gorgonia.org/tensor"
)

// gatherAxis and scatterAxis select along an axis by indices known only at
// run time (the second input, int64; negative indices count from the
// end), as ONNX Gather does with indices that come from a graph input
// (embedding lookups). Each is linear in its first input and the other's
// adjoint there; the indices get no gradient.
//
//	gatherAxis:  out[o, j..., i] = x[o, idx[j...], i]
//	scatterAxis: out[o, k, i]   = Σ_{j: idx[j] = k} g[o, j..., i]
type gatherAxis struct{ axis int }

func (p gatherAxis) String() string { return fmt.Sprintf("GatherAxis(%d)", p.axis) }

func (p gatherAxis) shape(in []tensor.Shape) (tensor.Shape, error) {
	x, idx := in[0], in[1]
	if p.axis < 0 || p.axis >= len(x) {
		return nil, fmt.Errorf("axis %d out of range for shape %v", p.axis, x)
	}
	out := append(tensor.Shape{}, x[:p.axis]...)
	out = append(out, idx...)
	return append(out, x[p.axis+1:]...), nil
}

// axisLayout returns the sizes of the axes before the gathered one, the
// gathered axis, the indices and the axes after.
func axisLayout(x []int, ax, nidx int) (outer, n, k, inner int) {
	return Size(x[:ax]), x[ax], nidx, Size(x[ax+1:])
}

// index returns idx's j-th entry as a position along an axis of size n.
func index(idx array, j, n int) (int, error) {
	v := int(idx.i64[j])
	if v < -n || v >= n {
		return 0, fmt.Errorf("index %d out of range for an axis of size %d", v, n)
	}
	if v < 0 {
		v += n
	}
	return v, nil
}

func (p gatherAxis) do(in []array) (array, error) {
	x, idx := in[0], in[1]
	if idx.i64 == nil {
		return array{}, fmt.Errorf("indices of type %v, want int64", idx.dtype())
	}
	s, err := p.shape([]tensor.Shape{x.shape, idx.shape})
	if err != nil {
		return array{}, err
	}
	out := x.like(s)
	outer, n, k, inner := axisLayout(x.shape, p.axis, idx.len())
	for o := 0; o < outer; o++ {
		for j := 0; j < k; j++ {
			v, err := index(idx, j, n)
			if err != nil {
				return array{}, err
			}
			dst, src := (o*k+j)*inner, (o*n+v)*inner
			switch {
			case x.isF32():
				copy(out.f32[dst:dst+inner], x.f32[src:src+inner])
			case x.i64 != nil:
				copy(out.i64[dst:dst+inner], x.i64[src:src+inner])
			default:
				copy(out.f64[dst:dst+inner], x.f64[src:src+inner])
			}
		}
	}
	return out, nil
}

func (p gatherAxis) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	return []*Node{t.apply(scatterAxis{axis: p.axis, n: in[0].Shape()[p.axis]}, g, in[1]), nil}
}

type scatterAxis struct{ axis, n int }

func (p scatterAxis) String() string { return fmt.Sprintf("ScatterAxis(%d,%d)", p.axis, p.n) }

func (p scatterAxis) shape(in []tensor.Shape) (tensor.Shape, error) {
	g, idx := in[0], in[1]
	if p.axis < 0 || p.axis+len(idx) > len(g) {
		return nil, fmt.Errorf("axis %d and indices %v for shape %v", p.axis, idx, g)
	}
	out := append(tensor.Shape{}, g[:p.axis]...)
	out = append(out, p.n)
	return append(out, g[p.axis+len(idx):]...), nil
}

func (p scatterAxis) do(in []array) (array, error) {
	g, idx := in[0], in[1]
	if idx.i64 == nil {
		return array{}, fmt.Errorf("indices of type %v, want int64", idx.dtype())
	}
	s, err := p.shape([]tensor.Shape{g.shape, idx.shape})
	if err != nil {
		return array{}, err
	}
	out := g.like(s)
	outer, n, k, inner := axisLayout(s, p.axis, idx.len())
	for o := 0; o < outer; o++ {
		for j := 0; j < k; j++ {
			v, err := index(idx, j, n)
			if err != nil {
				return array{}, err
			}
			src, dst := (o*k+j)*inner, (o*n+v)*inner
			if g.isF32() {
				addTo(out.f32[dst:dst+inner], g.f32[src:src+inner])
			} else {
				addTo(out.f64[dst:dst+inner], g.f64[src:src+inner])
			}
		}
	}
	return out, nil
}

func addTo[T float](dst, src []T) {
	for i, v := range src {
		dst[i] += v
	}
}

func (p scatterAxis) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	return []*Node{t.apply(gatherAxis{axis: p.axis}, g, in[1]), nil}
}
