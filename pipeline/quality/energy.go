package quality

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/blas/blas32"
)

// TwoSampleOptions set the sample sizes and the permutation test of
// EnergyDistance.
type TwoSampleOptions struct {
	// Permutations is the number of random relabellings of the pooled rows
	// in the permutation test (200); 0 skips the test.
	Permutations int
	// MaxRows is the number of rows kept of each sample (2000): a larger
	// sample is replaced by MaxRows of its rows chosen at random (seeded by
	// Seed), in their original order. Time and memory grow as the square
	// of the rows kept: 2000 + 2000 rows take 64 MB.
	MaxRows int
	// Seed seeds the subsampling and the permutations (1).
	Seed uint64
}

// DefaultTwoSampleOptions returns 200 permutations, at most 2000 rows a
// sample, seed 1.
func DefaultTwoSampleOptions() TwoSampleOptions {
	return TwoSampleOptions{Permutations: 200, MaxRows: 2000, Seed: 1}
}

// Check reports every problem of o at once.
func (o TwoSampleOptions) Check() error {
	var errs []error
	if o.Permutations < 0 {
		errs = append(errs, fmt.Errorf("two-sample Permutations %d: need at least 0", o.Permutations))
	}
	if o.MaxRows < 2 {
		errs = append(errs, fmt.Errorf("two-sample MaxRows %d: need at least 2", o.MaxRows))
	}
	return errors.Join(errs...)
}

// TwoSample is the result of a two-sample comparison.
type TwoSample struct {
	// Value is the energy distance estimate
	// 2·mean|x−y| − mean_{i≠j}|x_i−x_j| − mean_{i≠j}|y_i−y_j|: unbiased for
	// the energy distance of the two laws, so near 0 (and at times below
	// it) when they are equal.
	Value float64
	// PValue is the permutation test's p-value for "the two laws are
	// equal", (1 + #relabellings whose Value ≥ the observed one)/(1 +
	// Permutations); NaN when Permutations is 0.
	PValue       float64
	Permutations int
	N, M         int // rows of x and of y used (after subsampling)
}

// String returns e.g. "energy distance 0.0123 (p = 0.005, 200 permutations; n = 2000, m = 2000)".
func (t TwoSample) String() string {
	return fmt.Sprintf("energy distance %.4g (p = %.3g, %d permutations; n = %d, m = %d)", t.Value, t.PValue, t.Permutations, t.N, t.M)
}

// EnergyDistance compares the rows of x with the rows of y, rows of dim
// values one after another: the energy distance between the two samples
// and its permutation-test p-value. It takes O((n+m)²) time and memory
// after subsampling, and O(min(n,m)·(n+m)·Permutations/2) more for the
// test (the pairwise distances are computed once).
func EnergyDistance(ctx context.Context, x, y []float64, dim int, o TwoSampleOptions) (TwoSample, error) {
	if err := o.Check(); err != nil {
		return TwoSample{}, err
	}
	n, errX := countRows(x, dim, "x")
	m, errY := countRows(y, dim, "y")
	if err := errors.Join(errX, errY); err != nil {
		return TwoSample{}, err
	}
	if n < 2 || m < 2 {
		return TwoSample{}, fmt.Errorf("energy distance: x has %d rows, y %d: need at least 2 each", n, m)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed_e4e7_91d5_7a9c))
	x, n = subsample(x, n, dim, o.MaxRows, rng)
	y, m = subsample(y, m, dim, o.MaxRows, rng)
	p := newPooled(x, y, n, m, dim)
	res := TwoSample{Value: p.value, PValue: math.NaN(), Permutations: o.Permutations, N: n, M: m}
	if o.Permutations > 0 {
		pv, err := p.pValue(ctx, o.Permutations, rng)
		if err != nil {
			return TwoSample{}, err
		}
		res.PValue = pv
	}
	return res, nil
}

// subsample returns max of the n rows of x (dim values each) chosen by rng,
// in their order in x, or x itself if it has no more than max rows.
func subsample(x []float64, n, dim, max int, rng *rand.Rand) ([]float64, int) {
	if n <= max {
		return x, n
	}
	keep := rng.Perm(n)[:max]
	slices.Sort(keep)
	out := make([]float64, 0, max*dim)
	for _, i := range keep {
		out = append(out, x[i*dim:(i+1)*dim]...)
	}
	return out, max
}

// pooled holds the pairwise distances of the pooled rows, x's first.
type pooled struct {
	n, m  int
	value float64 // the energy distance of x and y, from float64 distances
	// dist is the N×N matrix of distances, N = n+m, stored as float32 to
	// halve memory and time; rowSum and total are its row sums and sum,
	// accumulated in float64 from the stored values, so that every
	// relabelling's statistic is computed from the same numbers.
	dist   []float32
	rowSum []float64
	total  float64
}

