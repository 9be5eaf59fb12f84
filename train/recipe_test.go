package train

import (
	"reflect"
	"strings"
	"testing"
)

// TestDefaultOptionsRecipe checks that DefaultOptions are the recipe
// named "default", that applying a recipe undoes another, and that the
// paper recipe holds the paper's toy settings (paper notes: jacobian/gp,
// the gp bound's own λ_GP and τ, Adam at 2e-4 with β2 = 0.9, no average,
// a constant rate).
func TestDefaultOptionsRecipe(t *testing.T) {
	if got := Recipes(); !reflect.DeepEqual(got, []string{RecipeDefault, RecipePaper, RecipeModes}) {
		t.Fatalf("Recipes() = %q, want [default paper modes]", got)
	}
	o := DefaultOptions()
	if err := o.ApplyRecipe(RecipePaper); err != nil {
		t.Fatal(err)
	}
	paper := o
	if err := o.ApplyRecipe(RecipeDefault); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o, DefaultOptions()) {
		t.Errorf("recipe default after paper:\n%+v\nDefaultOptions:\n%+v", o, DefaultOptions())
	}
	want := DefaultOptions()
	want.Upper, want.LREnergy, want.LRGenerator, want.LRSchedule = "gp", 2e-4, 2e-4, ScheduleConstant
	want.EMA, want.LRWarmup, want.LRDecaySteps, want.LRFinal = 0, 0, 0, 0
	want.ImportanceNegatives, want.ImportanceFrom, want.LateSigmas, want.LateFrom = 0, 0, nil, 0
	want.ImportanceData, want.ImportanceBroad, want.ImportanceBroadWidth = 0, 0, 0
	want.GeneratorMatch, want.GeneratorMatchFrom, want.GeneratorMatchKind, want.GeneratorMatchTarget = 0, 0, "", ""
	if !reflect.DeepEqual(paper, want) {
		t.Errorf("recipe paper:\n%+v\nwant:\n%+v", paper, want)
	}
	if paper.Lower != "jacobian" || paper.Beta2 != 0.9 || paper.LambdaGP != nil || paper.Tau != nil {
		t.Errorf("recipe paper: lower %s, β2 %v, λ_GP %v, τ %v; want jacobian, 0.9 and the bound's own", paper.Lower, paper.Beta2, paper.LambdaGP, paper.Tau)
	}
	// modes is the default with the density study's noise levels and
	// importance-weighted negatives (bench/density.md), and applying the
	// default after it undoes them.
	if err := o.ApplyRecipe(RecipeModes); err != nil {
		t.Fatal(err)
	}
	want = DefaultOptions()
	want.DiffusionSigmas, want.ImportanceNegatives, want.ImportanceFrom = []float64{0.005, 0.01, 0.015, 0.02}, 0.5, 10000
	want.LateSigmas, want.LateFrom = nil, 0
	want.ImportanceData, want.ImportanceBroad, want.ImportanceBroadWidth = 0, 0, 0
	want.GeneratorMatch, want.GeneratorMatchFrom, want.GeneratorMatchKind, want.GeneratorMatchTarget = 0, 0, "", ""
	if !reflect.DeepEqual(o, want) {
		t.Errorf("recipe modes:\n%+v\nwant:\n%+v", o, want)
	}
	if err := o.ApplyRecipe(RecipeDefault); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o, DefaultOptions()) {
		t.Errorf("recipe default after modes:\n%+v\nDefaultOptions:\n%+v", o, DefaultOptions())
	}
	for _, name := range Recipes() {
		v := DefaultOptions()
		if err := v.ApplyRecipe(name); err != nil {
			t.Fatal(err)
		}
		if err := v.Check(); err != nil {
			t.Errorf("recipe %s: %v", name, err)
		}
	}
}

// TestApplyRecipeSets checks that a recipe resets the weights a caller
// set, and keeps options that are no part of a recipe.
func TestApplyRecipeSets(t *testing.T) {
	o := DefaultOptions()
	w := 0.5
	o.LambdaGP, o.Tau, o.LambdaH, o.LambdaGPDecay = &w, &w, &w, true
	o.Steps, o.Data, o.SpectralNorm, o.ClipGradNorm = 123, "toy:moons", true, 2
	if err := o.ApplyRecipe(RecipePaper); err != nil {
		t.Fatal(err)
	}
	if o.LambdaGP != nil || o.Tau != nil || o.LambdaH != nil || o.LambdaGPDecay {
		t.Errorf("weights kept: λ_GP %v, τ %v, λ_H %v, decay %v", o.LambdaGP, o.Tau, o.LambdaH, o.LambdaGPDecay)
	}
	if o.Steps != 123 || o.Data != "toy:moons" || !o.SpectralNorm || o.ClipGradNorm != 2 {
		t.Errorf("options outside the recipe changed: %+v", o)
	}
}

func TestApplyRecipeUnknown(t *testing.T) {
	o := DefaultOptions()
	err := o.ApplyRecipe("fast")
	if err == nil {
		t.Fatal("unknown recipe accepted")
	}
	for _, s := range []string{`"fast"`, "default", "paper"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
	if !reflect.DeepEqual(o, DefaultOptions()) {
		t.Error("a failed ApplyRecipe changed the options")
	}
}

// TestRecipeHint checks the hint of a resume refused on options: the
// recipe that, with the options set away from the defaults kept, gives
// the checkpoint's.
func TestRecipeHint(t *testing.T) {
	paper := DefaultOptions()
	paper.mustApply(t, RecipePaper)
	tuned := paper
	tuned.LREnergy, tuned.Seed = 5e-4, 7
	cases := []struct {
		name       string
		checkpoint Options
		edit       func(o *Options) // the options resumed with, from DefaultOptions
		want       string
	}{
		{"old defaults", paper, func(o *Options) {}, `recipe "paper"`},
		{"old defaults and flags", tuned, func(o *Options) { o.LREnergy, o.Seed = 5e-4, 7 }, `recipe "paper"`},
		{"flag missing", tuned, func(o *Options) { o.Seed = 7 }, ""},
		{"other data", paper, func(o *Options) { o.Data = "toy:moons" }, ""},
		{"no average asked", paper, func(o *Options) { o.EMA = 0 }, `recipe "paper"`},
	}
	for _, c := range cases {
		o := DefaultOptions()
		c.edit(&o)
		got := o.recipeHint(c.checkpoint.identity())
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%s: hint %q, want %q", c.name, got, c.want)
		}
	}
}

func (o *Options) mustApply(t *testing.T, name string) {
	t.Helper()
	if err := o.ApplyRecipe(name); err != nil {
		t.Fatal(err)
	}
}
