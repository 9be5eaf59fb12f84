package pipeline

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/ebmpipe/ebmpipe/internal/atomicfile"
	"github.com/ebmpipe/ebmpipe/train"
)

// ResultsFile is the file a run writes its numbers to, in its output
// directory: RunResults as JSON.
const ResultsFile = "results.json"

// An Estimate is a value and its standard error; null in JSON when not
// finite (a bound that could not be evaluated).
type Estimate struct {
	Value  float64 `json:"value"`
	StdErr float64 `json:"stderr"`
}

// RunResults are the numbers of a run, as written to OUT/results.json: all
// in nats per example, on the held-out rows unless said otherwise.
type RunResults struct {
	Data  string `json:"data"`
	Steps int    `json:"steps"`
	// Lower and Upper name the training bound pair; Bracket holds their
	// values on the held-out rows (null when not evaluated).
	Lower   string                `json:"lower"`
	Upper   string                `json:"upper"`
	Bracket map[string]*Estimate  `json:"bracket"`
	LogZ    Estimate              `json:"log_z"`
	Test    *Estimate             `json:"test_loglik"`
	Rows    int                   `json:"test_rows"`
	Gauss   *Estimate             `json:"gaussian_loglik"`
	Engine  string                `json:"engine"`
	Quality *SampleQuality        `json:"sample_quality,omitempty"`
	Select  *train.SelectedResult `json:"selected,omitempty"`
	Seconds float64               `json:"seconds"`
}

// estimate returns v ± se, or nil if v is not finite.
func estimate(v, se float64) *Estimate {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	if math.IsNaN(se) || math.IsInf(se, 0) {
		se = 0
	}
	return &Estimate{Value: v, StdErr: se}
}

// Results returns the numbers of r for results.json.
func (r *RunResult) Results() *RunResults {
	o := r.Options
	out := &RunResults{
		Data: o.Train.Data, Steps: r.Train.Steps, Lower: o.Train.Lower, Upper: o.Train.Upper,
		Bracket: map[string]*Estimate{"lower": estimate(r.Lower.Value, r.Lower.StdErr), "upper": estimate(r.Upper.Value, r.Upper.StdErr)},
		Test:    estimate(r.Test.Mean, r.Test.StdErr), Rows: r.Test.Rows,
		Gauss:  estimate(r.Gaussian.Mean, r.Gaussian.StdErr),
		Engine: r.Engine, Quality: r.Quality, Select: r.Selected,
		Seconds: r.Duration.Seconds(),
	}
	if e := estimate(r.LogZ.Value, r.LogZ.StdErr); e != nil {
		out.LogZ = *e
	}
	return out
}

// writeResults writes r's numbers to path atomically.
func (r *RunResult) writeResults(path string) error {
	b, err := json.MarshalIndent(r.Results(), "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
