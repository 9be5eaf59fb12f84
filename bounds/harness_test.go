package bounds_test

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/graphtest"
)

var long = flag.Bool("long", false, "run the full convergence runs (large batches)")

// A gaussModel is a quadratic energy E(x) = ½‖W(x − μ)‖² (precision
// P = WᵀW), a linear generator G(z) = Az + b, a linear Gaussian encoder
// r(z | x) = N(We x + c, diag exp ℓ), and data drawn from N(μd, Ld Ldᵀ).
type gaussModel struct {
	D, d      int
	W, A, We  *mat.Dense
	mu, b, c  []float64
	lv        []float64
	muD       []float64
	Ld        *mat.Dense
	energyMLP bool // replace the energy by a small tanh network (gradient checks)
	genMLP    bool // replace the generator by a small tanh network
}

// randMatrix returns U diag(s) Vᵀ (rows×cols) with random orthogonal U, V
// and singular values s uniform in [lo, hi].
func randMatrix(r *rand.Rand, rows, cols int, lo, hi float64) *mat.Dense {
	u, v := graphtest.RandOrtho(r, rows), graphtest.RandOrtho(r, cols)
	k := min(rows, cols)
	s := mat.NewDense(rows, cols, nil)
	for i := 0; i < k; i++ {
		s.Set(i, i, lo+(hi-lo)*r.Float64())
	}
	var out mat.Dense
	out.Product(u, s, v.T())
	return &out
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 3)) }

func randVec(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = scale * r.NormFloat64()
	}
	return v
}

func newGaussModel(seed uint64, D, d int) *gaussModel {
	r := rand.New(rand.NewPCG(seed, 11))
	m := &gaussModel{D: D, d: d}
	m.W = randMatrix(r, D, D, 0.5, 1.5)
	m.A = randMatrix(r, D, d, 0.5, 1.5)
	m.mu, m.b = randVec(r, D, 0.5), randVec(r, D, 0.5)
	m.We = mat.NewDense(d, D, randVec(r, d*D, 0.3))
	m.c, m.lv = randVec(r, d, 0.1), randVec(r, d, 0.2)
	m.muD = randVec(r, D, 0.5)
	m.Ld = randMatrix(r, D, D, 0.5, 1.2)
	return m
}

// optimalEncoder sets the encoder to the exact posterior of z given
// x = Az + b + σε, which is diagonal when AᵀA is: Σ = (I + AᵀA/σ²)⁻¹,
// mean Σ Aᵀ(x − b)/σ².
func (m *gaussModel) optimalEncoder(sigma float64) {
	var ata mat.Dense
	ata.Mul(m.A.T(), m.A)
	ata.Scale(1/(sigma*sigma), &ata)
	for i := 0; i < m.d; i++ {
		ata.Set(i, i, ata.At(i, i)+1)
	}
	var post mat.Dense
	if err := post.Inverse(&ata); err != nil {
		panic(err)
	}
	m.We.Mul(&post, m.A.T())
	m.We.Scale(1/(sigma*sigma), m.We)
	var wb mat.VecDense
	wb.MulVec(m.We, mat.NewVecDense(m.D, m.b))
	for i := 0; i < m.d; i++ {
		m.c[i] = -wb.AtVec(i)
		m.lv[i] = math.Log(post.At(i, i))
	}
}

func dense(m *mat.Dense) autodiff.Tensor {
	r, c := m.Dims()
	return autodiff.NewTensor([]int{r, c}, append([]float64(nil), m.RawMatrix().Data...))
}

func vector(v []float64) autodiff.Tensor {
	return autodiff.NewTensor([]int{len(v)}, append([]float64(nil), v...))
}

// A rig is a model placed on a tape, with inputs for the data and the
// latent draws and the parameters of each network.
type rig struct {
	m       *gaussModel
	t       *autodiff.Tape
	nets    bounds.Nets
	data, z *autodiff.Node
	params  map[bounds.Role][]*autodiff.Node
	noise   []*autodiff.Node
	vm      *autodiff.Machine
	n, mz   int
}

