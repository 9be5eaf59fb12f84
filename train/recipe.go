package train

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/ebmpipe/ebmpipe/bounds"
)

// Named recipes (Options.ApplyRecipe).
const (
	// RecipeDefault is the recipe of DefaultOptions: the Jacobian and
	// diffusion bounds, Adam at 3e-3 with a 200-iteration warm-up and a
	// cosine decay to 5 % over a fixed 20 000 iterations (a longer run
	// goes on at 5 %), a moving average of the parameters (decay 0.999)
	// evaluated and exported, and two late stages. From iteration 5 000
	// the diffusion bound's noise levels drop from 0.01–0.1 to
	// 0.005–0.02, which steepens the walls between modes, and the
	// generator's loss gains the nearest-sample match term (β = 30,
	// match.go) towards the importance-weighted draws of p_θ. From
	// iteration 10 000 the energy's negatives are importance-weighted
	// (α = 1) on draws around the data rows and from a Gaussian eight
	// times as wide as the data (one and a quarter batches), which sets
	// the modes' weights whatever the generator covers and keeps the
	// energy from falling far from the data (bench/density.md §7).
	// Between 5 000 and 10 000 the negatives are the generator's samples
	// against sharp wells: an adversarial window in which the generator
	// spreads over the wells, and in which the energy is far from the
	// data (−32 nats on 25gaussians and rings at 10 000 iterations; the
	// weights heal it by 20 000, bench/density.md §8b): stop a default
	// run at 20 000 iterations or more, or before 5 000. Its first 5 000
	// iterations are the recipe before the late stages (rows d-lr3e3-w200
	// of bench/study-results.csv). Rows la5i10 have it on every toy set.
	// RecipePaper scores −19.2 on 25gaussians (seed 1, bench/drift.md).
	RecipeDefault = "default"
	// RecipePaper is the paper's toy recipe, as its public code runs it:
	// the Jacobian and gradient-penalty bounds at the bounds' own weights
	// (λ_GP = 1e-3, τ = 1), Adam at 2e-4 with a constant rate, no average.
	// Its energy drifts on long runs (bench/drift.md).
	RecipePaper = "paper"
	// RecipeModes is RecipeDefault with the diffusion bound's noise levels
	// at 0.005 to 0.02 from the start, no late stage, and
	// importance-weighted negatives (α = ½) from iteration 10 000: the
	// density study's recipe for 25gaussians (bench/density.md), where it
	// scores +1.53, +1.48 and +1.64 after 20 000 iterations (seeds 1, 2,
	// 3; truth +2.02) with the generator on 25, 25 and 24 of the 25 modes
	// and 78–88 % high-quality samples, sharper than the default's. It is
	// experimental, not a default: on 8gaussians its mode weights run away
	// once the weighted negatives start (−0.27 at 10 000 iterations, −415
	// at 20 000), pinwheel ends at −9.0, and its first 10 000 iterations
	// are poor everywhere (−2 to −56 nats on 25gaussians).
	RecipeModes = "modes"
)

// A recipe is the loss and optimisation settings a named recipe sets.
// Every recipe sets all of these fields, so that applying one undoes any
// other; the rest of Options (data, networks, run length, output) is not
// part of a recipe.
type recipe struct {
	name         string
	lower, upper string
	lrEnergy     float64
	lrGenerator  float64
	beta2        float64
	lrSchedule   string
	lrWarmup     int
	lrDecaySteps int
	lrFinal      float64
	ema          float64
	// sigmas, importance, importanceFrom, lateSigmas and lateFrom:
	// Options.DiffusionSigmas, ImportanceNegatives, ImportanceFrom,
	// LateSigmas and LateFrom (nil and 0: the bound's own levels
	// throughout, plain negatives).
	sigmas         []float64
	importance     float64
	importanceFrom int
	lateSigmas     []float64
	lateFrom       int
	// data, broad and broadWidth: Options.ImportanceData,
	// ImportanceBroad and ImportanceBroadWidth (0: none, none, 2).
	data, broad, broadWidth float64
	// match and matchFrom: Options.GeneratorMatch and
	// GeneratorMatchFrom (0: none), the nearest-sample distance.
	match     float64
	matchFrom int
}

