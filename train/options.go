package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
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
	// ("mlp:2-100-100-1[:act]", see mlp.Parse); the generator may also be
	// an invertible flow ("flow:2-8-64[:act]", see flow.Parse). The
	// encoder is used by the mutual-information lower bound only.
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
	// on toy data"), but fits more slowly, so it is off by default.
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
	// LSIConstant is the log-Sobolev constant C of the energy's law that
	// the values (not the losses) of gp and diffusion assume; nil keeps 1.
	LSIConstant *float64 `json:"lsi-constant,omitempty"`
	// BracketEvery is the number of iterations between measurements of
	// the certified bracket (bounds.Certified) logged to metrics.csv, on
	// BracketSamples generator samples and data rows (0: never; default
	// bounds.MonitorDraws, which --select best's bracket also takes).
	BracketEvery   int `json:"bracket-every,omitempty"`
	BracketSamples int `json:"bracket-samples,omitempty"`

	Steps          int     `json:"steps"`           // outer iterations
	EnergySteps    int     `json:"energy-steps"`    // energy updates per iteration (k)
	GeneratorSteps int     `json:"generator-steps"` // generator updates per iteration (m)
	BatchSize      int     `json:"batch-size"`      // data rows and latent draws per update
	LREnergy       float64 `json:"lr-energy"`
	LRGenerator    float64 `json:"lr-generator"`
	Beta2          float64 `json:"beta2"` // Adam's β2 (β1 is 0)
	Seed           uint64  `json:"seed"`

	// Training tools (see tools.go): the learning-rate schedule and its
	// warm-up, gradient-norm clipping, an exponential moving average of
	// the parameters (evaluated and exported instead of the last values)
	// and the energy-scale anchor. The schedule and the average are part
	// of a recipe (ApplyRecipe; DefaultOptions uses both); clipping and
	// the anchor are off.
	LRSchedule   string  `json:"lr-schedule,omitempty"`    // constant, cosine or step
	LRWarmup     int     `json:"lr-warmup,omitempty"`      // iterations of linear warm-up
	LRDecaySteps int     `json:"lr-decay-steps,omitempty"` // cosine: iterations to decay over (0: Steps)
	LRFinal      float64 `json:"lr-final,omitempty"`       // cosine: final factor of the learning rates
	LRStepEvery  int     `json:"lr-step-every,omitempty"`  // step: iterations between drops
	LRGamma      float64 `json:"lr-gamma,omitempty"`       // step: factor of each drop
	ClipGradNorm float64 `json:"clip-grad-norm,omitempty"` // largest gradient norm per network (0: no clipping)
	EMA          float64 `json:"ema,omitempty"`            // decay β of the parameter average (0: none)
	EnergyAnchor float64 `json:"energy-anchor,omitempty"`  // weight α of α·(mean E(data)² + mean E(G(z))²)
	// AnnealFrom and AnnealSteps anneal the generator's target from
	// p_θ^β₀ to p_θ (β₀ = AnnealFrom in (0, 1), 0: off) geometrically over
	// the first AnnealSteps iterations, by dividing the entropy term of
	// its loss by β_t (see anneal.go).
	AnnealFrom  float64 `json:"anneal-from,omitempty"`
	AnnealSteps int     `json:"anneal-steps,omitempty"`
	// NegativeLangevinSteps K, when positive, takes the energy's negative
	// phase on the generator's samples moved by K steps of Langevin
	// dynamics on the energy, of step size NegativeStepSize and noise
	// scale NegativeNoiseScale (cooperative training, langevin.go); the
	// generator's loss and the bounds stay on G's samples. 0: off.
	NegativeLangevinSteps int     `json:"negative-langevin-steps,omitempty"`
	NegativeStepSize      float64 `json:"negative-step-size,omitempty"`
	NegativeNoiseScale    float64 `json:"negative-noise-scale,omitempty"`
	// ImportanceNegatives α in [0, 1] mixes into the energy's negative
	// phase the self-normalised importance-weighted mean of E(G(z)) with
	// weights exp(−E)/q (importance.go); with NegativeLangevinSteps,
	// and without ImportanceData also without latent and data dimensions
	// equal or with a BatchNormalization generator, it is off, with a
	// notice (stages.go). 0: off.
	// ImportanceFrom is the iteration (from 0) at which the mix starts;
	// before it the negative phase is mean E(G(z)).
	ImportanceNegatives float64 `json:"importance-negatives,omitempty"`
	ImportanceFrom      int     `json:"importance-from,omitempty"`
	// ImportanceSteps n > 0 raises the mix linearly from ImportanceStart
	// at ImportanceFrom to ImportanceNegatives n iterations later, so
	// that the generator's game fades out instead of stopping. 0: at
	// once.
	ImportanceSteps int `json:"importance-steps,omitempty"`
	// ImportanceStart, in [0, ImportanceNegatives], is the mix at
	// ImportanceFrom when ImportanceSteps ramps it.
	ImportanceStart float64 `json:"importance-start,omitempty"`
	// ImportanceBroad r > 0 adds to the weighted negatives r·BatchSize
	// draws from a Gaussian ImportanceBroadWidth times as wide as the
	// data, weighted by exp(−E) over its density and pooled with the
	// generator's samples, or with ImportanceData's draws over the two
	// laws' mixture (importance.go: they see where the energy falls away
	// from the data). 0: none.
	ImportanceBroad float64 `json:"importance-broad,omitempty"`
	// ImportanceBroadWidth is the broad Gaussian's standard deviation in
	// units of the data's (0: 2).
	ImportanceBroadWidth float64 `json:"importance-broad-width,omitempty"`
	// ImportanceData r > 0 takes the weighted negatives instead on
	// r·BatchSize draws around the batch's data rows, from Gaussian
	// kernels of standard deviation ImportanceWidth (0: 0.05) times the
	// data's, pooled with the broad draws if any and weighted by exp(−E)
	// over the mixture's density (importance.go: every well the data
	// visits is sampled, whatever the generator covers). Data of more
	// than two features drop them with a notice (stages.go). 0: none.
	ImportanceData  float64 `json:"importance-data,omitempty"`
	ImportanceWidth float64 `json:"importance-width,omitempty"`
	// GeneratorMatch β > 0 adds to the generator's loss, from
	// GeneratorMatchFrom on (from 0), β times a distance
	// (GeneratorMatchKind) between its samples and the
	// importance-weighted data draws, a sample of the model density p_θ
	// (match.go: it brings the generator to wells the reverse KL leaves
	// empty); the draws are ImportanceData's (one per data row if 0).
	// Data of more than two features drop it with a notice (stages.go).
	// 0: off.
	GeneratorMatch float64 `json:"generator-match,omitempty"`
	// GeneratorMatchFrom is the iteration (from 0) at which the match
	// term starts.
	GeneratorMatchFrom int `json:"generator-match-from,omitempty"`
	// GeneratorMatchSteps n > 0 lowers the match term's weight linearly
	// from GeneratorMatch at GeneratorMatchFrom to 0 n iterations later.
	// 0: constant.
	GeneratorMatchSteps int `json:"generator-match-steps,omitempty"`
	// GeneratorMatchKind is the match term's distance: MatchNearest
	// ("", each weighted draw's squared distance to its nearest sample)
	// or MatchEnergy (the energy distance).
	GeneratorMatchKind string `json:"generator-match-kind,omitempty"`
	// GeneratorMatchTarget is what the match term matches: MatchModel
	// ("", the weighted draws of p_θ) or MatchData (the batch's data
	// rows, equally weighted).
	GeneratorMatchTarget string `json:"generator-match-target,omitempty"`
	// DiffusionSigmas, when set, replaces the noise levels of the
	// diffusion bound (bounds.DefaultSigmas).
	DiffusionSigmas []float64 `json:"diffusion-sigmas,omitempty"`
	// LateSigmas, when set, are the diffusion bound's noise levels from
	// iteration LateFrom (from 0) on: the energy step's late stage
	// (stages.go). Before it the levels are DiffusionSigmas or the
	// bound's own.
	LateSigmas []float64 `json:"late-sigmas,omitempty"`
	LateFrom   int       `json:"late-from,omitempty"`

	// Precision is the element type of the training graphs, "float64" or
	// "float32". Parameters and the optimizer state are float64 either
	// way, and so is the per-example d×d work of the exact Jacobian terms
	// (½ log det JᵀJ, s_min). A float32 step takes about 0.7× the CPU time
	// of a float64 one and gives its gradients to about 1e-6; runs then
	// differ as runs on another BLAS do, not systematically
	// (bench/float32.md). float64 is the default.
	Precision string `json:"precision"`

	LogEvery        int    `json:"log-every"`        // iterations per metrics row
	CheckpointEvery int    `json:"checkpoint-every"` // iterations per checkpoint (0: only at the end)
	KeepCheckpoints int    `json:"keep-checkpoints"` // checkpoint files kept (0: all)
	Out             string `json:"out"`
	Resume          bool   `json:"resume"`

	Selection // the checkpoint exported (selection.go)
	// Opset is the ONNX operator set version of the exported models, from
	// export.MinOpset to export.MaxOpset (default export.Opset, 17).
	Opset int64 `json:"opset,omitempty"`
}

