package bounds

import (
	"math"
	"slices"
)

// ParetoK returns the Pareto shape estimate k̂ of the upper tail of the
// values y_i = exp(logY_i), as in Pareto-smoothed importance sampling
// (Vehtari, Simpson, Gelman, Yao and Gabry, "Pareto smoothed importance
// sampling", JMLR 2024): a generalised Pareto distribution is fitted, by
// the method of Zhang and Stephens (2009) with PSIS's weakly informative
// prior, to the exceedances of the M = ⌈min(n/5, 3√n)⌉ largest values
// over the next largest. The mean of the y_i has a finite variance when
// k < ½ and exists when k < 1; PSIS counts a Monte-Carlo mean reliable
// for k̂ ≤ 0.7. ParetoK returns NaN for fewer than 25 values (M < 5) and
// −Inf when the tail is flat (all the largest values equal, as for
// constant weights).
func ParetoK(logY []float64) float64 {
	n := len(logY)
	m := int(math.Ceil(math.Min(0.2*float64(n), 3*math.Sqrt(float64(n)))))
	if m < 5 {
		return math.NaN()
	}
	ly := slices.Clone(logY)
	slices.Sort(ly)
	top := ly[n-1]
	if math.IsInf(top, 0) || math.IsNaN(top) {
		return math.NaN()
	}
	cut := math.Exp(ly[n-m-1] - top)
	tail := make([]float64, m)
	for i, v := range ly[n-m:] {
		tail[i] = math.Exp(v-top) - cut
	}
	if tail[m-1] <= 1e-12 {
		return math.Inf(-1)
	}
	return gpdShape(tail)
}

// gpdShape fits the shape k of a generalised Pareto distribution to the
// sorted non-negative exceedances x (Zhang and Stephens 2009: the
// posterior mean of θ = −k/σ on a grid, profile likelihood weights), and
// shrinks it towards ½ by the prior of PSIS: k·n/(n + 10) + 5/(n + 10).
func gpdShape(x []float64) float64 {
	n := len(x)
	const prior = 3
	grid := 30 + int(math.Sqrt(float64(n)))
	xstar := x[max(0, int(float64(n)/4+0.5)-1)] // first quartile
	if xstar <= 0 {
		xstar = x[n-1] / float64(n)
	}
	theta := make([]float64, grid)
	logLik := make([]float64, grid)
	kOf := func(th float64) float64 {
		s := 0.0
		for _, v := range x {
			s += math.Log1p(-th * v)
		}
		return s / float64(n)
	}
	top := math.Inf(-1)
	for j := range theta {
		theta[j] = 1/x[n-1] + (1-math.Sqrt(float64(grid)/(float64(j+1)-0.5)))/(prior*xstar)
		k := kOf(theta[j])
		logLik[j] = float64(n) * (math.Log(-theta[j]/k) - k - 1)
		if math.IsNaN(logLik[j]) {
			logLik[j] = math.Inf(-1)
		}
		top = math.Max(top, logLik[j])
	}
	num, den := 0.0, 0.0
	for j, l := range logLik {
		w := math.Exp(l - top)
		num += w * theta[j]
		den += w
	}
	k := kOf(num / den)
	return k*float64(n)/float64(n+10) + 5/float64(n+10)
}