// newRig builds the networks of m for n data rows and mz latent rows.
func newRig(m *gaussModel, n, mz int) *rig {
	t := autodiff.NewTape(autodiff.Float64)
	rg := &rig{m: m, t: t, params: map[bounds.Role][]*autodiff.Node{}, n: n, mz: mz}
	rg.data = t.Input("data", n, m.D)
	rg.z = t.Input("z", mz, m.d)
	pr := rand.New(rand.NewPCG(99, 1))
	rg.nets = bounds.Nets{Tape: t, DataDim: m.D, LatentDim: m.d}
	rg.buildEnergy(pr)
	rg.buildGenerator(pr)
	rg.buildEncoder()
	return rg
}

func (rg *rig) param(role bounds.Role, name string, v autodiff.Tensor) *autodiff.Node {
	p := rg.t.Variable(fmt.Sprintf("%s.%s", role, name), v)
	rg.params[role] = append(rg.params[role], p)
	return p
}

func randDense(r *rand.Rand, scale float64, shape ...int) autodiff.Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return autodiff.NewTensor(shape, randVec(r, n, scale))
}

// hidden is the width of the tanh networks.
const hidden = 3

func (rg *rig) buildEnergy(r *rand.Rand) {
	t, m := rg.t, rg.m
	if m.energyMLP {
		// E(x) = tanh(x W1ᵀ + b1)·w2 + ½‖W(x − μ)‖²
		w1 := rg.param(bounds.Energy, "w1", randDense(r, 0.8, hidden, m.D))
		b1 := rg.param(bounds.Energy, "b1", randDense(r, 0.3, hidden))
		w2 := rg.param(bounds.Energy, "w2", randDense(r, 0.8, hidden, 1))
		w := rg.param(bounds.Energy, "W", dense(m.W))
		mu := rg.param(bounds.Energy, "mu", vector(m.mu))
		rg.nets.Energy = func(x *autodiff.Node) (*autodiff.Node, error) {
			h := t.Tanh(t.Add(t.MatMul(x, w1, false, true), b1))
			q := t.MatMul(t.Sub(x, mu), w, false, true)
			e := t.Add(t.MatMul(h, w2, false, false), t.Scale(t.SumAxes(t.Square(q), []int{1}, true), 0.5))
			return e, t.Err() // (n, 1)
		}
		return
	}
	w := rg.param(bounds.Energy, "W", dense(m.W))
	mu := rg.param(bounds.Energy, "mu", vector(m.mu))
	rg.nets.Energy = func(x *autodiff.Node) (*autodiff.Node, error) {
		q := t.MatMul(t.Sub(x, mu), w, false, true)
		return t.Scale(t.SumAxes(t.Square(q), []int{1}, false), 0.5), t.Err() // (n)
	}
}

func (rg *rig) buildGenerator(r *rand.Rand) {
	t, m := rg.t, rg.m
	a := rg.param(bounds.Generator, "A", dense(m.A))
	b := rg.param(bounds.Generator, "b", vector(m.b))
	if m.genMLP {
		// G(z) = Az + b + W2 tanh(W1 z + b1)
		w1 := rg.param(bounds.Generator, "w1", randDense(r, 0.8, hidden, m.d))
		b1 := rg.param(bounds.Generator, "b1", randDense(r, 0.3, hidden))
		w2 := rg.param(bounds.Generator, "w2", randDense(r, 0.5, m.D, hidden))
		rg.nets.Generator = func(z *autodiff.Node) (*autodiff.Node, error) {
			h := t.Tanh(t.Add(t.MatMul(z, w1, false, true), b1))
			return t.Add(t.Add(t.MatMul(z, a, false, true), b), t.MatMul(h, w2, false, true)), t.Err()
		}
		return
	}
	rg.nets.Generator = func(z *autodiff.Node) (*autodiff.Node, error) {
		return t.Add(t.MatMul(z, a, false, true), b), t.Err()
	}
}

func (rg *rig) buildEncoder() {
	t, m := rg.t, rg.m
	we := rg.param(bounds.Encoder, "We", dense(m.We))
	c := rg.param(bounds.Encoder, "c", vector(m.c))
	lv := rg.param(bounds.Encoder, "lv", vector(m.lv))
	rg.nets.Encoder = func(x *autodiff.Node) (*autodiff.Node, error) {
		mu := t.Add(t.MatMul(x, we, false, true), c)
		l := t.Add(t.Full(0, x.Shape()[0], m.d), lv)
		return t.Concat(1, mu, l), t.Err()
	}
}

