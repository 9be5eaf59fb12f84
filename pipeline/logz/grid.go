package logz

import (
	"errors"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"math"
)

// gridBounds returns the integration box.
func (e *estimator) gridBounds() ([][2]float64, error) {
	b := make([][2]float64, e.d)
	switch {
	case len(e.o.Bounds) == 2:
		for j := range b {
			b[j] = [2]float64{e.o.Bounds[0], e.o.Bounds[1]}
		}
		return b, nil
	case len(e.o.Bounds) == 2*e.d:
		for j := range b {
			b[j] = [2]float64{e.o.Bounds[2*j], e.o.Bounds[2*j+1]}
		}
		return b, nil
	case len(e.o.Bounds) > 0:
		return nil, fielderr.Errorf("{Bounds} %s: want one LO,HI pair for every axis or %d pairs, one per axis", FormatFloats(e.o.Bounds), e.d)
	}
	if err := e.reference("setting the grid bounds without {Bounds}"); err != nil {
		return nil, err
	}
	for j := range b {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := j; i < len(e.ref); i += e.d {
			lo, hi = min(lo, e.ref[i]), max(hi, e.ref[i])
		}
		r := hi - lo
		if !(r > 0) {
			return nil, fielderr.Errorf("the reference rows (%s) have no spread on axis %d (all %g); give {Bounds}", e.sourceNames(), j, lo)
		}
		b[j] = [2]float64{lo - e.o.Margin*r, hi + e.o.Margin*r}
	}
	return b, nil
}

// grid integrates exp(−E) on a grid over a 1-D or 2-D box.
func (e *estimator) grid() (Result, error) {
	if e.d > 2 {
		return Result{}, fielderr.Errorf("grid integration handles inputs of 1 or 2 values; this model takes %d (use {Method} importance)", e.d)
	}
	bounds, err := e.gridBounds()
	if err != nil {
		return Result{}, err
	}
	k := e.o.GridSize
	if k == 0 {
		k = DefaultGrid1D
		if e.d == 2 {
			k = DefaultGrid2D
		}
	}
	n := k + 1 // nodes per axis
	total := n
	if e.d == 2 {
		total = n * n
	}
	if k > maxGridPoints || total > maxGridPoints {
		return Result{}, fielderr.Errorf("{GridSize} %d: over %d points; use a smaller grid", e.o.GridSize, maxGridPoints)
	}
	h := make([]float64, e.d)
	for j, b := range bounds {
		h[j] = (b[1] - b[0]) / float64(k)
	}
	coord := func(j, i int) float64 {
		if i == k {
			return bounds[j][1]
		}
		return bounds[j][0] + float64(i)*h[j]
	}
	en := make([]float64, total)
	err = e.energies(total, func(x []float64, first, rows int) {
		for r := range rows {
			p := first + r
			if e.d == 1 {
				x[r] = coord(0, p)
			} else {
				x[2*r], x[2*r+1] = coord(0, p/n), coord(1, p%n)
			}
		}
	}, func(first int, v []float64) { copy(en[first:], v) })
	if err != nil {
		return Result{}, err
	}

	g := &gridNodes{d: e.d, k: k, n: n, bounds: bounds, h: h, en: en}
	fine, coarse := g.trapezoid(1), g.trapezoid(2)
	if math.IsInf(fine, -1) {
		return Result{}, errors.New("exp(−E) underflows to 0 on the whole grid: the energy is over 700 everywhere in the box")
	}
	if math.IsInf(fine, 1) {
		return Result{}, errors.New("exp(−E) overflows on the grid")
	}
	res := Result{
		Value:      fine,
		Method:     Grid,
		Evals:      total,
		Bounds:     bounds,
		GridSize:   k,
		Richardson: math.Abs(fine-coarse) / 3,
	}

	var rising bool
	res.Truncation, rising = g.truncation(fine)
	res.StdErr = res.Richardson + math.Log1p(res.Truncation)
	if res.Truncation > truncationNote {
		res.Notes = append(res.Notes, fielderr.Notef("the mass outside the box %s is an estimated %.2g of that inside; widen it with {Bounds} or {Margin}", FormatBox(bounds), res.Truncation))
	}
	if rising {
		res.Notes = append(res.Notes, "the density does not fall off at the edge of the box: the energy may not be normalisable, or the box is too small")
	}
	if res.Richardson > 0.01 {
		res.Notes = append(res.Notes, fielderr.Notef("grid K=%d and K=%d differ by %.2g in log Z; use a larger {GridSize}", k, k/2, 3*res.Richardson))
	}
	return res, nil
}

// gridNodes holds the energies en at the nodes of a grid of k intervals
// (n = k+1 nodes) per axis over bounds, of spacing h, for 1 or 2 axes (d).
type gridNodes struct {
	d, k, n int
	bounds  [][2]float64
	h       []float64
	en      []float64
}

// logW returns the log of the trapezoid weight of index i for the rule of
// step step.
func (g *gridNodes) logW(i, step int) float64 {
	if i == 0 || i == g.k {
		return math.Log(0.5 * float64(step))
	}
	return math.Log(float64(step))
}

// trapezoid returns log ∫ exp(−E) by the trapezoid rule with step `step`
// (1 for the full grid, 2 for the coarse one) on the nodes whose indices
// are multiples of step.
func (g *gridNodes) trapezoid(step int) float64 {
	logVol := 0.0
	for _, hj := range g.h {
		logVol += math.Log(hj)
	}
	n, en := g.n, g.en
	var acc LogSumExp
	if g.d == 1 {
		for i := 0; i < n; i += step {
			acc.Add(-en[i] + g.logW(i, step))
		}
	} else {
		for i := 0; i < n; i += step {
			for j := 0; j < n; j += step {
				acc.Add(-en[i*n+j] + g.logW(i, step) + g.logW(j, step))
			}
		}
	}
	return acc.Value() + logVol
}

// truncation returns the estimated mass beyond the box over the mass
// fine inside it (as a log), and whether the density rises or stays flat
// at a face with mass enough to matter.
//
// Mass beyond each face: for a face node of energy E₀ whose inward
// neighbour has energy E₁, a tail exp(−E₀ − s·t) with slope
// s = (E₀ − E₁)/h continued outward holds exp(−E₀)/s per unit of face.
// A slope under 1/width (flat or rising density) counts as 1/width: as
// if the density went on for another box width, and the result says so.
func (g *gridNodes) truncation(fine float64) (float64, bool) {
	var tail LogSumExp
	rising := false
	n, en, h := g.n, g.en, g.h
	face := func(a, i0, i1 int) { // axis a, face index i0, inward neighbour i1
		s := 1 / (g.bounds[a][1] - g.bounds[a][0])
		other := 1 - a
		m := 1
		if g.d == 2 {
			m = n
		}
		for t := 0; t < m; t++ {
			idx := func(i int) int {
				if g.d == 1 {
					return i
				}
				if a == 0 {
					return i*n + t
				}
				return t*n + i
			}
			e0, e1 := en[idx(i0)], en[idx(i1)]
			slope := (e0 - e1) / h[a]
			lw := -e0
			if g.d == 2 {
				lw += g.logW(t, 1) + math.Log(h[other])
			}
			if !(slope > s) {
				if lw-fine > math.Log(truncationNote) {
					rising = true
				}
				slope = s
			}
			tail.Add(lw - math.Log(slope))
		}
	}
	for a := range g.d {
		face(a, 0, 1)
		face(a, g.k, g.k-1)
	}
	return math.Exp(tail.Value() - fine), rising
}
