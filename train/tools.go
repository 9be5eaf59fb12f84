package train

import (
	"cmp"
	"math"
	"slices"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
)

// checkTools reports the invalid settings of the training tools: the
// learning-rate schedule, clipping, the parameter average and the anchor.
func (o *Options) checkTools() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fielderr.Errorf(format, args...)) }
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch o.LRSchedule {
	case "", ScheduleConstant:
	case ScheduleCosine:
		if !(o.LRFinal >= 0 && o.LRFinal <= 1) {
			add("{LRFinal} %v: must be in [0, 1]", o.LRFinal)
		}
	case ScheduleStep:
		if o.LRStepEvery < 1 {
			add("{LRSchedule} step needs {LRStepEvery} of at least 1, not %d", o.LRStepEvery)
		}
		if !(o.LRGamma > 0 && o.LRGamma <= 1) {
			add("{LRGamma} %v: must be in (0, 1]", o.LRGamma)
		}
	default:
		add("{LRSchedule} %q: want constant, cosine or step", o.LRSchedule)
	}
	for _, p := range []struct {
		flag string
		v    int
	}{{"LRWarmup", o.LRWarmup}, {"LRDecaySteps", o.LRDecaySteps}, {"LRStepEvery", o.LRStepEvery}} {
		if p.v < 0 {
			add("{"+p.flag+"} %d: must not be negative", p.v)
		}
	}
	if !(o.ClipGradNorm >= 0) || !finite(o.ClipGradNorm) {
		add("{ClipGradNorm} %v: must be a finite non-negative number", o.ClipGradNorm)
	}
	if !(o.EMA >= 0 && o.EMA < 1) {
		add("{EMA} %v: must be in [0, 1)", o.EMA)
	}
	for _, f := range []struct {
		name   string
		sigmas []float64
	}{{"DiffusionSigmas", o.DiffusionSigmas}, {"LateSigmas", o.LateSigmas}} {
		for i, s := range f.sigmas {
			if !(s > 0) || !finite(s) || i > 0 && !(s > f.sigmas[i-1]) {
				add("{"+f.name+"} %v: want increasing positive numbers", f.sigmas)
				break
			}
		}
	}
	if o.LateFrom < 0 {
		add("{LateFrom} %d: must not be negative", o.LateFrom)
	}
	if !(o.AnnealFrom >= 0 && o.AnnealFrom < 1) {
		add("{AnnealFrom} %v: must be in [0, 1) (0: off)", o.AnnealFrom)
	}
	if o.AnnealFrom > 0 && o.AnnealSteps < 1 {
		add("{AnnealFrom} %v needs {AnnealSteps} of at least 1, not %d", o.AnnealFrom, o.AnnealSteps)
	}
	if o.AnnealSteps < 0 {
		add("{AnnealSteps} %d: must not be negative", o.AnnealSteps)
	}
	if !(o.EnergyAnchor >= 0) || !finite(o.EnergyAnchor) {
		add("{EnergyAnchor} %v: must be a finite non-negative number", o.EnergyAnchor)
	}
	errs = append(errs, o.checkImportance()...)
	return append(errs, o.checkNegatives()...)
}

// setWeights sets the loss weights the options give on the bounds of
// package bounds: λ_H is the Weight of the entropy bounds, λ_GP the Lambda
// and τ the Tau of the gradient penalties (the diffusion bound has a
// Lambda and no hinge). A weight a bound does not have is an error.
func setWeights(lower bounds.Lower, upper bounds.Upper, o Options) error {
	if v := o.LambdaH; v != nil {
		switch l := lower.(type) {
		case *bounds.JacobianEntropy:
			l.Weight = *v
		case *bounds.MutualInformationEntropy:
			l.Weight = *v
		default:
			return fielderr.Errorf("{LambdaH}: the lower bound %q has no weight λ_H", lower.Name())
		}
	}
	name := "none"
	if upper != nil {
		name = upper.Name()
	}
	if v := o.LambdaGP; v != nil {
		switch u := upper.(type) {
		case *bounds.GradientPenalty:
			u.Lambda = *v
		case *bounds.Diffusion:
			u.Lambda = *v
		default:
			return fielderr.Errorf("{LambdaGP}: the upper bound %q has no weight λ_GP", name)
		}
	}
	if o.LambdaGPDecay {
		u, ok := upper.(*bounds.GradientPenalty)
		if !ok || u.ZeroCentred {
			return fielderr.Errorf("{LambdaGPDecay}: the upper bound %q has no decaying λ_GP (only gp has)", name)
		}
		u.Decay = true
	}
	if v := o.Tau; v != nil {
		u, ok := upper.(*bounds.GradientPenalty)
		if !ok {
			return fielderr.Errorf("{Tau}: the upper bound %q has no hinge τ", name)
		}
		u.Tau = *v
	}
	return nil
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
		return fielderr.Errorf("{DiffusionSigmas}: the upper bound %q has no noise levels", name)
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
	o.clearUnusedNegatives()
	if o.ImportanceNegatives == 0 {
		o.importanceOff()
	}
	if o.ImportanceSteps == 0 {
		o.ImportanceStart = 0
	}
	if o.ImportanceData == 0 {
		o.ImportanceWidth = 0
	}
	if o.ImportanceBroad == 0 {
		o.ImportanceBroadWidth = 0
	}
	if len(o.LateSigmas) == 0 {
		o.LateFrom = 0
	}
	switch {
	case o.GeneratorMatch == 0:
		o.matchOff()
	default:
		o.GeneratorMatchKind = cmp.Or(o.GeneratorMatchKind, MatchNearest)
		o.GeneratorMatchTarget = cmp.Or(o.GeneratorMatchTarget, MatchModel)
	}
}

// matchOff turns the generator's match term off, with every option that
// only it uses.
func (o *Options) matchOff() {
	o.GeneratorMatch, o.GeneratorMatchFrom, o.GeneratorMatchSteps, o.GeneratorMatchKind, o.GeneratorMatchTarget = 0, 0, 0, "", ""
}

// importanceOff turns the importance-weighted negatives off, with every
// option that only they use.
func (o *Options) importanceOff() {
	o.ImportanceNegatives, o.ImportanceFrom, o.ImportanceSteps, o.ImportanceStart = 0, 0, 0, 0
	o.ImportanceBroad, o.ImportanceBroadWidth, o.ImportanceData, o.ImportanceWidth = 0, 0, 0, 0
}