// compile records the noise inputs of the estimates and makes the VM.
func (rg *rig) compile(tb testing.TB, es ...bounds.Estimate) {
	tb.Helper()
	for _, e := range es {
		rg.noise = append(rg.noise, e.Noise...)
	}
	if err := rg.t.Err(); err != nil {
		tb.Fatal(err)
	}
	rg.vm = autodiff.NewMachine(rg.t)
}

// draw fills the data, latent and noise inputs from the seed.
func (rg *rig) draw(seed uint64) {
	r := rand.New(rand.NewPCG(seed, 5))
	m := rg.m
	data := make([]float64, rg.n*m.D)
	e := make([]float64, m.D)
	for i := 0; i < rg.n; i++ {
		for j := range e {
			e[j] = r.NormFloat64()
		}
		for j := 0; j < m.D; j++ {
			v := m.muD[j]
			for k := 0; k < m.D; k++ {
				v += m.Ld.At(j, k) * e[k]
			}
			data[i*m.D+j] = v
		}
	}
	must(autodiff.Let(rg.data, autodiff.NewTensor([]int{rg.n, m.D}, data)))
	must(autodiff.Let(rg.z, randDense(r, 1, rg.mz, m.d)))
	for _, nz := range rg.noise {
		must(autodiff.Let(nz, randDense(r, 1, nz.Shape()...)))
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func (rg *rig) run(tb testing.TB) {
	tb.Helper()
	graphtest.Run(tb, rg.vm)
}

// meanSE returns the mean of xs and its standard error.
func meanSE(xs []float64) (mean, se float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - mean) * (x - mean)
	}
	v /= float64(len(xs) - 1)
	return mean, math.Sqrt(v / float64(len(xs)))
}

// Closed forms of the Gaussian model.

func (m *gaussModel) precision() *mat.Dense {
	var p mat.Dense
	p.Mul(m.W.T(), m.W)
	return &p
}

func logDet(a mat.Matrix) float64 {
	var lu mat.LU
	lu.Factorize(a)
	ld, _ := lu.LogDet()
	return ld
}

func singular(a *mat.Dense) []float64 {
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDNone) {
		panic("svd failed")
	}
	return svd.Values(nil)
}

func sminOf(a *mat.Dense) float64 {
	s := singular(a)
	return s[len(s)-1]
}

// quadExp returns E[½(x−μ)ᵀP(x−μ)] for x ~ N(mean, cov).
func (m *gaussModel) quadExp(mean []float64, cov mat.Matrix) float64 {
	p := m.precision()
	var pc mat.Dense
	pc.Mul(p, cov)
	dv := make([]float64, m.D)
	for i := range dv {
		dv[i] = mean[i] - m.mu[i]
	}
	dvec := mat.NewVecDense(m.D, dv)
	return 0.5 * (mat.Trace(&pc) + mat.Inner(dvec, p, dvec))
}

// logZ = (D/2) log 2π + ½ log det Σ, Σ = P⁻¹.
func (m *gaussModel) logZ() float64 {
	return float64(m.D)/2*math.Log(2*math.Pi) - 0.5*logDet(m.precision())
}

func (m *gaussModel) dataCov() *mat.Dense {
	var c mat.Dense
	c.Mul(m.Ld, m.Ld.T())
	return &c
}

// nll is E_data[E] + log Z.
func (m *gaussModel) nll() float64 { return m.quadExp(m.muD, m.dataCov()) + m.logZ() }

// qCov is AAᵀ + σ²I, the covariance of G(z) + σε.
func (m *gaussModel) qCov(sigma float64) *mat.Dense {
	var c mat.Dense
	c.Mul(m.A, m.A.T())
	for i := 0; i < m.D; i++ {
		c.Set(i, i, c.At(i, i)+sigma*sigma)
	}
	return &c
}

