package train

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"gorgonia.org/tensor"
)

// Options are the settings of a training run. The JSON names are the
// command-line flag names of `ebmpipe train`, so that a run file can hold
// the same settings.
type Options struct {
	// Data is "toy:NAME" or the path of a .csv, .npy or .jsonl row file.
	// File data are standardised per feature; toy data are used as drawn.
	Data string `json:"data"`
	// DataRows is the number of points drawn from a toy data set, or the
	// number of leading rows read from a file (0: the whole file).
	DataRows int `json:"data-rows"`

	// Energy, Generator and Encoder are ONNX files or built-in MLPs
	// ("mlp:2-100-100-1[:act]", see export.ParseMLP). The encoder is used
	// by the mutual-information lower bound only.
	Energy    string `json:"energy"`
	Generator string `json:"generator"`
	Encoder   string `json:"encoder"`
	// GeneratorBatchNorm adds BatchNormalization to a built-in MLP
	// generator, as in the paper's toy generator.
	GeneratorBatchNorm bool `json:"generator-batchnorm"`
	// SpectralNorm divides each weight matrix of the energy but the
	// output layer's by its largest singular value, as the paper's public
	// code does on toy data (see specnorm.go); exported models hold the
	// divided weights. It keeps the bracket tight and the gradient penalty
	// small where the paper's weights let them grow (README, "Bound pairs
	// on toy data"), but fits more slowly, so the paper's settings without
	// it stay the default.
	SpectralNorm bool `json:"spectral-norm"`

	// Lower names the entropy lower bound (bounds.LowerByName) and Upper
	// the KL upper bound (bounds.UpperByName; "none" for none).
	Lower string `json:"lower"`
	Upper string `json:"upper"`
	// LambdaH, LambdaGP and Tau are the practical loss weights of the
	// notes: the weight of the entropy term in the generator's loss, and
	// the weight and hinge of the upper bound's penalty in the energy's
	// loss. They set the bounds' fields of the same names where a bound
	// has them; nil keeps the bound's own default.
	LambdaH  *float64 `json:"lambda-h,omitempty"`
	LambdaGP *float64 `json:"lambda-gp,omitempty"`
	Tau      *float64 `json:"tau,omitempty"`
	// LambdaGPDecay replaces a constant λ_GP of the gp bound by the public
	// code's decaying one, bounds.DecayedLambda(t) at iteration t.
	LambdaGPDecay bool `json:"lambda-gp-decay,omitempty"`

	Steps          int     `json:"steps"`           // outer iterations
	EnergySteps    int     `json:"energy-steps"`    // energy updates per iteration (k)
	GeneratorSteps int     `json:"generator-steps"` // generator updates per iteration (m)
	BatchSize      int     `json:"batch-size"`      // data rows and latent draws per update
	LREnergy       float64 `json:"lr-energy"`
	LRGenerator    float64 `json:"lr-generator"`
	Beta2          float64 `json:"beta2"` // Adam's β2 (β1 is 0)
	Seed           uint64  `json:"seed"`

	// Training tools, each off by default (see tools.go): the
	// learning-rate schedule and its warm-up, gradient-norm clipping,
	// an exponential moving average of the parameters (evaluated and
	// exported instead of the last values) and the energy-scale anchor.
	LRSchedule   string  `json:"lr-schedule,omitempty"`    // constant, cosine or step
	LRWarmup     int     `json:"lr-warmup,omitempty"`      // iterations of linear warm-up
	LRDecaySteps int     `json:"lr-decay-steps,omitempty"` // cosine: iterations to decay over (0: Steps)
	LRFinal      float64 `json:"lr-final,omitempty"`       // cosine: final factor of the learning rates
	LRStepEvery  int     `json:"lr-step-every,omitempty"`  // step: iterations between drops
	LRGamma      float64 `json:"lr-gamma,omitempty"`       // step: factor of each drop
	ClipGradNorm float64 `json:"clip-grad-norm,omitempty"` // largest gradient norm per network (0: no clipping)
	EMA          float64 `json:"ema,omitempty"`            // decay β of the parameter average (0: none)
	EnergyAnchor float64 `json:"energy-anchor,omitempty"`  // weight α of α·(mean E(data)² + mean E(G(z))²)
	// DiffusionSigmas, when set, replaces the noise levels of the
	// diffusion bound (bounds.DefaultSigmas).
	DiffusionSigmas []float64 `json:"diffusion-sigmas,omitempty"`

	// Precision is the element type of the training graphs, "float64" or
	// "float32". Parameters and the optimizer state are float64 either
	// way. float32 graphs run about twice as fast, but the smallest
	// singular value of an ill-conditioned Jacobian loses most of its
	// digits in float32, and toy runs then drift (the demo's held-out
	// log-likelihood fell from −2.59 to −7.3), so float64 is the default.
	Precision string `json:"precision"`

	LogEvery        int    `json:"log-every"`        // iterations per metrics row
	CheckpointEvery int    `json:"checkpoint-every"` // iterations per checkpoint (0: only at the end)
	KeepCheckpoints int    `json:"keep-checkpoints"` // checkpoint files kept (0: all)
	Out             string `json:"out"`
	Resume          bool   `json:"resume"`
}

