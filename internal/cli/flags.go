package cli

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/ortlib"
	"github.com/ebmpipe/ebmpipe/pipeline"
	"github.com/ebmpipe/ebmpipe/pipeline/evaluate"
	"github.com/ebmpipe/ebmpipe/pipeline/logz"
	"github.com/ebmpipe/ebmpipe/pipeline/plot"
	"github.com/ebmpipe/ebmpipe/pipeline/sample"
	"github.com/ebmpipe/ebmpipe/pipeline/score"
	"github.com/ebmpipe/ebmpipe/train"
)

// Each XFlags function below defines the flags of an options struct on fs,
// bound to o's fields, with o's current values as the defaults (start from
// the library's DefaultX), and records which field each flag sets (see
// Message).

// TrainFlags defines the flags of ebmpipe train.
func TrainFlags(fs *pflag.FlagSet, o *train.Options) {
	fs.StringVar(&o.Data, "data", o.Data, "training data: toy:`NAME` (25gaussians, 8gaussians, swissroll, moons, rings, pinwheel, checkerboard, 2spirals) or a .csv/.npy/.jsonl FILE, standardised per feature")
	fs.IntVar(&o.DataRows, "data-rows", o.DataRows, "points drawn from a toy data set, or leading rows read from a file (0: all)")
	fs.StringVar(&o.Energy, "energy", o.Energy, "energy network: `FILE.onnx` or mlp:IN-H-...-1[:prelu|silu|softplus|leakyrelu|tanh|elu|relu]")
	fs.StringVar(&o.Generator, "generator", o.Generator, "generator network: `FILE.onnx`, mlp:LATENT-H-...-OUT[:act] or an invertible flow:D-LAYERS-H[-H...][:tanh|silu|softplus]")
	fs.StringVar(&o.Encoder, "encoder", o.Encoder, "encoder network for --lower mi: `FILE.onnx` or mlp:IN-H-...-2*LATENT[:act]")
	fs.BoolVar(&o.GeneratorBatchNorm, "generator-batchnorm", o.GeneratorBatchNorm, "add BatchNormalization to an mlp: generator (trained with batch statistics)")
	fs.BoolVar(&o.SpectralNorm, "spectral-norm", o.SpectralNorm, "divide each weight matrix of the energy but the output layer's by its largest singular value (spectral normalisation); keeps the energy's gradients bounded")
	fs.Var(&recipeValue{o: o, fs: fs, name: train.RecipeDefault}, "recipe", "") // usage by recipeUsage, once the flags it names exist
	fs.StringVar(&o.Lower, "lower", o.Lower, "entropy lower bound: "+choices(bounds.LowerNames(), o.Lower))
	fs.StringVar(&o.Upper, "upper", o.Upper, "KL upper bound: "+choices(bounds.UpperNames(), o.Upper))
	fs.Var(optFloat{&o.LambdaH}, "lambda-h", "weight λ_H of the entropy term in the generator's loss (default: the bound's)")
	fs.Var(optFloat{&o.LambdaGP}, "lambda-gp", "weight λ_GP of the upper bound's penalty in the energy's loss (default: the bound's)")
	fs.BoolVar(&o.LambdaGPDecay, "lambda-gp-decay", o.LambdaGPDecay, "let λ_GP of --upper gp decay as 0.7·(2307+t)^-0.55 over the iterations t, from 0.0099 to 0.0029 at t = 20 000 (the public code's adaptive weight)")
	fs.Var(optFloat{&o.Tau}, "tau", "hinge τ of the penalty, max(0, λ_GP·GP − τ) (default: the bound's)")
	fs.Var(optFloat{&o.LSIConstant}, "lsi-constant", "log-Sobolev constant C that the logged gp and diffusion values assume (default 1; they are bounds only if C is at least the energy's true constant)")
	fs.IntVar(&o.BracketEvery, "bracket-every", o.BracketEvery, "iterations between measurements of the certified bracket (iw lower ≤ NLL ≤ χ² upper, 95% limits) logged to metrics.csv as bracket_lower, bracket_upper (0: never; needs latent and data dimensions equal)")
	fs.IntVar(&o.BracketSamples, "bracket-samples", o.BracketSamples, "generator samples and data rows per certified bracket measurement")
	fs.IntVar(&o.Steps, "steps", o.Steps, "training iterations (each k energy and m generator updates)")
	fs.IntVar(&o.EnergySteps, "energy-steps", o.EnergySteps, "energy updates per iteration (k)")
	fs.IntVar(&o.GeneratorSteps, "generator-steps", o.GeneratorSteps, "generator updates per iteration (m)")
	fs.IntVar(&o.BatchSize, "batch-size", o.BatchSize, "data rows and latent draws per update")
	fs.Float64Var(&o.LREnergy, "lr-energy", o.LREnergy, "Adam learning rate of the energy")
	fs.Float64Var(&o.LRGenerator, "lr-generator", o.LRGenerator, "Adam learning rate of the generator (and encoder)")
	fs.Float64Var(&o.Beta2, "beta2", o.Beta2, "Adam β2 (β1 is 0; the paper uses 0.9 on toy data, 0.999 on images)")
	fs.StringVar(&o.LRSchedule, "lr-schedule", o.LRSchedule, "learning-rate schedule: `constant`, cosine (to --lr-final times the rate over --lr-decay-steps) or step (times --lr-gamma every --lr-step-every iterations)")
	fs.IntVar(&o.LRWarmup, "lr-warmup", o.LRWarmup, "iterations of linear learning-rate warm-up (0: none)")
	fs.IntVar(&o.LRDecaySteps, "lr-decay-steps", o.LRDecaySteps, "cosine schedule: iterations to decay over, then constant (0: --steps)")
	fs.Float64Var(&o.LRFinal, "lr-final", o.LRFinal, "cosine schedule: the learning rates' final factor, in [0, 1]")
	fs.IntVar(&o.LRStepEvery, "lr-step-every", o.LRStepEvery, "step schedule: iterations between drops")
	fs.Float64Var(&o.LRGamma, "lr-gamma", o.LRGamma, "step schedule: factor of each drop, in (0, 1]")
	fs.Float64Var(&o.ClipGradNorm, "clip-grad-norm", o.ClipGradNorm, "clip each network's gradient to this Euclidean norm before its Adam step (0: no clipping)")
	fs.Float64Var(&o.EMA, "ema", o.EMA, "keep an exponential moving average of the parameters with this decay (e.g. 0.999) and evaluate and export it (0: none)")
	fs.Float64Var(&o.EnergyAnchor, "energy-anchor", o.EnergyAnchor, "weight α of the energy-scale anchor α·(mean E(data)² + mean E(G(z))²) in the energy's loss (0: none)")
	fs.Float64Var(&o.AnnealFrom, "anneal-from", o.AnnealFrom, "anneal the generator's target from p^β0 to p, β0 = `B` in (0, 1), by dividing the entropy term of its loss by β rising geometrically to 1 over --anneal-steps iterations (0: off)")
	fs.IntVar(&o.AnnealSteps, "anneal-steps", o.AnnealSteps, "iterations of the generator's annealing (--anneal-from)")
	fs.IntVar(&o.NegativeLangevinSteps, "negative-langevin-steps", o.NegativeLangevinSteps, "take the energy's negative phase on the generator's samples moved by this many Langevin steps on the energy (cooperative training; the bounds stay on the generator's samples; 0: off)")
	fs.Float64Var(&o.NegativeStepSize, "negative-step-size", o.NegativeStepSize, "step size η of --negative-langevin-steps: x ← x − (η/2)∇E(x) + s√η·ξ")
	fs.Float64Var(&o.ImportanceNegatives, "importance-negatives", o.ImportanceNegatives, "weight α in [0, 1] of the importance-weighted negative phase: the energy's loss takes (1-α)·mean E(G(z)) + α·Σ w_i E(G(z_i)), w ∝ exp(-E)/q self-normalised over the batch, the likelihood's gradient when α = 1; with --importance-data the weighted mean is taken on other draws (without it, needs latent and data dimensions equal; 0: off)")
	fs.Float64Var(&o.ImportanceBroad, "importance-broad", o.ImportanceBroad, "add to --importance-negatives R·batch draws from a Gaussian --importance-broad-width times as wide as the data, weighted by exp(-E) over its density and pooled with the generator's samples (or with --importance-data's, over the two laws' mixture), so that where the energy falls away from the data is raised too (0: none)")
	fs.Float64Var(&o.ImportanceBroadWidth, "importance-broad-width", o.ImportanceBroadWidth, "standard deviation of --importance-broad's Gaussian, in units of the data's (0: 2)")
	fs.Float64Var(&o.GeneratorMatch, "generator-match", o.GeneratorMatch, "from --generator-match-from on, add to the generator's loss this weight times a distance (--generator-match-kind, in data stds) between its samples and --importance-data's weighted draws, a sample of the model density: it brings the generator to wells the entropy bound's reverse KL leaves empty (the draws are --importance-data's, one per row if 0; 0: off)")
	fs.StringVar(&o.GeneratorMatchKind, "generator-match-kind", o.GeneratorMatchKind, "distance of --generator-match: nearest (the weighted mean squared distance from each draw to its nearest sample; empty means nearest) or energy (the energy distance)")
	fs.StringVar(&o.GeneratorMatchTarget, "generator-match-target", o.GeneratorMatchTarget, "what --generator-match matches: model (the importance-weighted draws of p_θ; empty means model) or data (the batch's data rows, equally weighted)")
	fs.IntVar(&o.GeneratorMatchFrom, "generator-match-from", o.GeneratorMatchFrom, "iteration (from 0) at which --generator-match starts")
	fs.IntVar(&o.GeneratorMatchSteps, "generator-match-steps", o.GeneratorMatchSteps, "lower --generator-match's weight linearly to 0 over this many iterations from --generator-match-from (0: constant)")
	fs.Float64Var(&o.ImportanceData, "importance-data", o.ImportanceData, "take --importance-negatives' weighted mean instead on R·batch draws around the batch's data rows (Gaussian kernels of --importance-width), pooled with --importance-broad's and weighted by exp(-E) over the mixture's density, so every well the data visits is sampled whatever the generator covers; needs neither d = D nor a generator without BatchNormalization; off, with a notice, for data of more than 2 features, where kernel weights degenerate (0: none)")
	fs.Float64Var(&o.ImportanceWidth, "importance-width", o.ImportanceWidth, "standard deviation of --importance-data's kernels, in units of the data's (0: 0.05)")
	fs.IntVar(&o.ImportanceFrom, "importance-from", o.ImportanceFrom, "iteration at which --importance-negatives starts (before it the negative phase is mean E(G(z)); 0: from the start)")
	fs.IntVar(&o.ImportanceSteps, "importance-steps", o.ImportanceSteps, "raise --importance-negatives' α linearly from --importance-start at --importance-from to its value this many iterations later, so that the generator's game fades out instead of stopping (0: at once)")
	fs.Float64Var(&o.ImportanceStart, "importance-start", o.ImportanceStart, "α at --importance-from when --importance-steps ramps it, in [0, --importance-negatives]")
	fs.Float64Var(&o.NegativeNoiseScale, "negative-noise-scale", o.NegativeNoiseScale, "noise scale s of --negative-langevin-steps (1: Langevin dynamics; 0: gradient descent)")
	fs.Var((*floatsValue)(&o.DiffusionSigmas), "diffusion-sigmas", "noise levels `SIGMAS` σ_1 < … < σ_K of --upper diffusion, comma-separated (default 0.01,0.04,0.07,0.1)")
	fs.Var((*floatsValue)(&o.LateSigmas), "late-sigmas", "noise levels `SIGMAS` of --upper diffusion from iteration --late-from on, comma-separated (default: none, the levels do not change)")
	fs.IntVar(&o.LateFrom, "late-from", o.LateFrom, "iteration at which --late-sigmas replace the diffusion bound's noise levels")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random seed: data, initial weights, batches and noise; the same seed gives the same run")
	fs.StringVar(&o.Precision, "precision", o.Precision, "element type of the training graphs: `float64` or float32 (a step takes about 0.7× the CPU time, same gradients to about 1e-6; bench/float32.md); parameters, Adam state and the exact Jacobian terms' d×d work are float64 either way")
	fs.IntVar(&o.LogEvery, "log-every", o.LogEvery, "iterations per row of DIR/metrics.csv (averages over the interval)")
	fs.IntVar(&o.CheckpointEvery, "checkpoint-every", o.CheckpointEvery, "iterations between checkpoints in DIR/checkpoint (0: only at the end)")
	fs.IntVar(&o.KeepCheckpoints, "keep-checkpoints", o.KeepCheckpoints, "checkpoint files to keep (0: all)")
	fs.StringVar(&o.Out, "out", o.Out, "output `DIR`: metrics.csv, checkpoint/, energy.onnx, generator.onnx")
	fs.BoolVar(&o.Resume, "resume", o.Resume, "continue from the latest checkpoint in DIR/checkpoint, exactly as if never stopped")
	if o.Select == "" {
		o.Select = train.SelectLast
	}
	fs.StringVar(&o.Select, "select", o.Select, "checkpoint to export: `last`, or best: the best score on validation rows held out of the training data (--validation-fraction), taken every --select-every iterations (the log-likelihood, with log Z estimated as ebmpipe logz does by default); the best models are kept in DIR/best")
	fs.IntVar(&o.SelectEvery, "select-every", o.SelectEvery, fmt.Sprintf("iterations between validation scores with --select best (0: %d)", train.DefaultSelectEvery))
	fs.Float64Var(&o.ValidationFraction, "validation-fraction", o.ValidationFraction, fmt.Sprintf("share of the training rows held out for validation with --select best, never trained on (0: %g)", train.DefaultValidationFraction))
	fs.Int64Var(&o.Opset, "opset", o.Opset, fmt.Sprintf("ONNX operator set `N` of the exported energy.onnx and generator.onnx (%d to %d)", export.MinOpset, export.MaxOpset))
	bindFields(fs, o, "")
	fs.Lookup("recipe").Usage = recipeUsage(fs, o)
}

