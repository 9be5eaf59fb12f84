package train

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
)

// Stages of the energy step: the energy's update may change during a run,
// at Options.ImportanceFrom (importance-weighted negatives start) and at
// Options.LateFrom (the diffusion bound's noise levels become
// Options.LateSigmas). Each stage is its own program, built once, so a
// stage computes only what it uses: before ImportanceFrom the step does
// not compute the generator's log-density.

// A stage is the program of a step (energy or generator) used from
// iteration from on (from 0).
type stage struct {
	from int
	p    *program
}

// programAt returns the program of stages, in increasing order of start,
// at iteration step.
func programAt(stages []stage, step int) *program {
	p := stages[0].p
	for _, s := range stages[1:] {
		if step >= s.from {
			p = s.p
		}
	}
	return p
}

// stageStarts returns the iterations, increasing and from 0, at which the
// energy step of o changes.
func (o Options) stageStarts() []int {
	starts := []int{0}
	if o.ImportanceNegatives > 0 {
		starts = append(starts, o.ImportanceFrom)
	}
	if len(o.LateSigmas) > 0 {
		starts = append(starts, o.LateFrom)
	}
	slices.Sort(starts)
	return slices.Compact(starts)
}

// maxDataDrawFeatures is the most features for which the importance
// weights are taken on data draws. Kernel weights degenerate with the
// dimension: after 300 weighted iterations on a two-cluster Gaussian set
// their effective sample size was 29 % of the draws with 2 features,
// 4.6 % with 4, 2.1 % with 8, 1.4 % with 16 and 0.5 % with 64
// (bench/density.md §7).
const maxDataDrawFeatures = 2

// dropInapplicable turns off, with a notice, the energy step's tools the
// networks cannot use, so that a recipe that sets them runs on any pair.
// Importance weights on data draws need at most maxDataDrawFeatures
// features; beyond, they fall back to the generator's samples, which need
// latent and data dimensions equal and a generator without
// BatchNormalization (log q is the density of the map that draws the
// samples). Either way they give way to cooperative negatives. Late
// noise levels need the diffusion bound, and go with the importance
// weights when those are dropped, since sharp wells without them let the
// modes' weights run away (bench/density.md). It runs before the options
// are compared with a checkpoint's, so a resumed run drops the same.
func (tr *Trainer) dropInapplicable(notice func(string)) {
	o := &tr.o
	say := func(format string, a ...any) {
		if notice != nil {
			notice(fmt.Sprintf(format, a...))
		}
	}
	D, d := tr.data.Width, tr.gen.inWidth
	if o.ImportanceNegatives > 0 && o.ImportanceData > 0 && D > maxDataDrawFeatures {
		say("importance weights on data draws (--importance-data %v) off: the data have %d features, and beyond %d the kernel weights degenerate (bench/density.md §7); the weights are taken on the generator's samples, without broad draws", o.ImportanceData, D, maxDataDrawFeatures)
		o.ImportanceData, o.ImportanceWidth, o.ImportanceBroad, o.ImportanceBroadWidth = 0, 0, 0, 0
	}
	if o.GeneratorMatch > 0 && o.GeneratorMatchTarget != MatchData && D > maxDataDrawFeatures {
		say("the generator's match term (--generator-match %v) off: its target, weighted data draws, degenerates beyond %d features (bench/density.md §7)", o.GeneratorMatch, maxDataDrawFeatures)
		o.matchOff()
	}
	if o.ImportanceNegatives > 0 {
		why := ""
		switch {
		case D != d && o.ImportanceData == 0:
			why = fmt.Sprintf("latent and data dimensions differ (%d and %d)", d, D)
		case tr.gen.batchNorm() && o.ImportanceData == 0:
			why = "the generator has BatchNormalization"
		case o.NegativeLangevinSteps > 0:
			why = fmt.Sprintf("--negative-langevin-steps %d gives the negatives", o.NegativeLangevinSteps)
		}
		if why != "" {
			say("importance-weighted negatives (--importance-negatives %v) off: %s; the negative phase is mean E(G(z))", o.ImportanceNegatives, why)
			o.importanceOff()
			if len(o.LateSigmas) > 0 {
				say("late noise levels (--late-sigmas %s) off with them: sharp wells need the weights", commaList(o.LateSigmas))
				o.LateSigmas, o.LateFrom = nil, 0
			}
		}
	}
	switch {
	case len(o.LateSigmas) == 0:
	case tr.hooks.Upper != nil:
		say("late noise levels (--late-sigmas %s) off: they need the upper bound named in the options, not one given by Hooks", commaList(o.LateSigmas))
		o.LateSigmas, o.LateFrom = nil, 0
	case o.Upper != bounds.NewDiffusion().Name():
		say("late noise levels (--late-sigmas %s) off: the upper bound %q has none", commaList(o.LateSigmas), o.Upper)
		o.LateSigmas, o.LateFrom = nil, 0
	}
}

