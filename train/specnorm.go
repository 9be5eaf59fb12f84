package train

import (
	"math"
	"slices"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Spectral normalisation (Miyato et al., 2018), which the paper's public
// code applies to its toy energy: a weight matrix W is used as W/σ(W),
// σ(W) its largest singular value, so that every layer but the last is
// 1-Lipschitz and only the output layer sets the energy's scale. In the
// graph σ = ⟨W, u vᵀ⟩ with u, v the top singular vectors of the current W
// held constant, as PyTorch's spectral_norm differentiates it. u and v are
// recomputed from W before every step by power iteration from a fixed
// start, so they are a function of W alone and resuming stays exact.

// snIterations is the number of power iterations per step.
const snIterations = 30

// snIndices returns the parameters of n that spectral normalisation
// divides: the trainable ones of rank ≥ 2 with no axis of size 1, seen as
// matrices of shape[0] rows. The output layer's weight (a row or column
// vector) is left free to set the scale.
func snIndices(n *network) []int {
	var out []int
	for _, i := range n.train {
		s := n.params[i].Shape
		if len(s) < 2 || onnx.ShapeSize(s) == 0 {
			continue
		}
		vector := false
		for _, d := range s {
			vector = vector || d == 1
		}
		if !vector {
			out = append(out, i)
		}
	}
	return out
}

// spectralVectors returns unit vectors u (rows) and v (cols) of the top
// singular pair of the rows × cols matrix w, row-major, and σ = uᵀ w v.
func spectralVectors(w []float64, rows int) (u, v []float64, sigma float64) {
	cols := len(w) / rows
	u, v = make([]float64, rows), make([]float64, cols)
	for j := range v {
		// A fixed start not orthogonal to the top singular vector in
		// practice: 1, −½, ⅓, … .
		v[j] = math.Pow(-1, float64(j)) / float64(j+1)
	}
	normalize(v)
	for range snIterations {
		rowDots(u, w, v)
		if normalize(u) == 0 {
			return u, v, 0
		}
		addRows(v, u, w)
		sigma = normalize(v)
	}
	return u, v, sigma
}

// rowDots sets u[i] to row i of the len(u) × len(v) matrix w (row-major)
// dotted with v. Four rows go at a time, for four independent sums; each
// row is summed in column order, as dot does, so the bits are dot's.
func rowDots(u, w, v []float64) {
	cols := len(v)
	i := 0
	for ; i+4 <= len(u); i += 4 {
		w0, w1 := w[i*cols : (i+1)*cols][:cols], w[(i+1)*cols : (i+2)*cols][:cols]
		w2, w3 := w[(i+2)*cols : (i+3)*cols][:cols], w[(i+3)*cols : (i+4)*cols][:cols]
		var s0, s1, s2, s3 float64
		for j, x := range v {
			s0 += w0[j] * x
			s1 += w1[j] * x
			s2 += w2[j] * x
			s3 += w3[j] * x
		}
		u[i], u[i+1], u[i+2], u[i+3] = s0, s1, s2, s3
	}
	for ; i < len(u); i++ {
		u[i] = dot(w[i*cols:(i+1)*cols], v)
	}
}

// addRows sets v to the sum of the rows of the len(u) × len(v) matrix w
// (row-major) weighted by u, adding row after row in order (the same bits
// as one pass per row), four rows per pass over v, four columns at a time
// on AVX2.
func addRows(v, u, w []float64) {
	cols := len(v)
	clear(v)
	i := 0
	for ; i+4 <= len(u); i += 4 {
		u4 := [4]float64{u[i], u[i+1], u[i+2], u[i+3]}
		w0, w1 := w[i*cols : (i+1)*cols][:cols], w[(i+1)*cols : (i+2)*cols][:cols]
		w2, w3 := w[(i+2)*cols : (i+3)*cols][:cols], w[(i+3)*cols : (i+4)*cols][:cols]
		for j := addRows4(v, w[i*cols:(i+4)*cols], cols, &u4); j < cols; j++ {
			// float64(…) keeps every product rounded on its own, as
			// the vector kernel does, where a compiler may fuse them.
			v[j] = v[j] + float64(u4[0]*w0[j]) + float64(u4[1]*w1[j]) + float64(u4[2]*w2[j]) + float64(u4[3]*w3[j])
		}
	}
	for ; i < len(u); i++ {
		ui := u[i]
		for j, x := range w[i*cols : (i+1)*cols] {
			v[j] += ui * x
		}
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, x := range a {
		s += x * b[i]
	}
	return s
}

// normalize scales x to unit length and returns its former length (x is
// left alone if that is 0).
func normalize(x []float64) float64 {
	n := math.Sqrt(dot(x, x))
	if n > 0 {
		for i := range x {
			x[i] /= n
		}
	}
	return n
}

// snWeight is one spectrally normalised weight in a program: the uv
// input, set to u vᵀ before each run.
type snWeight struct {
	index int
	rows  int
	uv    *autodiff.Node
}

// spectralNorm returns a copy of ps for Apply in which each weight of
// n.sn is W/⟨W, u vᵀ⟩, and the uv inputs to set before each run.
func spectralNorm(t *autodiff.Tape, n *network, ps *importers.ParamSet) (*importers.ParamSet, []snWeight) {
	var sw []snWeight
	for _, i := range n.sn {
		p := n.params[i]
		w := ps.Nodes[i]
		uv := t.Variable(n.name+"/"+p.Name+"#uv", autodiff.Zeros(t.Dtype(), p.Shape...))
		sigma := t.Sum(t.Mul(w, uv))
		ps = ps.With(i, t.Div(w, sigma))
		sw = append(sw, snWeight{index: i, rows: p.Shape[0], uv: uv})
	}
	return ps, sw
}

// set copies u vᵀ of the current value of the weight in n into the uv
// input.
func (s *snWeight) set(n *network) error {
	return autodiff.CopyIn(s.uv, n.snOuter(s.index, s.rows))
}

// An snEntry is u vᵀ of the spectrally normalised weight w, kept while the
// weight keeps that value.
type snEntry struct {
	w, uv []float64
}

// snOuter returns u vᵀ of the weight n.values[i] (rows × cols), running
// the power iteration once for each value the weight takes: both programs
// set it, and the energy's weights are the same in a generator update as
// in the next energy update. u and v are a function of the weight alone,
// so the result does not depend on what was computed before.
func (n *network) snOuter(i, rows int) []float64 {
	w := n.values[i]
	c := n.snCache[i]
	if c != nil && slices.Equal(c.w, w) {
		return c.uv
	}
	if c == nil {
		c = &snEntry{w: make([]float64, len(w)), uv: make([]float64, len(w))}
		if n.snCache == nil {
			n.snCache = map[int]*snEntry{}
		}
		n.snCache[i] = c
	}
	u, v, _ := spectralVectors(w, rows)
	for r, ur := range u {
		for j, vj := range v {
			c.uv[r*len(v)+j] = ur * vj
		}
	}
	copy(c.w, w)
	return c.uv
}

// snValues returns the values n computes with: the weights of n.sn
// divided by their largest singular value, the rest as they are.
func (n *network) snValues() [][]float64 {
	if len(n.sn) == 0 {
		return n.values
	}
	out := append([][]float64(nil), n.values...)
	for _, i := range n.sn {
		_, _, sigma := spectralVectors(n.values[i], n.params[i].Shape[0])
		w := make([]float64, len(n.values[i]))
		for k, x := range n.values[i] {
			w[k] = x / sigma
		}
		out[i] = w
	}
	return out
}