var recipes = func() []recipe {
	def := recipe{
		name:  RecipeDefault,
		lower: bounds.NewJacobianEntropy(false).Name(), upper: bounds.NewDiffusion().Name(),
		lrEnergy: 3e-3, lrGenerator: 3e-3, beta2: 0.9,
		lrSchedule: ScheduleCosine, lrWarmup: 200, lrDecaySteps: 20000, lrFinal: 0.05,
		ema:        0.999,
		importance: 1, importanceFrom: 10000,
		lateSigmas: []float64{0.005, 0.01, 0.015, 0.02}, lateFrom: 5000,
		data: 1, broad: 0.25, broadWidth: 8,
		match: 30, matchFrom: 5000,
	}
	paper := recipe{
		name:  RecipePaper,
		lower: bounds.NewJacobianEntropy(false).Name(), upper: bounds.NewGradientPenalty(false).Name(),
		lrEnergy: 2e-4, lrGenerator: 2e-4, beta2: 0.9,
		lrSchedule: ScheduleConstant,
	}
	modes := def
	modes.name = RecipeModes
	modes.sigmas, modes.importance, modes.importanceFrom = []float64{0.005, 0.01, 0.015, 0.02}, 0.5, 10000
	modes.lateSigmas, modes.lateFrom = nil, 0
	modes.data, modes.broad, modes.broadWidth = 0, 0, 0
	modes.match, modes.matchFrom = 0, 0
	return []recipe{def, paper, modes}
}()

// Recipes returns the names of the recipes ApplyRecipe knows, the
// default first.
func Recipes() []string {
	names := make([]string, len(recipes))
	for i, r := range recipes {
		names[i] = r.name
	}
	return names
}

// ApplyRecipe sets the options of the named recipe (RecipeDefault,
// RecipePaper or RecipeModes): the bounds (Lower, Upper; LambdaH, LambdaGP and Tau unset,
// so that each bound takes its own weights; LambdaGPDecay off), Adam's
// rates and β2, the learning-rate schedule (LRSchedule, LRWarmup,
// LRDecaySteps, LRFinal), the parameter average (EMA), the diffusion
// bound's noise levels (DiffusionSigmas, LateSigmas, LateFrom) and the
// negative phase (ImportanceNegatives, ImportanceFrom, ImportanceData,
// ImportanceWidth, ImportanceBroad, ImportanceBroadWidth, ImportanceSteps,
// ImportanceStart) and the generator's match term (GeneratorMatch,
// GeneratorMatchFrom, GeneratorMatchSteps, GeneratorMatchKind,
// GeneratorMatchTarget). Other options
// are kept. An unknown name is an error naming it and the recipes.
func (o *Options) ApplyRecipe(name string) error {
	for _, r := range recipes {
		if r.name == name {
			r.apply(o)
			return nil
		}
	}
	return fmt.Errorf("unknown recipe %q: want %s", name, oneOf(Recipes()))
}

// apply sets the options of r.
func (r recipe) apply(o *Options) {
	o.Lower, o.Upper = r.lower, r.upper
	o.LambdaH, o.LambdaGP, o.Tau, o.LambdaGPDecay = nil, nil, nil, false
	o.LREnergy, o.LRGenerator, o.Beta2 = r.lrEnergy, r.lrGenerator, r.beta2
	o.LRSchedule, o.LRWarmup, o.LRDecaySteps, o.LRFinal = r.lrSchedule, r.lrWarmup, r.lrDecaySteps, r.lrFinal
	o.EMA = r.ema
	o.DiffusionSigmas = slices.Clone(r.sigmas)
	o.ImportanceNegatives, o.ImportanceFrom = r.importance, r.importanceFrom
	o.LateSigmas, o.LateFrom = slices.Clone(r.lateSigmas), r.lateFrom
	o.ImportanceData, o.ImportanceWidth = r.data, 0
	o.ImportanceBroad, o.ImportanceBroadWidth = r.broad, r.broadWidth
	o.ImportanceSteps, o.ImportanceStart = 0, 0
	o.GeneratorMatch, o.GeneratorMatchFrom, o.GeneratorMatchSteps = r.match, r.matchFrom, 0
	o.GeneratorMatchKind, o.GeneratorMatchTarget = "", ""
	if r.match > 0 {
		o.GeneratorMatchKind = MatchNearest
	}
}

// recipeHint names the recipe, if any, that o's identity matches that of
// a checkpoint, got, once applied, for the message of a resume that fails
// on options: a run made at the paper's settings (the defaults before
// RecipeDefault) resumes with RecipePaper. Options where o differs from
// its own settings under RecipeDefault count as given explicitly and
// are kept, as a command line's flags are over a recipe.
func (o Options) recipeHint(got string) string {
	asMap := func(v Options) map[string]any {
		var m map[string]any
		_ = json.Unmarshal([]byte(v.identity()), &m) // identity is valid JSON
		return m
	}
	var g map[string]any
	if json.Unmarshal([]byte(got), &g) != nil {
		return ""
	}
	def := o
	recipes[0].apply(&def)
	w, d := asMap(o), asMap(def)
	for _, r := range recipes {
		v := o
		r.apply(&v)
		m := asMap(v)
		for _, kw := range []map[string]any{w, d} {
			for k := range kw {
				if x, ok := w[k]; !ok && d[k] != nil {
					delete(m, k) // omitted: zero
				} else if !reflect.DeepEqual(x, d[k]) {
					m[k] = x
				}
			}
		}
		if reflect.DeepEqual(m, g) {
			return fmt.Sprintf("; the checkpoint's are those of recipe %q", r.name)
		}
	}
	return ""
}