// windowHeal is how long after the weights start the energy takes to
// recover from a window of play, sharp noise levels before the weights
// (RecipeDefault's 5 000 to 10 000): on the toy sets it is far from the
// data at the window's end (−9 to −33 nats at 10 000 iterations), near its
// value at 20 000 iterations 5 000 iterations later on 25gaussians, but
// still 3.4 nats below it on rings then (bench/density.md §8b).
const windowHeal = 10000

// noteWindow says so when the run ends in a window of play or less than
// windowHeal iterations after the weights start, where its energy is far
// from the data.
func (tr *Trainer) noteWindow(notice func(string)) {
	o := tr.o
	if notice == nil || len(o.LateSigmas) == 0 || o.ImportanceNegatives == 0 || o.LateFrom >= o.ImportanceFrom {
		return
	}
	if end := o.ImportanceFrom + windowHeal; o.Steps > o.LateFrom && o.Steps < end {
		notice(fmt.Sprintf("--steps %d ends in the window of play or soon after it: sharp noise levels from iteration %d, weights only from %d, leave the energy far from the data until the weights have repaired it (bench/density.md §8b); train %d iterations or more, or at most %d", o.Steps, o.LateFrom, o.ImportanceFrom, end, o.LateFrom))
	}
}

// commaList writes x as a flag takes it: 0.005,0.01.
func commaList(x []float64) string {
	return strings.ReplaceAll(strings.Trim(fmt.Sprint(x), "[]"), " ", ",")
}

// buildEnergyStages builds the energy step of every stage of the run.
func (tr *Trainer) buildEnergyStages(dt autodiff.Dtype, dataDim, latentDim int) error {
	o := tr.o
	var mean, std []float64
	if o.ImportanceBroad > 0 || o.ImportanceData > 0 {
		mean, std = tr.data.Moments()
	}
	var err error
	tr.eStages, err = buildStages(o.stageStarts(), func(from int) (*program, error) {
		imp, upper := weighting{}, tr.upper
		if o.ImportanceNegatives > 0 && from >= o.ImportanceFrom {
			imp = weighting{alpha: o.ImportanceNegatives, alphaFrom: o.ImportanceFrom, alphaSteps: o.ImportanceSteps, alphaStart: o.ImportanceStart, broad: o.ImportanceBroad, broadWidth: o.ImportanceBroadWidth, data: o.ImportanceData, dataWidth: o.ImportanceWidth, mean: mean, std: std}
		}
		if len(o.LateSigmas) > 0 && from >= o.LateFrom {
			upper = tr.lateUpper
		}
		return buildProgram(true, o.NegativeLangevinSteps > 0, imp, tr.nets, tr.lower, upper, dt, o.BatchSize, dataDim, latentDim)
	})
	return err
}