// DefaultOptions returns the paper's toy networks (a 2-100-100-1 PReLU
// energy, a 2-100-100-2 PReLU generator, batch 200, one energy step per
// generator step) trained for 20 000 iterations, the horizon of its
// learning-rate decay, with the recipe RecipeDefault: the Jacobian lower
// bound and the diffusion upper bound, Adam (β1 = 0, β2 = 0.9) at 3e-3
// with warm-up and cosine decay, the parameter average, and from
// iteration 10 000 the late stage (small noise levels and
// importance-weighted negatives). The paper's own settings are
// RecipePaper (Options.ApplyRecipe).
//
// The paper's toy generator also has BatchNorm; it is off by default here
// (GeneratorBatchNorm turns it on; the bounds then see the generator in
// inference mode, with running statistics: see inferenceNets).
func DefaultOptions() Options {
	o := Options{
		Data:               "toy:25gaussians",
		DataRows:           100000,
		Energy:             "mlp:2-100-100-1:prelu",
		Generator:          "mlp:2-100-100-2:prelu",
		GeneratorBatchNorm: false,
		Steps:              20000,
		EnergySteps:        1,
		GeneratorSteps:     1,
		BatchSize:          200,
		Seed:               1,
		LRGamma:            0.5,
		Precision:          "float64",
		SpectralNorm:       false,
		LogEvery:           100,
		CheckpointEvery:    1000,
		KeepCheckpoints:    3,
		BracketSamples:     bounds.MonitorDraws,
		Out:                "run",
		Opset:              export.Opset,

		NegativeStepSize:   DefaultNegativeStepSize,
		NegativeNoiseScale: DefaultNegativeNoiseScale,
	}
	recipes[0].apply(&o) // RecipeDefault
	return o
}

