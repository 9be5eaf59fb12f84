package bounds

import (
	"fmt"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// exactScore is the generator's score in closed form for D = d: with J
// formed, h = log |det J| and the latent score
//
//	g = ∇_z log q(G(z)) = −z − ∇_z h,
//
// the x-space score is ∇_x log q(G(z)) = J⁻ᵀg, and the x-space vector of
// any latent pull-back u = Jᵀw is w = J⁻ᵀu (one d×d solve per row). No
// term is held constant: derivatives flow through J, h and g.
type exactScore struct {
	t    *autodiff.Tape
	jt   jacTerms       // Exact terms: jac, h, smin
	g    *autodiff.Node // (m, d)
	inv  *autodiff.Node // (m, d, d): J⁻¹
	m, d int
}

// newExactScore forms J(z) of x = G(z) (D = d) and the score terms, or
// takes them from have if it holds J.
func newExactScore(n Nets, x, z *autodiff.Node, have jacTerms) (exactScore, error) {
	t := n.Tape
	jt := have
	if jt.jac == nil {
		var err error
		if jt, err = (&JacobianEntropy{Exact: true}).terms(n, x, z); err != nil {
			return exactScore{}, err
		}
	}
	m, d := z.Shape()[0], z.Shape()[1]
	return exactScore{
		t:   t,
		jt:  jt,
		g:   t.Neg(t.Add(z, t.InputGradient(t.Sum(jt.h), z))),
		inv: t.Inverse(jt.jac),
		m:   m,
		d:   d,
	}, t.Err()
}

// xVec returns J⁻ᵀu (m, d) for latent vectors u (m, d).
func (s exactScore) xVec(u *autodiff.Node) *autodiff.Node {
	t := s.t
	w := t.MatMul(s.inv, t.Reshape(u, []int{s.m, s.d, 1}), true, false)
	return t.Reshape(w, []int{s.m, s.d})
}

// xNorm2 returns ‖J⁻ᵀu‖² per row (m) for latent vectors u (m, d).
func (s exactScore) xNorm2(u *autodiff.Node) *autodiff.Node {
	return rowSumSq(s.t, s.xVec(u))
}

// useExact reports whether an upper bound's Value can use the exact
// score: D = d and the caller did not ask for the surrogate.
func useExact(n Nets, surrogate bool) bool { return n.DataDim == n.LatentDim && !surrogate }

// lsiCondition labels a Fisher-type value with its log-Sobolev constant
// and the smoothness it needs of the energy.
func lsiCondition(c float64, energy string) string {
	return fmt.Sprintf("conditional on the log-Sobolev constant C = %g of p_θ (unknown for a learned energy, "+
		"astronomically large for well-separated modes), on a smooth generator that is a bijection onto R^D, "+
		"and on %s energy", c, energy)
}

// surrogateCondition says why a Fisher-type value that uses the
// Jacobian field's score is no bound.
func surrogateCondition(n Nets, j JacobianEntropy) string {
	score := "the score of d·log s_min in place of log |det J|"
	if j.Exact {
		score = "the score of ½ log det JᵀJ"
	}
	if n.DataDim != n.LatentDim {
		return fmt.Sprintf("not a bound: with D = %d > d = %d the generator's law has no density on R^D, so KL(q ‖ p_θ) is infinite; "+
			"the value is a tangent-space Fisher term with %s, divided by s_min²", n.DataDim, n.LatentDim, score)
	}
	return fmt.Sprintf("not a bound: surrogate generator score (%s, divided by s_min²), asked for by SurrogateValue", score)
}
