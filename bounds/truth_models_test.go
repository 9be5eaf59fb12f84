package bounds_test

import (
	"math"

	"github.com/ebmpipe/ebmpipe/bounds"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

var log2π = math.Log(2 * math.Pi)

// banana is the pair G(z) = (z₁, z₂ + z₁²), a smooth bijection with
// det J = 1, and E(x) = ½αx₁² + ½(x₂ − βx₁² − γ)² + log 2π; α = β = 1,
// γ = 0 gives E = −log q exactly (KL = 0).
type banana struct{ alpha, beta, gamma float64 }

func (bn banana) build(rg *fnRig) {
	t := rg.t
	al := rg.scalar(bounds.Energy, "alpha", bn.alpha)
	be := rg.scalar(bounds.Energy, "beta", bn.beta)
	ga := rg.scalar(bounds.Energy, "gamma", bn.gamma)
	rg.nets.Energy = func(x *autodiff.Node) (*autodiff.Node, error) {
		x1, x2 := col(t, x, 0), col(t, x, 1)
		r := t.Sub(t.Sub(x2, t.Mul(t.Square(x1), be)), ga)
		return t.Affine(t.Add(t.Mul(al, t.Square(x1)), t.Square(r)), 0.5, log2π), t.Err()
	}
	a := rg.scalar(bounds.Generator, "a", 1)
	c := rg.scalar(bounds.Generator, "c", 1)
	rg.nets.Generator = func(z *autodiff.Node) (*autodiff.Node, error) {
		z1, z2 := col(t, z, 0), col(t, z, 1)
		return t.Concat(1, t.Mul(a, z1), t.Add(z2, t.Mul(c, t.Square(z1)))), t.Err()
	}
}

func bananaSample(z []float64) []float64 { return []float64{z[0], z[1] + z[0]*z[0]} }

// logZ is −½ log α: x₂ integrates to √(2π), x₁ to √(2π/α).
func (bn banana) logZ() float64 { return -0.5 * math.Log(bn.alpha) }

// kl is KL(q ‖ p) = E_q[E] − H(q) + log Z with H(q) = log 2πe:
// ½(α − 1 − log α) + ½(3(1 − β)² − 2γ(1 − β) + γ²).
func (bn banana) kl() float64 {
	u := 1 - bn.beta
	return 0.5*(bn.alpha-1-math.Log(bn.alpha)) + 0.5*(3*u*u-2*bn.gamma*u+bn.gamma*bn.gamma)
}

// energyAt is E(x) in plain Go.
func (bn banana) energyAt(x1, x2 float64) float64 {
	r := x2 - bn.beta*x1*x1 - bn.gamma
	return 0.5*(bn.alpha*x1*x1+r*r) + log2π
}

// quadrature returns log Z and KL(q ‖ p) by the midpoint rule on a grid
// of step h: log Z over x, KL over z (det J = 1, so dx = dz).
func (bn banana) quadrature(h float64) (logZ, kl float64) {
	z := 0.0
	for x1 := -12 + h/2; x1 < 12; x1 += h {
		for x2 := -10 + h/2; x2 < 160; x2 += h {
			z += math.Exp(-bn.energyAt(x1, x2))
		}
	}
	logZ = math.Log(z * h * h)
	for z1 := -8 + h/2; z1 < 8; z1 += h {
		for z2 := -8 + h/2; z2 < 8; z2 += h {
			lq := -0.5*(z1*z1+z2*z2) - log2π
			kl += math.Exp(lq) * (lq + bn.energyAt(z1, z2+z1*z1) + logZ)
		}
	}
	return logZ, kl * h * h
}

// twoMode is a pair whose generator's law has two well-separated modes
// and whose energy differs from −log q only in how much mass each mode
// carries: G(z) = (s·sinh(asinh(βz₁)/3), z₂), the inverse of
// S(x₁) = (4(x₁/s)³ + 3x₁/s)/β, so q(x) = N(S(x₁)) S′(x₁) N(x₂) (modes near
// x₁ = ±s(β/5)^{1/3}, little mass between), and
//
//	E(x) = −log q(x) − log(1 + δ tanh(c x₁)),
//
// which moves mass (1 ± δ)/2 to the modes x₁ ≷ 0. Scores differ only near
// x₁ = 0, where q has little mass: Fisher-type bounds read ≈ 0 while
// KL(q ‖ p) = −E_q log(1 + δ tanh(c x₁)) (Z = 1 by symmetry).
type twoMode struct{ s, beta, delta, c float64 }

func (tm twoMode) build(rg *fnRig) {
	t := rg.t
	se := rg.scalar(bounds.Energy, "s", tm.s)
	be := rg.scalar(bounds.Energy, "beta", tm.beta)
	de := rg.scalar(bounds.Energy, "delta", tm.delta)
	ce := rg.scalar(bounds.Energy, "c", tm.c)
	rg.nets.Energy = func(x *autodiff.Node) (*autodiff.Node, error) {
		x1, x2 := col(t, x, 0), col(t, x, 1)
		y := t.Div(x1, se)
		s := t.Div(t.Add(t.Scale(t.Pow(y, 3), 4), t.Scale(y, 3)), be)
		sp := t.Div(t.Affine(t.Square(y), 12, 3), t.Mul(se, be))
		logq := t.Sub(t.Log(sp), t.Affine(t.Add(t.Square(s), t.Square(x2)), 0.5, log2π))
		w := t.Affine(t.Mul(de, t.Tanh(t.Mul(ce, x1))), 1, 1)
		return t.Neg(t.Add(logq, t.Log(w))), t.Err()
	}
	sg := rg.scalar(bounds.Generator, "s", tm.s)
	bg := rg.scalar(bounds.Generator, "beta", tm.beta)
	rg.nets.Generator = func(z *autodiff.Node) (*autodiff.Node, error) {
		z1, z2 := col(t, z, 0), col(t, z, 1)
		u := t.Mul(bg, z1)
		au := t.Abs(u)
		// asinh(u) = sign(u) log(|u| + √(u² + 1)), free of cancellation.
		as := t.Mul(t.Div(u, au), t.Log(t.Add(au, t.Sqrt(t.Affine(t.Square(u), 1, 1)))))
		v := t.Scale(as, 1.0/3)
		sinh := t.Scale(t.Sub(t.Exp(v), t.Exp(t.Neg(v))), 0.5)
		return t.Concat(1, t.Mul(sg, sinh), z2), t.Err()
	}
}

func (tm twoMode) sample(z []float64) []float64 {
	return []float64{tm.s * math.Sinh(math.Asinh(tm.beta*z[0])/3), z[1]}
}

// quadrature returns log Z = log E_q[1 + δ tanh(c x₁)] and
// KL(q ‖ p) = −E_q log(1 + δ tanh(c x₁)) + log Z by the midpoint rule over
// z₁ (step h).
func (tm twoMode) quadrature(h float64) (logZ, kl float64) {
	z, e := 0.0, 0.0
	for z1 := -12 + h/2; z1 < 12; z1 += h {
		n := math.Exp(-0.5*z1*z1) / math.Sqrt(2*math.Pi)
		w := 1 + tm.delta*math.Tanh(tm.c*tm.sample([]float64{z1, 0})[0])
		z += n * w
		e -= n * math.Log(w)
	}
	logZ = math.Log(z * h)
	return logZ, e*h + logZ
}

// kinked is a pair with a piecewise-linear bijection G(z) = (z₁ + relu(z₁), z₂)
// (slope 1 for z₁ < 0, 2 for z₁ > 0; det J ∈ {1, 2}, no fold) and the
// energy E(x) = x₁²/8 + (3/8) relu(−x₁)² + x₂²/2, whose score equals q's
// on both pieces: q puts mass ½ on each half-plane x₁ ≷ 0, p_θ puts 1/3
// and 2/3 with the same shapes. Every score difference is 0, so the gp
// value is 0, while KL(q ‖ p) = ½ log(9/8): the mass q moves across the
// kink is a jump of q that no score sees. The weights e^{−E}/q are 2π on
// the left and 4π on the right, so log Z = log 3π and the χ² bound is
// ½ log E_q[w²] = log 2π + ½ log 2.5.
type kinked struct{}

func (kinked) build(rg *fnRig) {
	t := rg.t
	a := rg.scalar(bounds.Energy, "a", 0.125)
	rg.nets.Energy = func(x *autodiff.Node) (*autodiff.Node, error) {
		x1, x2 := col(t, x, 0), col(t, x, 1)
		e := t.Add(t.Mul(a, t.Square(x1)), t.Scale(t.Square(t.Relu(t.Neg(x1))), 0.375))
		return t.Add(e, t.Scale(t.Square(x2), 0.5)), t.Err()
	}
	s := rg.scalar(bounds.Generator, "s", 1)
	rg.nets.Generator = func(z *autodiff.Node) (*autodiff.Node, error) {
		z1, z2 := col(t, z, 0), col(t, z, 1)
		return t.Concat(1, t.Add(z1, t.Mul(s, t.Relu(z1))), z2), t.Err()
	}
	rg.nets.GeneratorKinks = []string{"Relu"}
}

func (kinked) sample(z []float64) []float64 { return []float64{z[0] + max(z[0], 0), z[1]} }

// meanEnergy is E_q[E] = 1, the data's mean energy: ½ from each coordinate.
func (kinked) meanEnergy() float64 { return 1 }

func (kinked) logZ() float64 { return math.Log(3 * math.Pi) }
func (kinked) kl() float64   { return 0.5 * math.Log(9.0/8) }
func (kinked) chi2() float64 { return log2π + 0.5*math.Log(2.5) }

// expTail is the energy E(x) = a·√(1 + ‖x‖²) in 2-D, whose law has
// exponential tails, with the linear generator G(z) = s·z, whose law has
// Gaussian ones: E_q[w²] = ∫ p̃²/q is infinite for every s (log w grows
// like ½‖z‖²), as for an MLP energy with piecewise-linear activations and
// an asymptotically linear generator. With u = √(1 + r²),
// Z = 2π ∫₁^∞ e^{−au} u du = 2π e^{−a}(1 + a)/a².
type expTail struct{ a, s float64 }

func (et expTail) build(rg *fnRig) {
	t := rg.t
	a := rg.scalar(bounds.Energy, "a", et.a)
	rg.nets.Energy = func(x *autodiff.Node) (*autodiff.Node, error) {
		r2 := t.Add(t.Square(col(t, x, 0)), t.Square(col(t, x, 1)))
		return t.Mul(a, t.Sqrt(t.Affine(r2, 1, 1))), t.Err()
	}
	s := rg.scalar(bounds.Generator, "s", et.s)
	rg.nets.Generator = func(z *autodiff.Node) (*autodiff.Node, error) {
		return t.Concat(1, t.Mul(s, col(t, z, 0)), t.Mul(s, col(t, z, 1))), t.Err()
	}
}

func (et expTail) sample(z []float64) []float64 { return []float64{et.s * z[0], et.s * z[1]} }

func (et expTail) logZ() float64 { return log2π - et.a + math.Log1p(et.a) - 2*math.Log(et.a) }

// quadrature returns log Z = log 2π ∫ e^{−a√(1 + r²)} r dr by the midpoint
// rule over r (step h).
func (et expTail) quadrature(h float64) float64 {
	z := 0.0
	for r := h / 2; r < 60/et.a; r += h {
		z += math.Exp(-et.a*math.Sqrt(1+r*r)) * r
	}
	return log2π + math.Log(z*h)
}

// kl returns KL(q ‖ p) = a·E_q√(1 + ‖x‖²) − H(q) + log Z, H(q) = log 2πe s²,
// by the midpoint rule over u = ‖z‖² ~ Exp(½) (step h).
func (et expTail) kl(h float64) float64 {
	e := 0.0
	for u := h / 2; u < 80; u += h {
		e += math.Sqrt(1+et.s*et.s*u) * 0.5 * math.Exp(-u/2)
	}
	return et.a*e*h - (log2π + 1 + 2*math.Log(et.s)) + et.logZ()
}