// Check reports every missing or invalid option, each a *fielderr.Error
// naming the option's field.
func (o *Options) Check() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fielderr.Errorf(format, args...)) }
	for _, f := range []struct{ field, v string }{
		{"Data", o.Data}, {"Energy", o.Energy}, {"Generator", o.Generator},
		{"Lower", o.Lower}, {"Upper", o.Upper}, {"Out", o.Out},
	} {
		if strings.TrimSpace(f.v) == "" {
			add("{" + f.field + "} is required")
		}
	}
	if _, err := o.dtype(); err != nil {
		add("{Precision}: %v", err)
	}
	if o.Opset < export.MinOpset || o.Opset > export.MaxOpset {
		add("{Opset} %d: want %d to %d", o.Opset, export.MinOpset, export.MaxOpset)
	}
	if o.Lower != "" {
		errs = append(errs, o.checkBounds()...)
	}
	positive := []struct {
		field string
		v     int
	}{{"Steps", o.Steps}, {"EnergySteps", o.EnergySteps}, {"GeneratorSteps", o.GeneratorSteps},
		{"BatchSize", o.BatchSize}, {"LogEvery", o.LogEvery}}
	for _, p := range positive {
		if p.v < 1 {
			add("{"+p.field+"} %d: must be at least 1", p.v)
		}
	}
	if o.BatchSize == 1 {
		add("{BatchSize} 1: need at least 2 rows (batch statistics, means)")
	}
	for _, p := range []struct {
		field string
		v     int
	}{{"DataRows", o.DataRows}, {"CheckpointEvery", o.CheckpointEvery}, {"KeepCheckpoints", o.KeepCheckpoints}} {
		if p.v < 0 {
			add("{"+p.field+"} %d: must not be negative", p.v)
		}
	}
	if strings.HasPrefix(o.Data, "toy:") && o.DataRows < 1 {
		add("{DataRows} %d: a toy data set needs at least 1 point", o.DataRows)
	}
	for _, f := range []struct {
		field string
		v     float64
	}{{"LREnergy", o.LREnergy}, {"LRGenerator", o.LRGenerator}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			add("{"+f.field+"} %v: must be a positive number", f.v)
		}
	}
	if !(o.Beta2 >= 0 && o.Beta2 < 1) {
		add("{Beta2} %v: must be in [0, 1)", o.Beta2)
	}
	for _, f := range []struct {
		field string
		v     *float64
	}{{"LambdaH", o.LambdaH}, {"LambdaGP", o.LambdaGP}, {"Tau", o.Tau}} {
		if f.v != nil && !(*f.v >= 0 && !math.IsInf(*f.v, 0)) {
			add("{"+f.field+"} %v: must be a finite non-negative number", *f.v)
		}
	}
	if v := o.LSIConstant; v != nil && !(*v > 0 && !math.IsInf(*v, 0)) {
		add("{LSIConstant} %v: must be a positive number", *v)
	}
	if o.BracketEvery < 0 {
		add("{BracketEvery} %d: must not be negative", o.BracketEvery)
	}
	if o.BracketEvery > 0 && o.BracketSamples < 16 {
		add("{BracketSamples} %d: need at least 16", o.BracketSamples)
	}
	errs = append(errs, o.Selection.Check())
	if o.LambdaGPDecay && o.LambdaGP != nil {
		add("{LambdaGPDecay} and {LambdaGP} %v: choose one", *o.LambdaGP)
	}
	errs = append(errs, o.checkTools()...)
	return errors.Join(errs...)
}

