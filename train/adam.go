package train

import (
	"fmt"
	"math"
	"slices"
)

// Adam is the Adam optimizer over float64 parameters, computing what
// PyTorch's torch.optim.Adam computes (without weight decay or AMSGrad).
// For each parameter value p with gradient g, step t (counting from 1)
// updates the moments m and v (zero before the first step) and p as
//
//	m ← β1·m + (1 − β1)·g
//	v ← β2·v + (1 − β2)·g²
//	p ← p − (LR / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + Eps)
//
// The hyperparameters may be changed between steps (a learning rate
// schedule, say); the moments and the step count are kept per optimizer.
type Adam struct {
	LR, Beta1, Beta2, Eps float64

	step int
	m, v [][]float64
}

// NewAdam returns an Adam optimizer with learning rate lr and the paper's
// toy settings β1 = 0, β2 = 0.9, Eps = 1e-6. Its image experiments use
// β2 = 0.999.
func NewAdam(lr float64) *Adam {
	return &Adam{LR: lr, Beta1: 0, Beta2: 0.9, Eps: 1e-6}
}

// Step updates params in place, one step against grads. params and grads
// are lists of parameter tensors, flattened; grads[i] must have the length
// of params[i], and the lengths must be those of earlier steps and of a
// restored state. Step panics otherwise.
func (a *Adam) Step(params, grads [][]float64) {
	if len(params) != len(grads) {
		panic(fmt.Sprintf("train: Adam.Step: %d parameters and %d gradients", len(params), len(grads)))
	}
	if a.m == nil {
		a.m = make([][]float64, len(params))
		a.v = make([][]float64, len(params))
		for i, p := range params {
			a.m[i] = make([]float64, len(p))
			a.v[i] = make([]float64, len(p))
		}
	}
	if len(a.m) != len(params) {
		panic(fmt.Sprintf("train: Adam.Step: %d parameters, the optimizer state has %d", len(params), len(a.m)))
	}
	for i, p := range params {
		if len(grads[i]) != len(p) || len(a.m[i]) != len(p) {
			panic(fmt.Sprintf("train: Adam.Step: parameter %d has %d values, its gradient %d, the optimizer state %d",
				i, len(p), len(grads[i]), len(a.m[i])))
		}
	}
	a.step++
	t := float64(a.step)
	stepSize := a.LR / (1 - math.Pow(a.Beta1, t))
	bc2Sqrt := math.Sqrt(1 - math.Pow(a.Beta2, t))
	h := adamConsts{a.Beta1, 1 - a.Beta1, a.Beta2, 1 - a.Beta2, stepSize, bc2Sqrt, a.Eps}
	for i, p := range params {
		g, m, v := grads[i], a.m[i], a.v[i]
		for j := adamVector(p, g, m, v, &h); j < len(p); j++ {
			// float64(…) keeps every product rounded on its own, as
			// the vector kernel does, where a compiler may fuse them.
			m[j] = float64(m[j]*h.b1) + float64(h.c1*g[j])
			v[j] = float64(v[j]*h.b2) + float64(float64(h.c2*g[j])*g[j])
			p[j] -= float64(h.stepSize*m[j]) / (math.Sqrt(v[j])/h.bc2 + h.eps)
		}
	}
}

// adamConsts are the factors of one Adam step, in the order adamAVX2
// reads them: β1, 1 − β1, β2, 1 − β2, the step size LR/(1 − β1ᵗ),
// √(1 − β2ᵗ) and Eps.
type adamConsts struct{ b1, c1, b2, c2, stepSize, bc2, eps float64 }

// Steps returns the number of steps taken, counting those of a restored
// state.
func (a *Adam) Steps() int { return a.step }

// AdamState is the state of an Adam optimizer: its hyperparameters, step
// count and moments, M and V holding one slice per parameter (both nil
// before the first step).
type AdamState struct {
	Step                  int
	LR, Beta1, Beta2, Eps float64
	M, V                  [][]float64
}

// State returns a copy of a's state.
func (a *Adam) State() AdamState {
	return AdamState{
		Step: a.step,
		LR:   a.LR, Beta1: a.Beta1, Beta2: a.Beta2, Eps: a.Eps,
		M: cloneTensors(a.m), V: cloneTensors(a.v),
	}
}

// SetState restores a state returned by State, hyperparameters included, for
// the parameters params (only their lengths are used). It fails, leaving a
// as it was, if the state does not fit params or is not a state Adam can be
// in: a negative step count, moments without steps or with NaN or infinite
// values, a negative second moment.
func (a *Adam) SetState(s AdamState, params [][]float64) error {
	if s.Step < 0 {
		return fmt.Errorf("adam state: step %d", s.Step)
	}
	if s.M == nil && s.V == nil {
		if s.Step != 0 {
			return fmt.Errorf("adam state: step %d without moments", s.Step)
		}
	} else {
		if s.Step == 0 {
			return fmt.Errorf("adam state: moments before the first step")
		}
		if len(s.M) != len(params) || len(s.V) != len(params) {
			return fmt.Errorf("adam state: moments of %d and %d parameters, need %d", len(s.M), len(s.V), len(params))
		}
		for i, p := range params {
			if len(s.M[i]) != len(p) || len(s.V[i]) != len(p) {
				return fmt.Errorf("adam state: parameter %d: moments of %d and %d values, need %d",
					i, len(s.M[i]), len(s.V[i]), len(p))
			}
			for j := range p {
				m, v := s.M[i][j], s.V[i][j]
				if math.IsNaN(m) || math.IsInf(m, 0) || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					return fmt.Errorf("adam state: parameter %d, value %d: moments %g and %g", i, j, m, v)
				}
			}
		}
	}
	a.step = s.Step
	a.LR, a.Beta1, a.Beta2, a.Eps = s.LR, s.Beta1, s.Beta2, s.Eps
	a.m, a.v = cloneTensors(s.M), cloneTensors(s.V)
	return nil
}

func cloneTensors(x [][]float64) [][]float64 {
	if x == nil {
		return nil
	}
	y := make([][]float64, len(x))
	for i := range x {
		y[i] = slices.Clone(x[i])
		if y[i] == nil {
			y[i] = []float64{}
		}
	}
	return y
}
