package quality

import (
	"errors"
	"fmt"
	"math"
)

// CoverageOptions set when a sample is high-quality and when a mode is
// covered.
type CoverageOptions struct {
	// Radius is the distance, in units of the mixture's Sigma, within which
	// a sample counts as a sample of a mode (3).
	Radius float64
	// MinShare is the share of all samples a mode needs within Radius·Sigma
	// to count as covered (0.01).
	MinShare float64
}

// DefaultCoverageOptions returns the GAN literature's settings: 3σ, 1 %.
func DefaultCoverageOptions() CoverageOptions {
	return CoverageOptions{Radius: 3, MinShare: 0.01}
}

// Check reports every problem of o at once.
func (o CoverageOptions) Check() error {
	var errs []error
	if !(o.Radius > 0) || math.IsInf(o.Radius, 0) {
		errs = append(errs, fmt.Errorf("coverage Radius %v: need a finite value > 0", o.Radius))
	}
	if !(o.MinShare > 0 && o.MinShare <= 1) {
		errs = append(errs, fmt.Errorf("coverage MinShare %v: need a value in (0, 1]", o.MinShare))
	}
	return errors.Join(errs...)
}

// Coverage is how a set of samples covers the modes of a Mixture.
type Coverage struct {
	Modes       int     // modes covered
	Total       int     // modes of the mixture
	HighQuality float64 // share of samples within Radius·Sigma of some centre
	Counts      []int   // per mode, the samples within Radius·Sigma whose nearest centre it is
	N           int     // samples
}

// String returns e.g. "25/25 modes, 98.9% high-quality (n=2000)".
func (c Coverage) String() string {
	return fmt.Sprintf("%d/%d modes, %.1f%% high-quality (n=%d)", c.Modes, c.Total, 100*c.HighQuality, c.N)
}

// Coverage returns how samples, rows of m.Dim() values one after another,
// cover m's modes. A sample counts for its nearest centre only, so that no
// sample counts twice when the balls overlap.
func (m Mixture) Coverage(samples []float64, o CoverageOptions) (Coverage, error) {
	if err := errors.Join(m.Check(), o.Check()); err != nil {
		return Coverage{}, err
	}
	dim := m.Dim()
	n, err := countRows(samples, dim, "samples")
	if err != nil {
		return Coverage{}, err
	}
	r2 := o.Radius * o.Radius * m.Sigma * m.Sigma
	c := Coverage{Total: len(m.Centres), Counts: make([]int, len(m.Centres)), N: n}
	near := 0
	for i := range n {
		x := samples[i*dim : (i+1)*dim]
		best, bestD := -1, math.Inf(1)
		for k, ctr := range m.Centres {
			if d := sqDist(x, ctr); d < bestD {
				best, bestD = k, d
			}
		}
		if bestD <= r2 {
			c.Counts[best]++
			near++
		}
	}
	for _, k := range c.Counts {
		if float64(k) >= o.MinShare*float64(n) {
			c.Modes++
		}
	}
	c.HighQuality = float64(near) / float64(n)
	return c, nil
}