// entropyQ is H(q) = (d/2) log 2πe + ½ log det AᵀA (the d-dimensional
// entropy on the generator's range).
func (m *gaussModel) entropyQ() float64 {
	var ata mat.Dense
	ata.Mul(m.A.T(), m.A)
	return float64(m.d)/2*math.Log(2*math.Pi*math.E) + 0.5*logDet(&ata)
}

// entropyQSigma is H(q_σ) = (D/2) log 2πe + ½ log det(AAᵀ + σ²I).
func (m *gaussModel) entropyQSigma(sigma float64) float64 {
	return float64(m.D)/2*math.Log(2*math.Pi*math.E) + 0.5*logDet(m.qCov(sigma))
}

// kl is KL(q_σ ‖ p) between N(b, AAᵀ + σ²I) and N(μ, P⁻¹).
func (m *gaussModel) kl(sigma float64) float64 {
	return -m.entropyQSigma(sigma) + m.quadExp(m.b, m.qCov(sigma)) + m.logZ()
}

// lsi is the log-Sobolev constant of p: λ_max(Σ) = 1/s_min(W)².
func (m *gaussModel) lsi() float64 {
	s := sminOf(m.W)
	return 1 / (s * s)
}

// pullBackLSI is the log-Sobolev constant of p pulled back through G
// (D = d): π = N(·, (WA)⁻¹(WA)⁻ᵀ), so 1/s_min(WA)².
func (m *gaussModel) pullBackLSI() float64 {
	var wa mat.Dense
	wa.Mul(m.W, m.A)
	s := sminOf(&wa)
	return 1 / (s * s)
}

// miEstimator is the expectation of the MI bound's estimate:
// H(x|z) + H(z) + E log r(z | x).
func (m *gaussModel) miEstimator(sigma float64) float64 {
	// z − We(Az + b + σε) − c = (I − We A) z − (We b + c) − σ We ε
	var wa mat.Dense
	wa.Mul(m.We, m.A)
	ima := mat.NewDense(m.d, m.d, nil)
	for i := 0; i < m.d; i++ {
		for j := 0; j < m.d; j++ {
			v := -wa.At(i, j)
			if i == j {
				v++
			}
			ima.Set(i, j, v)
		}
	}
	var c1, c2 mat.Dense
	c1.Mul(ima, ima.T())
	c2.Mul(m.We, m.We.T())
	var wb mat.VecDense
	wb.MulVec(m.We, mat.NewVecDense(m.D, m.b))
	logr := 0.0
	for k := 0; k < m.d; k++ {
		off := wb.AtVec(k) + m.c[k]
		e2 := c1.At(k, k) + off*off + sigma*sigma*c2.At(k, k)
		logr += -0.5*math.Log(2*math.Pi) - 0.5*m.lv[k] - 0.5*e2*math.Exp(-m.lv[k])
	}
	return float64(m.D)/2*math.Log(2*math.Pi*math.E*sigma*sigma) + float64(m.d)/2*math.Log(2*math.Pi*math.E) + logr
}

// fisherDiv is E_q‖∇log q − ∇log p‖² for D = d: with M = P − Σq⁻¹,
// tr(M Σq Mᵀ) + ‖P(b − μ)‖².
func (m *gaussModel) fisherDiv() float64 {
	p := m.precision()
	sq := m.qCov(0)
	var si, mm, msm mat.Dense
	must(si.Inverse(sq))
	mm.Sub(p, &si)
	msm.Product(&mm, sq, mm.T())
	return mat.Trace(&msm) + m.pOffset()
}

// pOffset is ‖P(b − μ)‖².
func (m *gaussModel) pOffset() float64 {
	p := m.precision()
	dv := make([]float64, m.D)
	for i := range dv {
		dv[i] = m.b[i] - m.mu[i]
	}
	var pd mat.VecDense
	pd.MulVec(p, mat.NewVecDense(m.D, dv))
	return mat.Dot(&pd, &pd)
}

// gpValue is the gp bound with constant C for D = d: (C/2) E_q‖∇log q − ∇log p‖².
func (m *gaussModel) gpValue(lsi float64) float64 { return lsi / 2 * m.fisherDiv() }

// fisherInfo is J(q) = tr Σq⁻¹ for D = d.
func (m *gaussModel) fisherInfo() float64 {
	var si mat.Dense
	must(si.Inverse(m.qCov(0)))
	return mat.Trace(&si)
}

