package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/onnx/flow"
	"github.com/ebmpipe/ebmpipe/onnx/mlp"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"
	"github.com/ebmpipe/ebmpipe/pipeline/evaluate"
	"github.com/ebmpipe/ebmpipe/pipeline/logz"
	"github.com/ebmpipe/ebmpipe/pipeline/quality"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// QualitySamples is the number of generator samples SampleQuality draws.
const QualitySamples = 5000

// qualityBatch is the number of latent rows per generator run.
const qualityBatch = 1000

// SampleQuality is how close a generator's samples are to the data, in
// the data's units as read (an exported generator gives raw rows).
type SampleQuality struct {
	// Samples is the number of generator samples drawn.
	Samples int `json:"samples"`
	// Toy names the toy set whose law the measures below use, or is
	// empty for other data.
	Toy string `json:"toy,omitempty"`
	// Coverage is the generator samples' mode coverage and high-quality
	// share (quality.Mixture.Coverage at 3σ and 1 %), for the Gaussian
	// mixture toy sets (25gaussians, 8gaussians); nil otherwise.
	Coverage *Coverage `json:"coverage,omitempty"`
	// Truth is the mean exact log-density of the held-out rows under the
	// toy set's true law (25gaussians, 8gaussians, rings), the best a
	// model can score on them; nil otherwise or when the held-out rows do
	// not come from that law.
	Truth *Estimate `json:"truth,omitempty"`
	// Distance is the energy distance between the generator samples and
	// the held-out rows, with its permutation-test p-value.
	Distance TwoSample `json:"energy_distance"`
}

// Coverage is quality.Coverage with JSON names.
type Coverage struct {
	Modes       int     `json:"modes"`
	Total       int     `json:"total"`
	HighQuality float64 `json:"high_quality"`
	Counts      []int   `json:"counts"`
}

// TwoSample is quality.TwoSample with JSON names.
type TwoSample struct {
	Value        float64 `json:"value"`
	PValue       float64 `json:"p_value"`
	Permutations int     `json:"permutations"`
	N            int     `json:"n"`
	M            int     `json:"m"`
}

// ToyName returns NAME for a data spec toy:NAME, or "".
func ToyName(spec string) string {
	name, _ := strings.CutPrefix(spec, "toy:")
	if name == spec {
		return ""
	}
	return name
}

// MeasureSamples draws QualitySamples rows from the exported generator at
// path (z ~ N(0, I), seeded by seed) and compares them with the held-out
// rows heldOut (rows of width values, as read): the energy distance for
// any data; for the toy set toy (a name such as "25gaussians", or "" for
// other data) the mode coverage of a Gaussian mixture; and, when
// heldOutToy is true (the held-out rows are draws of that toy set), the
// exact log-likelihood of the held-out rows under its true law.
func MeasureSamples(ctx context.Context, path, toy string, heldOutToy bool, heldOut []float64, width int, seed uint64) (*SampleQuality, error) {
	x, err := generate(ctx, path, width, QualitySamples, seed)
	if err != nil {
		return nil, err
	}
	return measure(ctx, x, toy, heldOutToy, heldOut, width, seed)
}

// measure compares the samples x with the held-out rows as MeasureSamples
// describes.
func measure(ctx context.Context, x []float64, toy string, heldOutToy bool, heldOut []float64, width int, seed uint64) (*SampleQuality, error) {
	q := &SampleQuality{Samples: len(x) / width}
	if m, ok := quality.ToyMixture(toy); ok && m.Dim() == width {
		c, err := m.Coverage(x, quality.DefaultCoverageOptions())
		if err != nil {
			return nil, fmt.Errorf("mode coverage: %w", err)
		}
		q.Toy = toy
		q.Coverage = &Coverage{Modes: c.Modes, Total: c.Total, HighQuality: c.HighQuality, Counts: c.Counts}
	}
	if d, ok := quality.ExactDensity(toy); ok && heldOutToy && d.Dim() == width {
		v := make([]float64, len(heldOut)/width)
		for i := range v {
			v[i] = d.LogDensity(heldOut[i*width : (i+1)*width])
		}
		ll := evaluate.NewLogLik(v)
		q.Toy, q.Truth = toy, &Estimate{Value: ll.Mean, StdErr: ll.StdErr}
	}
	to := quality.DefaultTwoSampleOptions()
	to.Seed = seed
	ts, err := quality.EnergyDistance(ctx, x, heldOut, width, to)
	if err != nil {
		return nil, fmt.Errorf("energy distance: %w", err)
	}
	q.Distance = TwoSample{Value: ts.Value, PValue: ts.PValue, Permutations: ts.Permutations, N: ts.N, M: ts.M}
	return q, nil
}

// generate draws n rows of width values from the exported generator at
// path on the Go engine.
func generate(ctx context.Context, path string, width, n int, seed uint64) ([]float64, error) {
	m, err := export.LoadKind(path, export.KindGenerator, "Generator")
	if err != nil {
		return nil, err
	}
	g, err := engine.NewGoEngine(m, qualityBatch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer g.Close()
	if outs := g.Outputs(); len(outs) != 1 || outs[0].Width != 0 && outs[0].Width != width {
		return nil, fmt.Errorf("%s: want one output of rows of %d values, like the data; the generator has %s", path, width, engine.DescribePorts(outs))
	}
	rng := rand.New(rand.NewPCG(seed, 0x9a11_7e5a_3b1e_5eed))
	x, err := logz.Generate(ctx, g, n, width, qualityBatch, rng)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: sample %d value %d is %v", path, i/width, i%width, v)
		}
	}
	return x, nil
}

// String sums q up on a few lines, for people.
func (q *SampleQuality) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "generator samples (%d) against the held-out rows: energy distance %.4g (permutation p = %.3g, %d permutations, %d and %d rows)\n",
		q.Samples, q.Distance.Value, q.Distance.PValue, q.Distance.Permutations, q.Distance.N, q.Distance.M)
	if c := q.Coverage; c != nil {
		fmt.Fprintf(&b, "mode coverage (%s): %d/%d modes covered, %.1f%% high-quality samples (within 3σ of a mode; a mode counts with ≥ 1%% of the samples)\n",
			q.Toy, c.Modes, c.Total, 100*c.HighQuality)
	}
	if t := q.Truth; t != nil {
		fmt.Fprintf(&b, "true %s density on the held-out rows: %.4f ± %.4f nats per example (the best any model can score)\n", q.Toy, t.Value, t.StdErr)
	}
	return b.String()
}

// BoundsSampleQuality compares the generator of a bounds evaluation with
// its data rows, read as EvaluateBounds reads them (MeasureSamples; the
// toy measures when o.Data is a toy set). A generator given as a built-in
// spec (mlp:, flow:) rather than a file is freshly initialised, not
// trained: there is nothing to measure, and the result is nil.
func BoundsSampleQuality(ctx context.Context, o evaluate.BoundsOptions) (*SampleQuality, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	if mlp.IsSpec(o.Generator) || flow.IsSpec(o.Generator) {
		return nil, nil
	}
	ds, err := data.LoadData(o.Data, o.DataRows, o.Seed)
	if err != nil {
		return nil, fielderr.Errorf("{Data}: %w", err)
	}
	toy := ToyName(o.Data)
	return MeasureSamples(ctx, o.Generator, toy, toy != "", ds.Data, ds.Width, o.Seed)
}
