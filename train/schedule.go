package train

import (
	"math"
)

// Learning-rate schedules (Options.LRSchedule).
const (
	ScheduleConstant = "constant"
	ScheduleCosine   = "cosine"
	ScheduleStep     = "step"
)

// lrFactor is the factor of the base learning rates at iteration t
// (counting from 0) under the schedule of o:
//
//	constant: 1
//	cosine:   f + (1 − f)·½(1 + cos(π·min(t, T)/T)),  f = LRFinal, T = LRDecaySteps (or Steps)
//	step:     LRGamma^⌊t / LRStepEvery⌋
//
// times, for t < LRWarmup, the linear warm-up (t + 1)/LRWarmup.
func (o *Options) lrFactor(t int) float64 {
	f := 1.0
	switch o.LRSchedule {
	case ScheduleCosine:
		T := o.LRDecaySteps
		if T == 0 {
			T = o.Steps
		}
		u := math.Min(float64(t), float64(T)) / float64(T)
		f = o.LRFinal + (1-o.LRFinal)*0.5*(1+math.Cos(math.Pi*u))
	case ScheduleStep:
		f = math.Pow(o.LRGamma, float64(t/o.LRStepEvery))
	}
	if t < o.LRWarmup {
		f *= float64(t+1) / float64(o.LRWarmup)
	}
	return f
}

// scheduleLR sets every optimizer's learning rate for iteration t.
func (tr *Trainer) scheduleLR(t int) {
	f := tr.o.lrFactor(t)
	for _, n := range tr.nets {
		base := tr.o.LRGenerator
		if n == tr.energy {
			base = tr.o.LREnergy
		}
		n.opt.LR = base * f
	}
}

// clipGradNorm scales grads in place so that their joint Euclidean norm
// is at most max (max 0: no clipping), and returns the norm before.
func clipGradNorm(grads [][]float64, max float64) float64 {
	s := 0.0
	for _, g := range grads {
		for _, x := range g {
			s += x * x
		}
	}
	norm := math.Sqrt(s)
	if max > 0 && norm > max {
		c := max / norm
		for _, g := range grads {
			for j := range g {
				g[j] *= c
			}
		}
	}
	return norm
}