// diffusionValue is the expectation of the diffusion bound's Value U_σ
// (up to the plug-in of J(q)): with J = tr Σq⁻¹ and r = 1 + σ²J/D,
// (C/2)[J/r + tr(PΣ_σP) + ‖P(b − μ)‖² − 2 tr P] + (D/2) log r − (σ²/2) tr P.
func (m *gaussModel) diffusionValue(lsi, sigma float64) float64 {
	p := m.precision()
	D := float64(m.D)
	j := m.fisherInfo()
	r := 1 + sigma*sigma*j/D
	var psp mat.Dense
	psp.Product(p, m.qCov(sigma), p)
	a := mat.Trace(&psp) + m.pOffset() - 2*mat.Trace(p)
	return lsi/2*(j/r+a) + D/2*math.Log(r) - sigma*sigma/2*mat.Trace(p)
}

// chi2LogZ is the χ² bound ½ log E_q[w²] on log Z for D = d, w = e^{−E}/q,
// and whether it is finite (2P − Σq⁻¹ positive definite): with
// M = 2P − Σq⁻¹, h = 2Pμ − Σq⁻¹b, c = −μᵀPμ + ½bᵀΣq⁻¹b,
// log E_q[w²] = D log 2π + ½ log det Σq − ½ log det M + ½ hᵀM⁻¹h + c.
func (m *gaussModel) chi2LogZ() (float64, bool) {
	p := m.precision()
	sq := m.qCov(0)
	var si, mm mat.Dense
	must(si.Inverse(sq))
	mm.Scale(2, p)
	mm.Sub(&mm, &si)
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(m.D, mm.RawMatrix().Data), false) || slicesMin(eig.Values(nil)) <= 0 {
		return math.Inf(1), false
	}
	mu, b := mat.NewVecDense(m.D, m.mu), mat.NewVecDense(m.D, m.b)
	var pmu, sib, h, mih mat.VecDense
	pmu.MulVec(p, mu)
	sib.MulVec(&si, b)
	h.AddScaledVec(&sib, -2, &pmu)
	h.ScaleVec(-1, &h) // 2Pμ − Σq⁻¹b
	var mi mat.Dense
	must(mi.Inverse(&mm))
	mih.MulVec(&mi, &h)
	c := -mat.Dot(mu, &pmu) + 0.5*mat.Dot(b, &sib)
	logW2 := float64(m.D)*math.Log(2*math.Pi) + 0.5*logDet(sq) - 0.5*logDet(&mm) + 0.5*mat.Dot(&h, &mih) + c
	return 0.5 * logW2, true
}

func slicesMin(xs []float64) float64 {
	v := math.Inf(1)
	for _, x := range xs {
		v = math.Min(v, x)
	}
	return v
}

// cholSigma returns the Cholesky factor L of Σp = P⁻¹ (LLᵀ = Σp).
func (m *gaussModel) cholSigma() *mat.Dense {
	var sp mat.Dense
	must(sp.Inverse(m.precision()))
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(m.D, sp.RawMatrix().Data)) {
		panic("Σp not positive definite")
	}
	var l mat.TriDense
	ch.LTo(&l)
	return mat.DenseCopyOf(&l)
}

// setGenerator makes q = N(μ + eps·L v, (scale·L(I + eps R))(…)ᵀ), with
// L the Cholesky factor of Σp and R, v random: q → p as eps → 0 and
// scale → 1 (D = d).
func (m *gaussModel) setGenerator(seed uint64, scale, eps float64) {
	r := newRand(seed)
	l := m.cholSigma()
	ir := mat.NewDense(m.D, m.D, randVec(r, m.D*m.D, eps))
	for i := 0; i < m.D; i++ {
		ir.Set(i, i, ir.At(i, i)+1)
	}
	m.A.Mul(l, ir)
	m.A.Scale(scale, m.A)
	var lv mat.VecDense
	lv.MulVec(l, mat.NewVecDense(m.D, randVec(r, m.D, eps)))
	for i := range m.b {
		m.b[i] = m.mu[i] + lv.AtVec(i)
	}
}
