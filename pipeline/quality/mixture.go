package quality

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
)

// A Density is a probability density on rows of Dim values.
type Density interface {
	// Dim returns the number of values in a row.
	Dim() int
	// LogDensity returns log p(x) for the row x of Dim values.
	LogDensity(x []float64) float64
}

// A Mixture is an equal-weight mixture of isotropic Gaussians: a row is
// drawn by picking a centre uniformly at random and adding Gaussian noise
// of standard deviation Sigma to each value.
type Mixture struct {
	Centres [][]float64 // one row per mode, all of the same length
	Sigma   float64     // per-value standard deviation of every mode
}

// Check reports every problem of m at once.
func (m Mixture) Check() error {
	var errs []error
	if len(m.Centres) == 0 {
		errs = append(errs, errors.New("mixture has no centres"))
	} else if len(m.Centres[0]) == 0 {
		errs = append(errs, errors.New("mixture centre 0 has no values"))
	}
	for k, c := range m.Centres {
		if len(c) != len(m.Centres[0]) {
			errs = append(errs, fmt.Errorf("mixture centre %d has %d values, centre 0 has %d", k, len(c), len(m.Centres[0])))
		}
		for j, v := range c {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				errs = append(errs, fmt.Errorf("mixture centre %d value %d is %v", k, j, v))
			}
		}
	}
	if !(m.Sigma > 0) || math.IsInf(m.Sigma, 0) {
		errs = append(errs, fmt.Errorf("mixture Sigma %v: need a finite value > 0", m.Sigma))
	}
	return errors.Join(errs...)
}

// Dim returns the number of values in a row of m.
func (m Mixture) Dim() int {
	if len(m.Centres) == 0 {
		return 0
	}
	return len(m.Centres[0])
}

// LogDensity returns the log of m's density at the row x, which must have
// Dim values.
func (m Mixture) LogDensity(x []float64) float64 {
	d := m.Dim()
	terms := make([]float64, len(m.Centres))
	for k, c := range m.Centres {
		terms[k] = -sqDist(x, c) / (2 * m.Sigma * m.Sigma)
	}
	return floats.LogSumExp(terms) - math.Log(float64(len(m.Centres))) -
		float64(d)/2*math.Log(2*math.Pi*m.Sigma*m.Sigma)
}

// sqDist returns the squared Euclidean distance between a and b.
func sqDist(a, b []float64) float64 {
	s := 0.0
	for j, v := range a {
		d := v - b[j]
		s += d * d
	}
	return s
}

// MeanLogDensity returns the mean of d.LogDensity over rows, rows of
// d.Dim() values one after another: the held-out log-likelihood of the
// density, in nats per row.
func MeanLogDensity(d Density, rows []float64) (float64, error) {
	dim := d.Dim()
	n, err := countRows(rows, dim, "rows")
	if err != nil {
		return 0, err
	}
	s := 0.0
	for i := range n {
		s += d.LogDensity(rows[i*dim : (i+1)*dim])
	}
	return s / float64(n), nil
}

// countRows returns the number of rows of dim values in x (named name in
// errors), refusing an empty x, a partial row and non-finite values.
func countRows(x []float64, dim int, name string) (int, error) {
	if dim < 1 {
		return 0, fmt.Errorf("%s: row width %d, need at least 1", name, dim)
	}
	if len(x) == 0 || len(x)%dim != 0 {
		return 0, fmt.Errorf("%s: %d values do not make whole rows of %d (need at least one row)", name, len(x), dim)
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("%s: row %d value %d is %v", name, i/dim, i%dim, v)
		}
	}
	return len(x) / dim, nil
}
