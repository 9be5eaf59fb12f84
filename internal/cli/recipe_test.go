package cli

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/pipeline"
	"github.com/ebmpipe/ebmpipe/train"
)

// studyFlags are, spelled out, the flags of the 50 000-iteration study of
// the default recipe (rows la5i10 of bench/study-results.csv: those of
// rows d-lr3e3-w200, bench/drift.md, a late stage from 5 000 iterations
// with the generator's match term, and from 10 000 its weights on data and
// broad draws, bench/density.md): the defaults must be exactly these.
var studyFlags = strings.Fields("--upper diffusion --ema 0.999 --lr-energy 3e-3 --lr-generator 3e-3 " +
	"--lr-schedule cosine --lr-final 0.05 --lr-decay-steps 20000 --lr-warmup 200 " +
	"--late-sigmas 0.005,0.01,0.015,0.02 --late-from 5000 --importance-negatives 1 --importance-from 10000 " +
	"--importance-data 1 --importance-broad 0.25 --importance-broad-width 8 " +
	"--generator-match 30 --generator-match-kind nearest --generator-match-from 5000")

func paperOptions(t *testing.T) train.Options {
	t.Helper()
	o := train.DefaultOptions()
	if err := o.ApplyRecipe(train.RecipePaper); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestRecipeFlag checks --recipe: it sets the recipe's options, and
// flags given explicitly win whether they come before or after it.
func TestRecipeFlag(t *testing.T) {
	def := train.DefaultOptions()
	def.Select = train.SelectLast // TrainFlags sets it
	paper := paperOptions(t)
	paper.Select = train.SelectLast
	tuned := paper
	tuned.LREnergy, tuned.Steps = 5e-4, 300
	recipe := []string{"--recipe", "paper"}
	modes := def
	if err := modes.ApplyRecipe(train.RecipeModes); err != nil {
		t.Fatal(err)
	}
	sigmas := modes
	sigmas.DiffusionSigmas = []float64{0.01, 0.03}
	cases := []struct {
		name string
		args []string
		want train.Options
	}{
		{"none", nil, def},
		{"default", []string{"--recipe", "default"}, def},
		{"paper", recipe, paper},
		{"the study's flags are the defaults", append(append([]string{}, recipe...), studyFlags...), def},
		{"flags before the recipe win", append(append([]string{}, studyFlags...), recipe...), def},
		{"flags after", []string{"--recipe", "paper", "--lr-energy", "5e-4", "--steps", "300"}, tuned},
		{"flags before", []string{"--lr-energy", "5e-4", "--steps", "300", "--recipe", "paper"}, tuned},
		{"last recipe wins", []string{"--recipe", "paper", "--recipe", "default"}, def},
		{"modes", []string{"--recipe", "modes"}, modes},
		{"noise levels before modes win", []string{"--diffusion-sigmas", "0.01,0.03", "--recipe", "modes"}, sigmas},
		{"noise levels after modes", []string{"--recipe", "modes", "--diffusion-sigmas", "0.01,0.03"}, sigmas},
		{"default after modes", []string{"--recipe", "modes", "--recipe", "default"}, def},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := train.DefaultOptions()
			fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
			TrainFlags(fs, &o)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(o, c.want) {
				t.Errorf("%q:\n got %+v\nwant %+v", c.args, o, c.want)
			}
		})
	}
}

func TestRecipeFlagUnknown(t *testing.T) {
	o := train.DefaultOptions()
	fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	TrainFlags(fs, &o)
	err := fs.Parse([]string{"--upper", "gp", "--recipe", "fast"})
	if err == nil {
		t.Fatal("--recipe fast accepted")
	}
	for _, s := range []string{"--recipe", `"fast"`, "default, paper or modes"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %s", err, s)
		}
	}
	help := fs.Lookup("recipe").Usage
	for _, s := range []string{"default (--upper diffusion", "--ema 0.999", "paper (--upper gp --lr-energy 0.0002", "bench/drift.md", "explicitly win"} {
		if !strings.Contains(help, s) {
			t.Errorf("--recipe help %q lacks %q", help, s)
		}
	}
}

// TestRunFileRecipe checks the run-file key train.recipe and --set
// train.recipe: the file's explicit options win, in any order.
func TestRunFileRecipe(t *testing.T) {
	paper := paperOptions(t)
	withDiffusion := paper
	withDiffusion.Upper = "diffusion"
	cases := []struct {
		name, file string
		sets       []string
		want       train.Options
	}{
		{"recipe", "train:\n  recipe: paper\n", nil, paper},
		{"recipe first", "train:\n  recipe: paper\n  upper: diffusion\n", nil, withDiffusion},
		{"recipe last", "train:\n  upper: diffusion\n  recipe: paper\n", nil, withDiffusion},
		{"set", "train:\n  upper: diffusion\n", []string{"train.recipe=paper"}, withDiffusion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rf, err := pipeline.ParseRunFile("run.yaml", []byte(c.file))
			if err != nil {
				t.Fatal(err)
			}
			rc := NewRunConfig()
			if err := rc.Apply(rf); err != nil {
				t.Fatal(err)
			}
			for _, s := range c.sets {
				if err := rc.SetOption(s); err != nil {
					t.Fatal(err)
				}
			}
			want := pipeline.DefaultRunOptions().Train
			want.Select = train.SelectLast // TrainFlags sets it
			want.Upper, want.LREnergy, want.LRGenerator, want.LRSchedule = c.want.Upper, c.want.LREnergy, c.want.LRGenerator, c.want.LRSchedule
			want.EMA, want.LRWarmup, want.LRDecaySteps, want.LRFinal = c.want.EMA, c.want.LRWarmup, c.want.LRDecaySteps, c.want.LRFinal
			want.ImportanceNegatives, want.ImportanceFrom, want.LateSigmas, want.LateFrom = c.want.ImportanceNegatives, c.want.ImportanceFrom, c.want.LateSigmas, c.want.LateFrom
			want.ImportanceData, want.ImportanceBroad, want.ImportanceBroadWidth = c.want.ImportanceData, c.want.ImportanceBroad, c.want.ImportanceBroadWidth
			want.GeneratorMatch, want.GeneratorMatchFrom, want.GeneratorMatchKind, want.GeneratorMatchTarget = c.want.GeneratorMatch, c.want.GeneratorMatchFrom, c.want.GeneratorMatchKind, c.want.GeneratorMatchTarget
			if got := rc.Options.Train; !reflect.DeepEqual(got, want) {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
		})
	}
	rc := NewRunConfig()
	if err := rc.SetOption("train.recipe=fast"); err == nil || !strings.Contains(err.Error(), `"fast"`) {
		t.Errorf("train.recipe=fast: %v", err)
	}
}