// choices lists names for a flag's help, "a, b or c", with the default,
// def, in backquotes: pflag shows it as the value's placeholder.
func choices(names []string, def string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = n
		if n == def {
			quoted[i] = "`" + n + "`"
		}
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

// BoundsFlags defines the flags of ebmpipe bounds.
func BoundsFlags(fs *pflag.FlagSet, o *evaluate.BoundsOptions) {
	fs.StringVar(&o.Energy, "energy", o.Energy, "energy model `FILE.onnx` (required)")
	fs.StringVar(&o.Generator, "generator", o.Generator, "generator model `FILE.onnx` (required)")
	fs.StringVar(&o.Encoder, "encoder", o.Encoder, "encoder model `FILE.onnx` for the mutual-information bound (optional)")
	fs.StringVar(&o.Data, "data", o.Data, "data: toy:`NAME` or a .csv/.npy/.jsonl FILE, as the models take it (required)")
	fs.IntVar(&o.DataRows, "data-rows", o.DataRows, "points drawn from a toy data set, or leading rows read from a file (0: all)")
	fs.IntVar(&o.Samples, "samples", o.Samples, "data rows and generator samples per estimate")
	fs.IntVar(&o.BracketSamples, "bracket-samples", o.BracketSamples, fmt.Sprintf("latent draws of the certified bracket (0: %d / latent dimensions, at least --samples, at most %d)", bounds.DrawBudget, bounds.MaxDefaultDraws))
	fs.IntVar(&o.BatchSize, "batch-size", o.BatchSize, "rows per graph run")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random seed of the samples and noise")
	fs.BoolVar(&o.JSON, "json", o.JSON, "print JSON instead of a table")
	fs.Float64Var(&o.LSIConstant, "lsi-constant", o.LSIConstant, "log-Sobolev constant C of the energy's law: the gp and diffusion values are bounds only if C is at least the true one")
	bindFields(fs, o, "")
}

// HeldOutFlags defines the flags of ebmpipe run.
func HeldOutFlags(fs *pflag.FlagSet, o *pipeline.HeldOutOptions) {
	fs.StringVar(&o.Test, "test", o.Test, "held-out rows: a row `FILE` (.csv, .npy, .jsonl) or toy:NAME (default: toy training data drawn again with --seed + 1, or --test-fraction of a training file)")
	fs.IntVar(&o.TestRows, "test-rows", o.TestRows, fmt.Sprintf("held-out toy points, or leading rows of a --test file (0: %d toy points, or the whole file)", pipeline.DefaultTestRows))
	fs.Float64Var(&o.TestFraction, "test-fraction", o.TestFraction, "`FRACTION` of the rows of a training file held out, when there is no --test")
	bindFields(fs, o, "")
}

// ScoreFlags defines the flags of ebmpipe score.
func ScoreFlags(fs *pflag.FlagSet, o *score.Options) {
	fs.StringVar(&o.Model, "model", o.Model, "ONNX `FILE` of the model to run (required)")
	fs.StringVar(&o.Input, "input", o.Input, "row `FILE` to score: .csv, .npy or .jsonl, or - for standard input (required)")
	fs.StringVar(&o.Output, "output", o.Output, "`FILE` to write, format by extension: .csv, .npy or .jsonl, or - for standard output (required)")
	fs.StringVar(&o.Engine, "engine", o.Engine, "scoring `ENGINE`: ort (ONNX Runtime), go (pure-Go Gorgonia graph) or auto (ort if its library loads, else go)")
	fs.IntVar(&o.BatchSize, "batch-size", o.BatchSize, "rows per model run; bounds memory use")
	fs.IntVar(&o.Workers, "workers", o.Workers, "`N` goroutines running the model, each with its own engine (0: one per CPU)")
	fs.StringVar(&o.Device, "device", o.Device, "`DEVICE` for the ort engine: cpu or cuda (needs a GPU build of ONNX Runtime)")
	fs.BoolVar(&o.Raw, "raw", o.Raw, "write the model's outputs as they are, flattened, instead of energies")
	fs.BoolVar(&o.SkipBadRows, "skip-bad-rows", o.SkipBadRows, "write bad input rows to OUTPUT.rejects and go on, instead of failing")
	fs.StringVar(&o.ORTLib, "ort-lib", o.ORTLib, "ONNX Runtime shared library `PATH` (default $"+ortlib.LibEnv+", then "+ortlib.DefaultLibShown+")")
	fs.StringVar(&o.Format, "format", o.Format, "row `FORMAT` (csv, jsonl or npy) of --input - (standard input), --output - (standard output) and files without an extension (default: csv for -)")
	bindFields(fs, o, "")
}

// SampleFlags defines the flags of ebmpipe sample.
func SampleFlags(fs *pflag.FlagSet, o *sample.Options) {
	fs.StringVar(&o.Generator, "generator", o.Generator, "ONNX `FILE` of the generator x = G(z), z ~ N(0, I) (required)")
	fs.IntVarP(&o.N, "n", "n", o.N, "number `N` of samples to draw (required)")
	fs.StringVar(&o.Output, "output", o.Output, "`FILE` to write, format by extension: .csv, .npy or .jsonl (required)")
	fs.StringVar(&o.Energy, "energy", o.Energy, "ONNX `FILE` of the energy E(x) whose Langevin dynamics refine the samples")
	fs.IntVar(&o.LangevinSteps, "langevin-steps", o.LangevinSteps, "Langevin steps `K` on the energy from each generator sample (0: none; needs --energy)")
	fs.Float64Var(&o.StepSize, "step-size", o.StepSize, "Langevin step size `ETA`, η in x ← x − (η/2) ∇E(x) + s √η ξ")
	fs.Float64Var(&o.NoiseScale, "noise-scale", o.NoiseScale, "Langevin noise scale `S`, s in the step (1: Langevin dynamics, which samples exp(−E)/Z as η → 0; 0: gradient descent)")
	fs.IntVar(&o.BatchSize, "batch-size", o.BatchSize, "rows per model run; bounds memory use")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random `SEED`: the same seed draws the same samples")
	fs.StringVar(&o.Engine, "engine", o.Engine, "`ENGINE` running the generator: ort (ONNX Runtime), go (pure-Go Gorgonia graph) or auto (ort if its library loads, else go); Langevin gradients always run on the go engine")
	fs.StringVar(&o.ORTLib, "ort-lib", o.ORTLib, "ONNX Runtime shared library `PATH` (default $"+ortlib.LibEnv+", then "+ortlib.DefaultLibShown+")")
	bindFields(fs, o, "")
}

// LogZFileFlags defines the flags of ebmpipe logz: the files and engine
// first, then the estimate's settings (LogZFlags).
func LogZFileFlags(fs *pflag.FlagSet, o *logz.FileOptions) {
	fs.StringVar(&o.Model, "model", o.Model, "ONNX `FILE` of the energy model (required)")
	fs.StringVar(&o.Data, "data", o.Data, "training data: a row `FILE` (.csv, .npy, .jsonl) or toy:NAME; sets the grid box and fits the importance proposal")
	fs.IntVar(&o.DataRows, "data-rows", o.DataRows, fmt.Sprintf("read the first `N` rows of --data (0: a whole file, or %d toy points)", logz.DefaultToyRows))
	fs.StringVar(&o.Generator, "generator", o.Generator, "ONNX `FILE` of a generator x = G(z), z ~ N(0, I), whose samples shape the proposal or box")
	fs.StringVar(&o.Output, "output", o.Output, "write the model with its log Z to `FILE` instead of rewriting --model")
	fs.StringVar(&o.Engine, "engine", o.Engine, "`ENGINE` running the models: ort (ONNX Runtime), go (pure-Go Gorgonia graph) or auto (ort if its library loads, else go)")
	fs.StringVar(&o.ORTLib, "ort-lib", o.ORTLib, "ONNX Runtime shared library `PATH` (default $"+ortlib.LibEnv+", then the install location)")
	bindFields(fs, o, "")
	LogZFlags(fs, &o.Estimate)
	bindFields(fs, &o.Estimate, "Estimate.")
}

// LogZFlags defines the flags of a log Z estimate's own settings.
func LogZFlags(fs *pflag.FlagSet, o *logz.Options) {
	fs.StringVar(&o.Method, "method", o.Method, "`METHOD`: auto (grid for 1-D and 2-D inputs, else importance), grid or importance")
	fs.IntVar(&o.GridSize, "grid-size", o.GridSize, fmt.Sprintf("grid intervals `K` per axis, even; 0 means %d for 1-D and %d for 2-D", logz.DefaultGrid1D, logz.DefaultGrid2D))
	fs.Var((*floatsValue)(&o.Bounds), "bounds", "grid box `LO,HI` for every axis, or LO0,HI0,LO1,HI1 per axis; default: the data's range widened by --margin")
	fs.Float64Var(&o.Margin, "margin", o.Margin, "widen the data's range by this `FRACTION` of it on each side for the grid box")
	fs.IntVar(&o.Samples, "samples", o.Samples, "importance samples `N`")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random `SEED` for importance sampling, generator noise and toy data")
	fs.IntVar(&o.BatchSize, "batch-size", o.BatchSize, "rows per model run; bounds memory use")
	bindFields(fs, o, "")
}

// PlotFlags defines the flags of ebmpipe plot.
func PlotFlags(fs *pflag.FlagSet, o *plot.Options) {
	fs.StringVar(&o.Run, "run", o.Run, fmt.Sprintf("training output `DIR`: its %s, %s and %s unless given, --out DIR, and the training data unless --data", train.EnergyFile, train.GeneratorFile, train.MetricsFile))
	fs.StringVar(&o.Energy, "energy", o.Energy, "ONNX `FILE` of a 2-D energy model: writes "+plot.DensityFile)
	fs.StringVar(&o.Generator, "generator", o.Generator, "ONNX `FILE` of a generator x = G(z), z ~ N(0, I): writes "+plot.SamplesFile)
	fs.StringVar(&o.Metrics, "metrics", o.Metrics, "metrics.csv `FILE` of a training run: writes "+plot.CurvesFile)
	fs.StringVar(&o.Data, "data", o.Data, "data drawn with the models: a row `FILE` (.csv, .npy, .jsonl) or toy:NAME")
	fs.IntVar(&o.DataRows, "data-rows", o.DataRows, fmt.Sprintf("read the first `N` rows of --data (0: a whole file, or %d toy points; with --run, as in training)", logz.DefaultToyRows))
	fs.StringVar(&o.Out, "out", o.Out, "`DIR` to write the pictures to, created if need be (default: --run's)")
	fs.IntVar(&o.GridSize, "grid-size", o.GridSize, fmt.Sprintf("grid cells `K` per axis of %s (2 to %d)", plot.DensityFile, plot.MaxPlotGrid))
	fs.Var((*floatsValue)(&o.Bounds), "bounds", "box of "+plot.DensityFile+": `LO,HI` for both axes or LO0,HI0,LO1,HI1; default: the range of the data (else of generator samples) widened by --margin")
	fs.Float64Var(&o.Margin, "margin", o.Margin, "widen the range of the data by this `FRACTION` of it on each side")
	fs.IntVar(&o.Samples, "samples", o.Samples, "generator samples `N` to draw; also the most data points drawn")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random `SEED` of the latent draws, of the data points shown and of toy data")
	bindFields(fs, o, "")
}

// VersionFlags defines the flags of ebmpipe version: the ONNX Runtime
// library whose version it prints.
func VersionFlags(fs *pflag.FlagSet, lib *string) {
	fs.StringVar(lib, "ort-lib", *lib, "ONNX Runtime shared library `PATH` (default $"+ortlib.LibEnv+", then "+ortlib.DefaultLibShown+")")
	fs.SetAnnotation("ort-lib", fieldKey, []string{"ORTLib"}) // the field ortlib's errors name
}

// recipeUsage returns the help of --recipe: each recipe as the flags
// whose values the recipes set differently, from the recipes themselves.
func recipeUsage(fs *pflag.FlagSet, o *train.Options) string {
	fields := flagFields(fs, o)
	var names []string // the flags the recipes set differently, in order
	sorted := fs.SortFlags
	fs.SortFlags = false // VisitAll in the order of definition
	defer func() { fs.SortFlags = sorted }()
	fs.VisitAll(func(fl *pflag.Flag) {
		f, ok := fields[fl.Name]
		if !ok {
			return
		}
		var first reflect.Value
		for i, r := range train.Recipes() {
			v := *o
			_ = v.ApplyRecipe(r) // r is known
			if x := reflect.ValueOf(v).FieldByIndex(f.Index); i == 0 {
				first = x
			} else if !reflect.DeepEqual(x.Interface(), first.Interface()) {
				names = append(names, fl.Name)
				return
			}
		}
	})
	var parts []string
	for _, r := range train.Recipes() {
		v := *o
		_ = v.ApplyRecipe(r)
		var flags []string
		for _, n := range names {
			x := reflect.ValueOf(v).FieldByIndex(fields[n].Index)
			switch v := x.Interface().(type) {
			case []float64:
				if len(v) > 0 {
					flags = append(flags, fmt.Sprintf("--%s %s", n, (*floatsValue)(&v)))
				}
			default:
				if !x.IsZero() {
					flags = append(flags, fmt.Sprintf("--%s %v", n, v))
				}
			}
		}
		parts = append(parts, r+" ("+strings.Join(flags, " ")+")")
	}
	return fmt.Sprintf("named `RECIPE` setting the bounds, their weights, Adam, its schedule and --ema: %s; "+
		"the flags not shown are 0 or off, and each bound takes its own weights (gp: λ_GP %v, τ %v; diffusion: λ %v). "+
		"paper is the paper's toy settings, which drift on long runs; default is the recipe that holds up where paper drifts (bench/drift.md), with a late stage from 5 000 iterations and weights from 10 000, poor in between (bench/density.md §6–8b); "+
		"modes is experimental: it reaches +1.5 nats and 24–25 modes on 25gaussians at 20 000 iterations but fails on 8gaussians and pinwheel (bench/density.md). "+
		"Flags given explicitly win over the recipe, in any order",
		strings.Join(parts, ", "), bounds.DefaultGPLambda, bounds.DefaultGPTau, bounds.NewDiffusion().Lambda)
}

// recipeValue is the --recipe flag: setting it applies a named recipe
// (train.Options.ApplyRecipe) to the options, but for the fields of the
// flags of fs already given, so that explicit flags win whichever comes
// first.
type recipeValue struct {
	o    *train.Options
	fs   *pflag.FlagSet
	name string
}

func (r *recipeValue) String() string { return r.name }
func (r *recipeValue) Type() string   { return "string" }

func (r *recipeValue) Set(name string) error {
	before := *r.o
	if err := r.o.ApplyRecipe(name); err != nil {
		return err
	}
	now, was := reflect.ValueOf(r.o).Elem(), reflect.ValueOf(before)
	for flag, f := range flagFields(r.fs, r.o) {
		if r.fs.Lookup(flag).Changed {
			now.FieldByIndex(f.Index).Set(was.FieldByIndex(f.Index))
		}
	}
	r.name = name
	return nil
}

// optFloat is a flag setting an optional number: unset (nil) until given.
type optFloat struct{ p **float64 }

func (f optFloat) String() string {
	if f.p == nil || *f.p == nil {
		return ""
	}
	return strconv.FormatFloat(**f.p, 'g', -1, 64)
}

func (f optFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*f.p = &v
	return nil
}

func (optFloat) Type() string { return "float" }

// target returns the field the flag sets, for bindFields.
func (f optFloat) target() any { return f.p }

// floatsValue is a flag of comma-separated numbers, such as --bounds.
type floatsValue []float64

func (b *floatsValue) String() string {
	parts := make([]string, len(*b))
	for i, v := range *b {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

func (b *floatsValue) Type() string { return "floats" }

func (b *floatsValue) Set(s string) error {
	var v []float64
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", f)
		}
		v = append(v, x)
	}
	*b = v
	return nil
}
