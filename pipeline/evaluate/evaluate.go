package evaluate

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/ebmpipe/ebmpipe/pipeline/logz"

	"cmp"

	"github.com/ebmpipe/ebmpipe/internal/rows"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// A LogLik is a mean log-likelihood over rows, in nats per example.
type LogLik struct {
	Mean   float64
	StdErr float64 // standard error of the mean
	Rows   int
}

// NewLogLik returns the mean and standard error of v.
func NewLogLik(v []float64) LogLik {
	n := float64(len(v))
	mean := 0.0
	for _, x := range v {
		mean += x
	}
	mean /= n
	ss := 0.0
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return LogLik{Mean: mean, StdErr: math.Sqrt(ss / (n - 1) / n), Rows: len(v)}
}

// BracketBound returns the bound name of m, or NaN with a note if it was
// not evaluated or is no bound (notBounds, or its own condition, gives
// the reason: a value marked "not a bound", such as the Jacobian lower
// bounds of a folding generator, is not returned as one).
func BracketBound(m map[string]BoundValue, notBounds map[string]string, name, side string, note func(string)) BoundValue {
	v, ok := m[name]
	if ok && !v.notBound() {
		return v
	}
	why, no := notBounds[name]
	if ok {
		why, no = v.Condition, true
	}
	if no {
		note(fmt.Sprintf("the %s bound %s is no bound on the exported models: %s", side, name, strings.TrimPrefix(why, "not a bound: ")))
	} else if name != "none" {
		note(fmt.Sprintf("the %s bound %s cannot be evaluated on the exported models (evaluated: %s)", side, name, strings.Join(slices.Sorted(maps.Keys(m)), ", ")))
	}
	return BoundValue{Value: math.NaN(), StdErr: math.NaN()}
}

// notBound reports a value that its condition marks as no bound on the
// pair.
func (v BoundValue) notBound() bool { return strings.HasPrefix(v.Condition, "not a bound") }

// MeanLogDensity returns the mean of the log_density column of a score
// file.
func MeanLogDensity(path string) (LogLik, error) {
	r, err := rows.OpenReader(path, rows.ReadOptions{})
	if err != nil {
		return LogLik{}, err
	}
	defer r.Close()
	col := slices.Index(r.Columns(), "log_density")
	if col < 0 {
		return LogLik{}, fmt.Errorf("%s: no log_density column (columns %q)", path, r.Columns())
	}
	w := r.Width()
	var v []float64
	buf := make([]float64, 1024*w)
	for {
		n, err := r.Read(buf)
		for i := range n {
			v = append(v, buf[i*w+col])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return LogLik{}, err
		}
	}
	if len(v) < 2 {
		return LogLik{}, fmt.Errorf("%s: %d rows; need at least 2", path, len(v))
	}
	return NewLogLik(v), nil
}

// GaussianLogLik returns the log-likelihood of test's rows under a single
// Gaussian fitted to the training rows x (as read).
func GaussianLogLik(x []float64, test *data.Dataset) LogLik {
	d := test.Width
	g := logz.FitGaussian(x, d)
	rows := test.Raw()
	v := make([]float64, test.Rows)
	for i := range v {
		v[i] = g.LogProb(rows[i*d : (i+1)*d])
	}
	return NewLogLik(v)
}

// WriteBoundsTable writes a bounds report as a table: the certified
// bracket first, then one bound a line, lower bounds then upper bounds,
// with their standard errors and conditions, then the mean energies.
func WriteBoundsTable(w io.Writer, rep *BoundsReport) error {
	var b strings.Builder
	writeCertified(&b, rep.Certified)
	fmt.Fprintf(&b, "\n%-8s %-16s %12s %10s  %s\n", "side", "bound", "NLL bound", "stderr", "condition")
	for _, side := range []struct {
		name string
		m    map[string]BoundValue
	}{{"lower", rep.Lower}, {"upper", rep.Upper}} {
		for _, k := range slices.Sorted(maps.Keys(side.m)) {
			v := side.m[k]
			if v.notBound() { // a number here would read as a bound
				fmt.Fprintf(&b, "%-8s %-16s %12s %10s  %s\n", side.name, k, "-", "-", v.Condition)
				continue
			}
			fmt.Fprintf(&b, "%-8s %-16s %12.4f %10.4f  %s\n", side.name, k, v.Value, v.StdErr, cmp.Or(v.Condition, "-"))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(rep.NotBounds)) {
		fmt.Fprintf(&b, "%-8s %-16s %12s %10s  %s\n", "upper", k, "-", "-", rep.NotBounds[k])
	}
	fmt.Fprintf(&b, "\nmean energy: data %.4f, model samples %.4f (%d samples; upper bounds over %s)\n",
		rep.EnergyDataMean, rep.EnergyModelMean, rep.Samples, rep.Ref)
	if rep.NLL != nil {
		fmt.Fprintf(&b, "NLL from the model's log Z: %.4f ± %.4f\n", rep.NLL.Value, rep.NLL.StdErr)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCertified writes the certified bracket: its ends with their
// confidence limits, and its width.
func writeCertified(b *strings.Builder, c *CertifiedBracket) {
	if c == nil {
		return
	}
	end := func(s BracketSide) string {
		if !s.Available {
			return "n/a"
		}
		return fmt.Sprintf("%.4f ± %.4f (limit %.4f)", s.Value, s.StdErr, s.Limit)
	}
	fmt.Fprintf(b, "certified bracket (no unknown constant): iw-lower %s ≤ NLL ≤ chi2-upper %s\n", end(c.Lower), end(c.Upper))
	if c.Width != nil {
		fmt.Fprintf(b, "  width between the 95%% limits: %.4f nats", *c.Width)
		if c.TailK != nil {
			fmt.Fprintf(b, " (K = %d, Pareto k̂ of w² %.2f)", c.K, *c.TailK)
		}
		fmt.Fprintln(b)
	}
	if c.Samples > 0 {
		fmt.Fprintf(b, "  %d latent draws, %s", c.Samples, c.Proposal)
		if c.Width == nil && c.TailK != nil {
			fmt.Fprintf(b, " (Pareto k̂ of w² %.2f)", *c.TailK)
		}
		fmt.Fprintln(b)
	}
	for _, s := range []struct {
		name string
		v    BracketSide
	}{{"lower", c.Lower}, {"upper", c.Upper}} {
		if !s.v.Certified {
			fmt.Fprintf(b, "  %s: not certified: %s\n", s.name, s.v.Condition)
		} else if s.v.Condition != "" {
			fmt.Fprintf(b, "  %s: %s\n", s.name, s.v.Condition)
		}
	}
}
