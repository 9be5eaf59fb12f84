package bounds

import (
	"errors"
	"fmt"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// DefaultIterations is the number of Rayleigh–Ritz iterations of the
// public code (ssv_iter).
const DefaultIterations = 2

// JacobianEntropy is the lower bound on the generator's entropy from the
// singular values of its Jacobian J(z) = ∂G/∂z (D×d):
//
//	H(q) = H(z) + E_z[½ log det JᵀJ] ≥ H(z) + E_z[d · log s_min(J)].
//
// With Exact, the per-sample term is ½ log det JᵀJ, J formed column by
// column (or row by row, whichever is fewer products); otherwise it is
// d · log s_min, s_min from a block Rayleigh–Ritz iteration on JᵀJ that
// never forms J. Both assume the generator maps rows independently (no
// batch statistics).
type JacobianEntropy struct {
	// Exact selects ½ log det JᵀJ (affordable when D·d is small).
	Exact bool
	// Iterations of the Rayleigh–Ritz search for s_min (≥ 1).
	Iterations int
	// Weight is λ_H in the loss −λ_H · Value.
	Weight float64
}

// NewJacobianEntropy returns the bound with the toy defaults of the public
// code: DefaultIterations iterations, λ_H = 1.
func NewJacobianEntropy(exact bool) *JacobianEntropy {
	return &JacobianEntropy{Exact: exact, Iterations: DefaultIterations, Weight: 1}
}

// Name returns "jacobian-exact" or "jacobian".
func (j *JacobianEntropy) Name() string {
	if j.Exact {
		return "jacobian-exact"
	}
	return "jacobian"
}

func (j *JacobianEntropy) validate() error {
	if !j.Exact && j.Iterations < 1 {
		return fmt.Errorf("%d Rayleigh–Ritz iterations: want at least 1", j.Iterations)
	}
	if j.Weight < 0 {
		return fmt.Errorf("weight λ_H = %g: want ≥ 0", j.Weight)
	}
	return nil
}

// Entropy builds the bound on the samples x = G(z) of b.Z (m, d).
//
// Value is H(z) + mean_z h(z), with H(z) = (d/2) log 2πe and h(z) =
// ½ log det JᵀJ (Exact) or d · log s_min(J(z)); Samples holds the m terms
// H(z) + h(z); Loss is −λ_H · Value and trains the generator. Without
// Exact, Noise holds one input of shape (m, d): the starting vectors of
// the iteration. Extra["s_min"] is the mean s_min over the batch.
func (j *JacobianEntropy) Entropy(n Nets, b Batch) (Estimate, error) {
	e, err := j.entropy(n, b)
	if err != nil {
		return Estimate{}, fmt.Errorf("%s entropy: %w", j.Name(), err)
	}
	return e, nil
}

func (j *JacobianEntropy) entropy(n Nets, b Batch) (Estimate, error) {
	if err := j.validate(); err != nil {
		return Estimate{}, err
	}
	if err := n.check(Generator); err != nil {
		return Estimate{}, err
	}
	x, err := n.generate(b.Z)
	if err != nil {
		return Estimate{}, err
	}
	jt, err := j.terms(n, x, b.Z)
	if err != nil {
		return Estimate{}, err
	}
	t := n.Tape
	d := float64(n.LatentDim)
	samples := t.Affine(jt.h, 1, d/2*log2πe)
	value := t.Mean(samples)
	return finish(t, Estimate{
		Value:     value,
		Samples:   samples,
		Loss:      t.Scale(value, -j.Weight),
		Trains:    []Role{Generator},
		Noise:     jt.noise,
		Extra:     map[string]*autodiff.Node{"s_min": t.Mean(jt.smin)},
		X:         x,
		Condition: j.condition(),
	})
}

// condition says what the bound rests on.
func (j *JacobianEntropy) condition() string {
	if j.Exact {
		return "needs an injective generator"
	}
	return "needs an injective generator, and a converged Rayleigh–Ritz s_min (Ritz values bound s_min from above)"
}

// jacTerms are the per-sample Jacobian quantities of a batch.
type jacTerms struct {
	h     *autodiff.Node // (m): ½ log det JᵀJ, or d · log s_min
	smin  *autodiff.Node // (m): s_min(J), a constant to every derivative
	jac   *autodiff.Node // (m, D, d): J, formed only with Exact
	noise []*autodiff.Node
}

// jacobian gives products with the Jacobian J(z) of x = G(z), row by row.
type jacobian struct {
	t       *autodiff.Tape
	x, z    *autodiff.Node
	jvf     func(v *autodiff.Node) *autodiff.Node // v ↦ J v by the double-VJP trick
	m, d, D int
}

// newJacobian takes J v from Tape.JVPFunc, which shares one VJP Jᵀu at a
// zero seed u between all the products and leaves it uncomputed: only its
// derivative in u is ever read.
func newJacobian(t *autodiff.Tape, x, z *autodiff.Node) *jacobian {
	m, d, D := z.Shape()[0], z.Shape()[1], x.Shape()[1]
	return &jacobian{t: t, x: x, z: z, jvf: t.JVPFunc(x, z), m: m, d: d, D: D}
}

// jv returns J v (m, D) for v (m, d), treating v as a constant: its
// derivative is (∂J/∂·) v.
func (o *jacobian) jv(v *autodiff.Node) *autodiff.Node {
	return o.jvf(o.t.StopGradient(v))
}

// jtw returns Jᵀw (m, d) for w (m, D).
func (o *jacobian) jtw(w *autodiff.Node) *autodiff.Node {
	return o.t.VJP([]*autodiff.Node{o.x}, []*autodiff.Node{w}, []*autodiff.Node{o.z})[0]
}

// onehot returns the constant (rows, cols) matrix with ones in column k.
func onehot(t *autodiff.Tape, rows, cols, k int) *autodiff.Node {
	data := make([]float64, rows*cols)
	for i := 0; i < rows; i++ {
		data[i*cols+k] = 1
	}
	return t.Const(data, rows, cols)
}

// full returns J (m, D, d) from d Jacobian–vector products or D
// vector–Jacobian products, whichever is fewer.
func (o *jacobian) full() *autodiff.Node {
	t := o.t
	if o.d <= o.D {
		cols := make([]*autodiff.Node, o.d)
		for k := range cols {
			cols[k] = t.Reshape(o.jv(onehot(t, o.m, o.d, k)), []int{o.m, o.D, 1})
		}
		return t.Concat(2, cols...)
	}
	rows := make([]*autodiff.Node, o.D)
	for i := range rows {
		rows[i] = t.Reshape(o.jtw(onehot(t, o.m, o.D, i)), []int{o.m, 1, o.d})
	}
	return t.Concat(1, rows...)
}

// terms builds h and s_min for x = G(z).
func (j *JacobianEntropy) terms(n Nets, x, z *autodiff.Node) (jacTerms, error) {
	t := n.Tape
	o := newJacobian(t, x, z)
	if j.Exact {
		// The d×d work is done in float64 from J itself, whatever the
		// tape's element type: a float32 JᵀJ loses s_min² once
		// s_max/s_min exceeds a few thousand.
		J := o.full()
		var h *autodiff.Node
		if o.d == o.D {
			h = t.LogAbsDet(J) // = ½ log det JᵀJ, better conditioned
		} else {
			h = t.HalfLogDetGram(J)
		}
		return jacTerms{h: h, smin: t.SmallestSingular(J), jac: J}, t.Err()
	}
	if j.Iterations < 1 {
		return jacTerms{}, errors.New("no Rayleigh–Ritz iterations")
	}
	v0 := noise(t, "jacobian_v0", o.m, o.d)
	jv, v := o.ritz(v0, j.Iterations)
	// s_min = ‖J v‖/‖v‖ with v a constant; h = d·log s_min.
	s2 := t.Div(rowSumSq(t, jv), rowSumSq(t, v))
	h := t.Scale(t.Log(s2), float64(o.d)/2)
	return jacTerms{h: h, smin: t.StopGradient(t.Sqrt(s2)), noise: []*autodiff.Node{v0}}, t.Err()
}

// ritz runs iters steps of a block Rayleigh–Ritz (LOBPCG-style) search for
// the smallest eigenvector of M = JᵀJ per row, from v0 (m, d). Each step
// takes the Ritz vector of span{v, r, p}: r = Mv − μv the residual, p the
// previous update, all normalised. It returns J v and v for the final Ritz
// vector v, a constant to every derivative, so that the derivative of J v
// is (∂J/∂·) v.
//
// The products with M are computed afresh for every block vector (one JVP
// and one VJP each). Tracking them as linear combinations instead would
// save two thirds of the work, but near convergence the combinations
// cancel and their rounding errors steer the iteration away from the
// minimum.
func (o *jacobian) ritz(v0 *autodiff.Node, iters int) (jv, v *autodiff.Node) {
	t := o.t
	v = t.StopGradient(normalize(t, v0))
	var p *autodiff.Node
	for it := 0; it < iters; it++ {
		jv = o.jv(v)
		mv := o.jtw(jv)
		mu := t.Div(rowDot(t, v, mv), rowDot(t, v, v))
		r := t.StopGradient(normalize(t, t.Sub(mv, t.Mul(mu, v))))
		cols, mcols := []*autodiff.Node{v, r}, []*autodiff.Node{mv, o.jtw(o.jv(r))}
		if p != nil {
			cols, mcols = append(cols, p), append(mcols, o.jtw(o.jv(p)))
		}
		k := len(cols)
		s, ms := o.stack(cols), o.stack(mcols)
		a := t.MatMul(s, ms, true, false) // Sᵀ M S (m, k, k)
		bm := t.MatMul(s, s, true, false) // Sᵀ S
		c := t.SmallestEigvec(a, bm)      // (m, k, 1), no derivative
		vn := t.Reshape(t.MatMul(s, c, false, false), []int{o.m, o.d})
		// p = vn − c₀ v, the part of the update outside v.
		sel := make([]float64, k)
		sel[0] = 1
		c0 := t.Reshape(t.MatMul(t.Const(sel, 1, k), c, false, false), []int{o.m, 1})
		p = t.StopGradient(normalize(t, t.Sub(vn, t.Mul(c0, v))))
		v = t.StopGradient(vn)
	}
	return o.jv(v), v
}

// stack joins k matrices (m, d) into (m, d, k).
func (o *jacobian) stack(xs []*autodiff.Node) *autodiff.Node {
	cols := make([]*autodiff.Node, len(xs))
	for i, x := range xs {
		cols[i] = o.t.Reshape(x, []int{o.m, o.d, 1})
	}
	return o.t.Concat(2, cols...)
}

// scoreZ returns ∇_z log q(G(z)) = −z − ∇_z h(z) (m, d), where h is
// ½ log det JᵀJ or its estimate, as a constant to every derivative.
func (jt jacTerms) scoreZ(t *autodiff.Tape, z *autodiff.Node) *autodiff.Node {
	return t.StopGradient(t.Neg(t.Add(z, t.InputGradient(t.Sum(jt.h), z))))
}