// checkBounds reports unknown bound names (those of package bounds are
// known), and an encoder given to a lower bound that takes none or missing
// from one that needs it.
func (o *Options) checkBounds() []error {
	var errs []error
	lower, err := bounds.LowerByName(o.Lower)
	if err != nil {
		errs = append(errs, fielderr.Errorf("{Lower} %q: want %s", o.Lower, oneOf(bounds.LowerNames())))
	}
	if _, mi := lower.(*bounds.MutualInformationEntropy); err == nil && mi && o.Encoder == "" {
		errs = append(errs, fielderr.Errorf("{Lower} %s needs {Encoder}: a network from a data row to a latent mean and log-variance, twice the latent width (mlp:2-100-100-4 with the default 2-D networks)", o.Lower))
	} else if err == nil && !mi && o.Encoder != "" {
		errs = append(errs, fielderr.Errorf("{Encoder} %q is only used by {Lower} %s", o.Encoder, bounds.NewMutualInformationEntropy().Name()))
	}
	if o.Upper != "" && !slices.Contains(bounds.UpperNames(), o.Upper) {
		errs = append(errs, fielderr.Errorf("{Upper} %q: want %s", o.Upper, oneOf(bounds.UpperNames())))
	}
	return errs
}

// oneOf lists names for a message: "a, b or c".
func oneOf(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// dtype returns the element type Precision names.
func (o *Options) dtype() (autodiff.Dtype, error) {
	switch o.Precision {
	case "float32":
		return autodiff.Float32, nil
	case "float64":
		return autodiff.Float64, nil
	}
	return 0, fmt.Errorf("%q: want float32 or float64", o.Precision)
}