// DefaultOptions returns the paper's toy settings: a 2-100-100-1 PReLU
// energy, a 2-100-100-2 PReLU generator, the Jacobian lower bound and the
// gradient-penalty upper bound, batch 200, Adam with learning rate 2e-4,
// β1 = 0 and β2 = 0.9, one energy step per generator step.
//
// The paper's toy generator also has BatchNorm; it is off by default here
// because the Jacobian bounds take per-example Jacobians, which batch
// statistics couple across the batch (GeneratorBatchNorm turns it on).
func DefaultOptions() Options {
	return Options{
		Data:               "toy:25gaussians",
		DataRows:           100000,
		Energy:             "mlp:2-100-100-1:prelu",
		Generator:          "mlp:2-100-100-2:prelu",
		GeneratorBatchNorm: false,
		Lower:              "jacobian",
		Upper:              "gp",
		Steps:              10000,
		EnergySteps:        1,
		GeneratorSteps:     1,
		BatchSize:          200,
		LREnergy:           2e-4,
		LRGenerator:        2e-4,
		Beta2:              0.9,
		Seed:               1,
		LRSchedule:         ScheduleConstant,
		LRGamma:            0.5,
		Precision:          "float64",
		SpectralNorm:       false,
		LogEvery:           100,
		CheckpointEvery:    1000,
		KeepCheckpoints:    3,
		Out:                "run",
	}
}

// AddFlags defines the options as flags on fs, with o's current values as
// defaults (use DefaultOptions first).
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Data, "data", o.Data, "training data: toy:`NAME` (25gaussians, 8gaussians, swissroll, moons, rings, pinwheel, checkerboard, 2spirals) or a .csv/.npy/.jsonl FILE, standardised per feature")
	fs.IntVar(&o.DataRows, "data-rows", o.DataRows, "points drawn from a toy data set, or leading rows read from a file (0: all)")
	fs.StringVar(&o.Energy, "energy", o.Energy, "energy network: `FILE.onnx` or mlp:IN-H-...-1[:prelu|silu|softplus|leakyrelu|tanh|elu|relu]")
	fs.StringVar(&o.Generator, "generator", o.Generator, "generator network: `FILE.onnx` or mlp:LATENT-H-...-OUT[:act]")
	fs.StringVar(&o.Encoder, "encoder", o.Encoder, "encoder network for --lower mi: `FILE.onnx` or mlp:IN-H-...-2*LATENT[:act]")
	fs.BoolVar(&o.GeneratorBatchNorm, "generator-batchnorm", o.GeneratorBatchNorm, "add BatchNormalization to an mlp: generator (trained with batch statistics)")
	fs.BoolVar(&o.SpectralNorm, "spectral-norm", o.SpectralNorm, "divide each weight matrix of the energy but the output layer's by its largest singular value (spectral normalisation); keeps the energy's gradients bounded")
	fs.StringVar(&o.Lower, "lower", o.Lower, "entropy lower bound: `jacobian`, jacobian-exact or mi")
	fs.StringVar(&o.Upper, "upper", o.Upper, "KL upper bound: `gp`, gp0, diffusion or none")
	fs.Var(optFloat{&o.LambdaH}, "lambda-h", "weight λ_H of the entropy term in the generator's loss (default: the bound's)")
	fs.Var(optFloat{&o.LambdaGP}, "lambda-gp", "weight λ_GP of the upper bound's penalty in the energy's loss (default: the bound's)")
	fs.BoolVar(&o.LambdaGPDecay, "lambda-gp-decay", o.LambdaGPDecay, "let λ_GP of --upper gp decay as 0.7·(2307+t)^-0.55 over the iterations t, from 0.0099 to 0.0029 at t = 20 000 (the public code's adaptive weight)")
	fs.Var(optFloat{&o.Tau}, "tau", "hinge τ of the penalty, max(0, λ_GP·GP − τ) (default: the bound's)")
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
	fs.Float64SliceVar(&o.DiffusionSigmas, "diffusion-sigmas", o.DiffusionSigmas, "noise levels σ_1 < … < σ_K of --upper diffusion (default 0.01,0.04,0.07,0.1)")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random seed: data, initial weights, batches and noise; the same seed gives the same run")
	fs.StringVar(&o.Precision, "precision", o.Precision, "element type of the training graphs: `float64` or float32 (about twice as fast, but s_min of ill-conditioned Jacobians loses accuracy); parameters and Adam state are float64 either way")
	fs.IntVar(&o.LogEvery, "log-every", o.LogEvery, "iterations per row of DIR/metrics.csv (averages over the interval)")
	fs.IntVar(&o.CheckpointEvery, "checkpoint-every", o.CheckpointEvery, "iterations between checkpoints in DIR/checkpoint (0: only at the end)")
	fs.IntVar(&o.KeepCheckpoints, "keep-checkpoints", o.KeepCheckpoints, "checkpoint files to keep (0: all)")
	fs.StringVar(&o.Out, "out", o.Out, "output `DIR`: metrics.csv, checkpoint/, energy.onnx, generator.onnx")
	fs.BoolVar(&o.Resume, "resume", o.Resume, "continue from the latest checkpoint in DIR/checkpoint, exactly as if never stopped")
}

