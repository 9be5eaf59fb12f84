package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/ebmpipe/ebmpipe/bounds"
)

// annealed anneals the generator's target (Options.AnnealFrom,
// Options.AnnealSteps): at iteration t the entropy term of the generator's
// loss is divided by
//
//	β_t = β_0^(1 − t/T) for t < T, then 1,
//
// so that the generator minimises mean E(G(z)) − (λ_H/β_t)·H(q), which is
// (up to the factor 1/β_t that Adam's scaling removes) the reverse KL to
// the tempered law p_θ^β_t ∝ exp(−β_t·E). From a small β_0 the target is
// broad and the generator spreads over the data's range; as β_t rises to
// 1 its samples settle into the wells of the energy they are nearest to.
// Without it the reverse KL, which seeks one mode, keeps a generator that
// starts narrow (as a freshly initialised one does) in the one well it
// starts in: against the true 25gaussians energy, every lower bound and
// generator tried covered 1 of 25 modes (bench/generator.md).
//
// The bound's value, and so the metrics and the bracket, are unchanged:
// the annealing is a training weight only.
type annealed struct {
	inner bounds.Lower
	from  float64 // β_0 in (0, 1)
	steps int     // T ≥ 1
}

// withAnneal wraps l with the annealing from β_0 = from over steps
// iterations, or returns l if from is 0 (off).
func withAnneal(l bounds.Lower, from float64, steps int) bounds.Lower {
	if from == 0 {
		return l
	}
	return &annealed{inner: l, from: from, steps: steps}
}

func (a *annealed) Name() string { return a.inner.Name() }

// factor returns 1/β_t at iteration t (counting from 0).
func (a *annealed) factor(t int) float64 {
	if t >= a.steps {
		return 1
	}
	return math.Pow(a.from, -(1 - float64(t)/float64(a.steps)))
}

func (a *annealed) Entropy(n bounds.Nets, b bounds.Batch) (bounds.Estimate, error) {
	est, err := a.inner.Entropy(n, b)
	if err != nil {
		return est, err
	}
	if est.Loss == nil {
		return est, errors.New("annealing: the lower bound has no loss")
	}
	if est.Weight != nil {
		return est, fmt.Errorf("annealing: the lower bound %s already has a changing loss weight", a.inner.Name())
	}
	t := n.Tape
	est.Weight, est.WeightAt = t.Input("train.anneal_weight"), a.factor
	est.Loss = t.Mul(est.Weight, est.Loss)
	return est, t.Err()
}
