package train

import (
	"fmt"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// anchored adds the energy-scale anchor of Options.EnergyAnchor to the
// energy's loss of an upper bound (or stands alone when there is none):
//
//	α · (mean E(data)² + mean E(G(z))²)
//
// The minimax loss mean E(data) − mean E(G(z)) does not change when the
// energy is shifted by a constant, and nothing else in it limits how far
// apart the two means move: the energy can steepen without end. The
// anchor holds both means near 0 (Du and Mordatch's regulariser of
// contrastive divergence), so that their difference stays below about
// 1/α; the density exp(−E)/Z does not depend on the shift it removes.
// The bound's value, and so the bracket, is unchanged: the anchor is a
// training term only, reported as the metric "anchor".
type anchored struct {
	inner  bounds.Upper // nil: no upper bound
	weight float64
}

// withAnchor wraps u with the anchor of weight α, or returns u if α is 0.
func withAnchor(u bounds.Upper, weight float64) bounds.Upper {
	if weight == 0 {
		return u
	}
	return &anchored{inner: u, weight: weight}
}

func (a *anchored) Name() string {
	if a.inner == nil {
		return "none"
	}
	return a.inner.Name()
}

func (a *anchored) KL(n bounds.Nets, b bounds.Batch) (bounds.Estimate, error) {
	var est bounds.Estimate
	if a.inner != nil {
		var err error
		if est, err = a.inner.KL(n, b); err != nil {
			return est, err
		}
	}
	t := n.Tape
	eData, err := n.Energy(b.Data)
	if err != nil {
		return est, fmt.Errorf("energy anchor: %w", err)
	}
	x, err := n.Generator(b.Z)
	if err != nil {
		return est, fmt.Errorf("energy anchor: %w", err)
	}
	eSamp, err := n.Energy(x)
	if err != nil {
		return est, fmt.Errorf("energy anchor: %w", err)
	}
	anchor := t.Add(t.Mean(t.Square(eData)), t.Mean(t.Square(eSamp)))
	term := t.Scale(anchor, a.weight)
	if est.Loss == nil {
		est.Loss = term
		est.Trains = []bounds.Role{bounds.Energy}
	} else {
		est.Loss = t.Add(est.Loss, term)
	}
	extra := map[string]*autodiff.Node{"anchor": anchor}
	for k, v := range est.Extra {
		extra[k] = v
	}
	est.Extra = extra
	return est, t.Err()
}