// buildStages builds the program of each stage starting at starts
// (increasing, from 0) with build.
func buildStages(starts []int, build func(from int) (*program, error)) ([]stage, error) {
	stages := make([]stage, 0, len(starts))
	for _, from := range starts {
		p, err := build(from)
		if err != nil {
			if from > 0 {
				return nil, fmt.Errorf("from iteration %d: %w", from, err)
			}
			return nil, err
		}
		stages = append(stages, stage{from, p})
	}
	return stages, nil
}

// buildGeneratorStages builds the generator step of every stage of the
// run: one, or two with Options.GeneratorMatch, whose term starts at
// Options.GeneratorMatchFrom (match.go). The term's draws are those the
// energy's importance weights take (Options.ImportanceData, one per data
// row if unset, ImportanceWidth, ImportanceBroad, ImportanceBroadWidth),
// whether the weights are on or not.
func (tr *Trainer) buildGeneratorStages(dt autodiff.Dtype, dataDim, latentDim int) error {
	o := tr.o
	starts := []int{0}
	var mean, std []float64
	if o.GeneratorMatch > 0 {
		mean, std = tr.data.Moments()
		if o.GeneratorMatchFrom > 0 {
			starts = append(starts, o.GeneratorMatchFrom)
		}
	}
	var err error
	tr.gStages, err = buildStages(starts, func(from int) (*program, error) {
		imp := weighting{}
		if o.GeneratorMatch > 0 && from >= o.GeneratorMatchFrom {
			imp = weighting{match: o.GeneratorMatch, matchFrom: from, matchSteps: o.GeneratorMatchSteps, matchKind: o.GeneratorMatchKind, matchTarget: o.GeneratorMatchTarget, broad: o.ImportanceBroad, broadWidth: o.ImportanceBroadWidth, data: cmp.Or(o.ImportanceData, 1), dataWidth: o.ImportanceWidth, mean: mean, std: std}
		}
		return buildProgram(false, false, imp, tr.nets, tr.lower, tr.upper, dt, o.BatchSize, dataDim, latentDim)
	})
	return err
}

// energyProgram returns the energy step of iteration step.
func (tr *Trainer) energyProgram(step int) *program { return programAt(tr.eStages, step) }

// generatorProgram returns the generator step of iteration step.
func (tr *Trainer) generatorProgram(step int) *program { return programAt(tr.gStages, step) }

// programs returns every program of the run: the energy stages, then the
// generator's.
func (tr *Trainer) programs() []*program {
	ps := make([]*program, 0, len(tr.eStages)+len(tr.gStages))
	for _, s := range tr.eStages {
		ps = append(ps, s.p)
	}
	for _, s := range tr.gStages {
		ps = append(ps, s.p)
	}
	return ps
}

// loadLateUpper builds the upper bound of the late stage, the diffusion
// bound with Options.LateSigmas, if they are set: as loadBounds builds the
// run's, with the late levels.
func (tr *Trainer) loadLateUpper() error {
	o := tr.o
	if len(o.LateSigmas) == 0 {
		return nil
	}
	u, err := bounds.UpperByName(o.Upper)
	if err != nil {
		return fielderr.Errorf("{Upper}: %w", err)
	}
	ou := o
	ou.LambdaH = nil // set on the lower bound already
	if err := setWeights(nil, u, ou); err != nil {
		return err
	}
	tr.lateUpper, err = finishUpper(u, o, o.LateSigmas)
	return err
}

// finishUpper sets on the upper bound u, after its weights, the noise
// levels sigmas (if any), the log-Sobolev constant of o and its energy
// anchor, and returns it.
func finishUpper(u bounds.Upper, o Options, sigmas []float64) (bounds.Upper, error) {
	if err := setSigmas(u, sigmas); err != nil {
		return nil, err
	}
	if o.LSIConstant != nil {
		SetLSI(u, *o.LSIConstant)
	}
	return withAnchor(u, o.EnergyAnchor), nil
}