// Check reports every missing or invalid option, naming the flags.
func (o *Options) Check() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, f := range []struct{ flag, v string }{
		{"data", o.Data}, {"energy", o.Energy}, {"generator", o.Generator},
		{"lower", o.Lower}, {"upper", o.Upper}, {"out", o.Out},
	} {
		if strings.TrimSpace(f.v) == "" {
			add("--%s is required", f.flag)
		}
	}
	if _, err := o.dtype(); err != nil {
		add("--precision: %v", err)
	}
	switch o.Lower {
	case "", "jacobian", "jacobian-exact":
		if o.Encoder != "" {
			add("--encoder %q is only used by --lower mi", o.Encoder)
		}
	case "mi":
		if o.Encoder == "" {
			add("--lower mi needs --encoder")
		}
	default:
		add("--lower %q: want jacobian, jacobian-exact or mi", o.Lower)
	}
	switch o.Upper {
	case "", "gp", "gp0", "diffusion", "none":
	default:
		add("--upper %q: want gp, gp0, diffusion or none", o.Upper)
	}
	positive := []struct {
		flag string
		v    int
	}{{"steps", o.Steps}, {"energy-steps", o.EnergySteps}, {"generator-steps", o.GeneratorSteps},
		{"batch-size", o.BatchSize}, {"log-every", o.LogEvery}}
	for _, p := range positive {
		if p.v < 1 {
			add("--%s %d: must be at least 1", p.flag, p.v)
		}
	}
	if o.BatchSize == 1 {
		add("--batch-size 1: need at least 2 rows (batch statistics, means)")
	}
	for _, p := range []struct {
		flag string
		v    int
	}{{"data-rows", o.DataRows}, {"checkpoint-every", o.CheckpointEvery}, {"keep-checkpoints", o.KeepCheckpoints}} {
		if p.v < 0 {
			add("--%s %d: must not be negative", p.flag, p.v)
		}
	}
	if strings.HasPrefix(o.Data, "toy:") && o.DataRows < 1 {
		add("--data-rows %d: a toy data set needs at least 1 point", o.DataRows)
	}
	for _, f := range []struct {
		flag string
		v    float64
	}{{"lr-energy", o.LREnergy}, {"lr-generator", o.LRGenerator}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			add("--%s %v: must be a positive number", f.flag, f.v)
		}
	}
	if !(o.Beta2 >= 0 && o.Beta2 < 1) {
		add("--beta2 %v: must be in [0, 1)", o.Beta2)
	}
	for _, f := range []struct {
		flag string
		v    *float64
	}{{"lambda-h", o.LambdaH}, {"lambda-gp", o.LambdaGP}, {"tau", o.Tau}} {
		if f.v != nil && !(*f.v >= 0 && !math.IsInf(*f.v, 0)) {
			add("--%s %v: must be a finite non-negative number", f.flag, *f.v)
		}
	}
	if o.LambdaGPDecay && o.LambdaGP != nil {
		add("--lambda-gp-decay and --lambda-gp %v: choose one", *o.LambdaGP)
	}
	errs = append(errs, o.checkTools()...)
	return errors.Join(errs...)
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

// dtype returns the element type Precision names.
func (o *Options) dtype() (tensor.Dtype, error) {
	switch o.Precision {
	case "float32":
		return tensor.Float32, nil
	case "float64":
		return tensor.Float64, nil
	}
	return tensor.Dtype{}, fmt.Errorf("%q: want float32 or float64", o.Precision)
}
