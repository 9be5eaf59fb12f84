package logz

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distmv"
	"gonum.org/v1/gonum/stat/distuv"
)

// A Gaussian is a normal distribution N(mean, scale²·Σ), with Σ fitted to
// rows of data: a full covariance matrix, or a diagonal one for wide rows.
type Gaussian struct {
	mean  []float64
	chol  *mat.Cholesky  // Σ = LLᵀ; nil when Σ is diagonal
	l     *mat.TriDense  // L, to draw samples
	sd    []float64      // √Σ_jj when Σ is diagonal
	scale float64        // the spread's factor
	logW  float64        // log mixture weight
	full  *distmv.Normal // N(mean, scale²·Σ) when Σ is full
}

// FitGaussian fits a normal distribution to the rows of x (rows of d
// values), with a full covariance if there are more than 2d rows and
// d ≤ 256, else a diagonal one. A small ridge keeps the covariance
// positive definite.
func FitGaussian(x []float64, d int) *Gaussian {
	g := fitGaussian(x, d, 0, len(x)/d).widened(1, 1)
	return &g
}

// LogProb returns the log density of g at x.
func (g *Gaussian) LogProb(x []float64) float64 { return g.logPDF(x, nil) }

// fitGaussian fits a normal distribution to rows [start,end) of x (width d),
// with a full covariance if there are enough rows and d ≤ maxFullCovDim, else
// a diagonal one. A small ridge keeps the covariance positive definite.
func fitGaussian(x []float64, d, start, end int) Gaussian {
	n := end - start
	rows := mat.NewDense(n, d, x[start*d:end*d])
	g := Gaussian{mean: make([]float64, d), scale: 1}
	variance := make([]float64, d)
	col := make([]float64, n)
	for j := range d {
		mat.Col(col, j, rows)
		g.mean[j] = stat.Mean(col, nil)
		if n > 1 {
			variance[j] = stat.Variance(col, nil)
		}
	}
	ridge := 1e-6*stat.Mean(variance, nil) + 1e-12
	if d <= maxFullCovDim && n > 2*d {
		var cov mat.SymDense
		stat.CovarianceMatrix(&cov, rows, nil)
		for a := range d {
			cov.SetSym(a, a, cov.At(a, a)+ridge)
		}
		var chol mat.Cholesky
		if chol.Factorize(&cov) {
			g.chol, g.l = &chol, mat.NewTriDense(d, mat.Lower, nil)
			chol.LTo(g.l)
			return g
		}
	}
	g.sd = make([]float64, d)
	for j, v := range variance {
		g.sd[j] = math.Sqrt(v + ridge)
	}
	return g
}

// widened returns g with its spread multiplied by s and mixture weight w.
func (g Gaussian) widened(s, w float64) Gaussian {
	g.scale = s
	g.logW = math.Log(w)
	if g.chol != nil {
		var c mat.Cholesky
		c.Scale(s*s, g.chol)
		g.full = distmv.NewNormalChol(g.mean, &c, nil)
	}
	return g
}

// sample writes a draw into x, using z as scratch for d standard normals.
func (g *Gaussian) sample(r *rand.Rand, x, z []float64) {
	for j := range z {
		z[j] = r.NormFloat64()
	}
	if g.l == nil {
		for i, m := range g.mean {
			x[i] = m + g.scale*g.sd[i]*z[i]
		}
		return
	}
	xv := mat.NewVecDense(len(x), x)
	xv.MulVec(g.l, mat.NewVecDense(len(z), z))
	for i, m := range g.mean {
		x[i] = m + g.scale*x[i]
	}
}

// logPDF returns log N(x) + log weight. z is not used; it is there for
// the callers' scratch space.
func (g *Gaussian) logPDF(x, _ []float64) float64 {
	if g.full != nil {
		return g.logW + g.full.LogProb(x)
	}
	lp := g.logW
	for j, m := range g.mean {
		lp += distuv.Normal{Mu: m, Sigma: g.scale * g.sd[j]}.LogProb(x[j])
	}
	return lp
}
