package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/ebmpipe/ebmpipe/bounds"
)

// checkTools reports the invalid settings of the training tools: the
// learning-rate schedule, clipping, the parameter average and the anchor.
func (o *Options) checkTools() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch o.LRSchedule {
	case "", ScheduleConstant:
	case ScheduleCosine:
		if !(o.LRFinal >= 0 && o.LRFinal <= 1) {
			add("--lr-final %v: must be in [0, 1]", o.LRFinal)
		}
	case ScheduleStep:
		if o.LRStepEvery < 1 {
			add("--lr-schedule step needs --lr-step-every of at least 1, not %d", o.LRStepEvery)
		}
		if !(o.LRGamma > 0 && o.LRGamma <= 1) {
			add("--lr-gamma %v: must be in (0, 1]", o.LRGamma)
		}
	default:
		add("--lr-schedule %q: want constant, cosine or step", o.LRSchedule)
	}
	for _, p := range []struct {
		flag string
		v    int
	}{{"lr-warmup", o.LRWarmup}, {"lr-decay-steps", o.LRDecaySteps}, {"lr-step-every", o.LRStepEvery}} {
		if p.v < 0 {
			add("--%s %d: must not be negative", p.flag, p.v)
		}
	}
	if !(o.ClipGradNorm >= 0) || !finite(o.ClipGradNorm) {
		add("--clip-grad-norm %v: must be a finite non-negative number", o.ClipGradNorm)
	}
	if !(o.EMA >= 0 && o.EMA < 1) {
		add("--ema %v: must be in [0, 1)", o.EMA)
	}
	for i, s := range o.DiffusionSigmas {
		if !(s > 0) || !finite(s) || i > 0 && !(s > o.DiffusionSigmas[i-1]) {
			add("--diffusion-sigmas %v: want increasing positive numbers", o.DiffusionSigmas)
			break
		}
	}
	if !(o.EnergyAnchor >= 0) || !finite(o.EnergyAnchor) {
		add("--energy-anchor %v: must be a finite non-negative number", o.EnergyAnchor)
	}
	return errs
}

// setSigmas sets the noise levels of the diffusion bound, if sigmas are
// given; other bounds have none.
func setSigmas(upper bounds.Upper, sigmas []float64) error {
	if len(sigmas) == 0 {
		return nil
	}
	d, ok := upper.(*bounds.Diffusion)
	if !ok {
		name := "none"
		if upper != nil {
			name = upper.Name()
		}
		return fmt.Errorf("--diffusion-sigmas: the upper bound %q has no noise levels", name)
	}
	d.Sigmas = slices.Clone(sigmas)
	return nil
}

// clearUnusedTools zeroes the tool settings that have no effect (the
// parameters of schedules not chosen), so that a checkpoint's options
// compare equal whatever they were, and runs made before the tools
// existed resume.
func (o *Options) clearUnusedTools() {
	if o.LRSchedule == ScheduleConstant {
		o.LRSchedule = ""
	}
	if o.LRSchedule != ScheduleCosine {
		o.LRDecaySteps, o.LRFinal = 0, 0
	}
	if o.LRSchedule != ScheduleStep {
		o.LRStepEvery, o.LRGamma = 0, 0
	}
}