// newPooled computes the distances between the pooled rows.
func newPooled(x, y []float64, n, m, dim int) *pooled {
	N := n + m
	p := &pooled{n: n, m: m, dist: make([]float32, N*N), rowSum: make([]float64, N)}
	row := func(i int) []float64 {
		if i < n {
			return x[i*dim : (i+1)*dim]
		}
		return y[(i-n)*dim : (i-n+1)*dim]
	}
	var sxx, syy, sxy float64 // over unordered pairs
	for i := range N {
		a := row(i)
		for j := i + 1; j < N; j++ {
			d := math.Sqrt(sqDist(a, row(j)))
			f := float32(d)
			p.dist[i*N+j], p.dist[j*N+i] = f, f
			p.rowSum[i] += float64(f)
			p.rowSum[j] += float64(f)
			switch {
			case j < n:
				sxx += d
			case i >= n:
				syy += d
			default:
				sxy += d
			}
		}
	}
	for _, r := range p.rowSum {
		p.total += r
	}
	p.value = 2*sxy/float64(n*m) - 2*sxx/float64(n*(n-1)) - 2*syy/float64(m*(m-1))
	return p
}

// stat returns the energy distance of a labelling in which group A has k
// of the N pooled rows, from taa, the sum of the distances over ordered
// pairs of rows of A, and ra, the sum of A's row sums.
func (p *pooled) stat(k int, taa, ra float64) float64 {
	l := p.n + p.m - k
	tab := ra - taa
	tbb := p.total - taa - 2*tab
	return 2*tab/float64(k*l) - taa/float64(k*(k-1)) - tbb/float64(l*(l-1))
}

// Block sizes of the permutation test: labellings evaluated together, and
// rows of the distance matrix (kept in cache) that each pass reads.
const (
	labelBlock = 64
	rowBlock   = 16
)

// pValue runs the permutation test with perms random relabellings drawn
// from rng. Group A is the smaller sample; for each labelling it needs
// only Σ_{i,j∈A} dist_ij: for each row i of A, the dot product of the
// stored row's part j > i with A's 0/1 mask. The observed labelling goes through the same
// arithmetic, so that ties compare equal.
func (p *pooled) pValue(ctx context.Context, perms int, rng *rand.Rand) (float64, error) {
	N := p.n + p.m
	k, first := p.n, 0
	if p.m < p.n {
		k, first = p.m, p.n
	}
	order := make([]int, N)
	for i := range order {
		order[i] = i
	}
	masks := make([]float32, labelBlock*N)
	taa := make([]float64, labelBlock)
	ra := make([]float64, labelBlock)
	var observed float64
	// tol absorbs the rounding of float64 sums of N² terms: a billionth of
	// the mean distance.
	tol := 1e-9 * p.total / float64(N*(N-1))
	count := 0
	for done := -1; done < perms; {
		c := min(labelBlock, perms-done)
		clear(masks)
		for b := range c {
			mask := masks[b*N : (b+1)*N]
			members := order[first : first+k] // the observed labelling
			if done+b >= 0 {
				rng.Shuffle(N, func(i, j int) { order[i], order[j] = order[j], order[i] })
				members = order[:k]
			}
			ra[b] = 0
			for _, i := range members {
				mask[i] = 1
				ra[b] += p.rowSum[i]
			}
		}
		if err := p.sumsWithin(ctx, masks[:c*N], taa[:c]); err != nil {
			return 0, err
		}
		for b := range c {
			s := p.stat(k, taa[b], ra[b])
			if done+b < 0 {
				observed = s
			} else if s >= observed-tol {
				count++
			}
		}
		done += c
	}
	return float64(1+count) / float64(1+perms), nil
}

// sumsWithin sets taa[b] to Σ_{i,j∈A_b} dist_ij for each 0/1 mask b of A_b
// (masks holds len(taa) masks of N values), reading the distance matrix
// in blocks of rows that stay in cache across the masks.
func (p *pooled) sumsWithin(ctx context.Context, masks []float32, taa []float64) error {
	N := p.n + p.m
	clear(taa)
	for r0 := 0; r0 < N; r0 += rowBlock {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("energy distance permutation test: %w", err)
		}
		r1 := min(N, r0+rowBlock)
		for b := range taa {
			mask := masks[b*N : (b+1)*N]
			for i := r0; i < r1; i++ {
				if mask[i] != 0 && i+1 < N {
					// The matrix is symmetric with a zero diagonal: twice the
					// pairs j > i.
					taa[b] += 2 * blas32.DDot(
						blas32.Vector{N: N - i - 1, Inc: 1, Data: p.dist[i*N+i+1 : (i+1)*N]},
						blas32.Vector{N: N - i - 1, Inc: 1, Data: mask[i+1:]})
				}
			}
		}
	}
	return nil
}
