package bounds_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// truthSamples is the number of data rows and latent draws of the
// known-truth checks.
const truthSamples = 20000

// A truthCase is a model pair with known NLL and KL(q ‖ p).
type truthCase struct {
	name string
	// setup places the pair on a tape and returns the inputs, a fill
	// function and the truth (nll of the data's mean energy ed).
	setup func() (t *autodiff.Tape, nets bounds.Nets, data, z *autodiff.Node, fill func([]*autodiff.Node), tr truthValues)
	// what each case must show
	kl0       bool    // KL = 0: every upper bound equals the lower within 0.02
	maxWidth  float64 // certified bracket at most this wide (0: no check)
	blind     bool    // mode weights only: gp, diffusion ≈ 0, χ² not
	available bool    // the certified bracket applies (D = d)
	chi2Inf   bool    // E_q[w²] is infinite for q = G#N(0, I): only the proposal's χ² end is a bound
	rhoTail   bool    // even the proposal's w² have a heavy tail at this sample size: its χ² end not certified
	kinked    bool    // piecewise-linear generator: gp, diffusion no bounds, and below KL
}

// truthValues are the closed forms (or quadratures) of a case.
type truthValues struct {
	nll      func(ed float64) float64 // the NLL given the measured mean data energy
	kl       float64
	lsi      float64 // constant for gp and diffusion: the true one, or 1
	lsiTrue  bool    // lsi is the true log-Sobolev constant
	gp, diff float64 // closed-form KL terms (NaN: none)
	chi2     float64 // closed-form χ² bound on log Z (NaN: none; +Inf: infinite)
	piLSI    float64 // the true log-Sobolev constant of p pulled back through G (0: unknown)
}

func gaussCase(seed uint64, D, d int, prep func(m *gaussModel)) func() (*autodiff.Tape, bounds.Nets, *autodiff.Node, *autodiff.Node, func([]*autodiff.Node), truthValues) {
	return func() (*autodiff.Tape, bounds.Nets, *autodiff.Node, *autodiff.Node, func([]*autodiff.Node), truthValues) {
		m := newGaussModel(seed, D, d)
		if prep != nil {
			prep(m)
		}
		rg := newRig(m, truthSamples, truthSamples)
		// For D > d, q has no density on R^D: KL(q ‖ p) is infinite.
		tr := truthValues{nll: func(float64) float64 { return m.nll() }, kl: math.Inf(1), lsi: m.lsi(), lsiTrue: true,
			gp: math.NaN(), diff: math.NaN(), chi2: math.NaN()}
		if D == d {
			tr.kl, tr.piLSI = m.kl(0), m.pullBackLSI()
			tr.gp, tr.diff = m.gpValue(m.lsi()), m.diffusionValue(m.lsi(), bounds.DefaultSigmas[0])
			tr.chi2, _ = m.chi2LogZ()
			tr.chi2 += m.quadExp(m.muD, m.dataCov()) // on the NLL scale
		}
		fill := func(noise []*autodiff.Node) { rg.noise = noise; rg.draw(seed + 7) }
		return rg.t, rg.nets, rg.data, rg.z, fill, tr
	}
}

func bananaCase(bn banana) func() (*autodiff.Tape, bounds.Nets, *autodiff.Node, *autodiff.Node, func([]*autodiff.Node), truthValues) {
	return func() (*autodiff.Tape, bounds.Nets, *autodiff.Node, *autodiff.Node, func([]*autodiff.Node), truthValues) {
		rg := newFnRig(2, 2, truthSamples, truthSamples)
		bn.build(rg)
		tr := truthValues{nll: func(ed float64) float64 { return ed + bn.logZ() }, kl: bn.kl(), lsi: 1,
			gp: math.NaN(), diff: math.NaN(), chi2: math.NaN()}
		return rg.t, rg.nets, rg.data, rg.z, rg.fill(41, bananaSample), tr
	}
}

func twoModeCase(tm twoMode) func() (*autodiff.Tape, bounds.Nets, *autodiff.Node, *autodiff.Node, func([]*autodiff.Node), truthValues) {
	return func() (*autodiff.Tape, bounds.Nets, *autodiff.Node, *autodiff.Node, func([]*autodiff.Node), truthValues) {
		rg := newFnRig(2, 2, truthSamples, truthSamples)
		tm.build(rg)
		logZ, kl := tm.quadrature(1e-4)
		tr := truthValues{nll: func(ed float64) float64 { return ed + logZ }, kl: kl, lsi: 1,
			gp: math.NaN(), diff: math.NaN(), chi2: math.NaN()}
		return rg.t, rg.nets, rg.data, rg.z, rg.fill(43, tm.sample), tr
	}
}

func kinkedCase(k kinked) func() (*autodiff.Tape, bounds.Nets, *autodiff.Node, *autodiff.Node, func([]*autodiff.Node), truthValues) {
	return func() (*autodiff.Tape, bounds.Nets, *autodiff.Node, *autodiff.Node, func([]*autodiff.Node), truthValues) {
		rg := newFnRig(2, 2, truthSamples, truthSamples)
		k.build(rg)
		tr := truthValues{nll: func(ed float64) float64 { return ed + k.logZ() }, kl: k.kl(), lsi: 1,
			gp: 0, diff: math.NaN(), chi2: k.meanEnergy() + k.chi2()}
		return rg.t, rg.nets, rg.data, rg.z, rg.fill(47, k.sample), tr
	}
}

func expTailCase(et expTail) func() (*autodiff.Tape, bounds.Nets, *autodiff.Node, *autodiff.Node, func([]*autodiff.Node), truthValues) {
	return func() (*autodiff.Tape, bounds.Nets, *autodiff.Node, *autodiff.Node, func([]*autodiff.Node), truthValues) {
		rg := newFnRig(2, 2, truthSamples, truthSamples)
		et.build(rg)
		tr := truthValues{nll: func(ed float64) float64 { return ed + et.logZ() }, kl: et.kl(1e-4), lsi: 1,
			gp: math.NaN(), diff: math.NaN(), chi2: math.Inf(1)}
		return rg.t, rg.nets, rg.data, rg.z, rg.fill(53, et.sample), tr
	}
}

func truthCases() []truthCase {
	return []truthCase{
		{name: "gauss-2-random", setup: gaussCase(501, 2, 2, nil), available: true},
		{name: "gauss-2-close", setup: gaussCase(502, 2, 2, func(m *gaussModel) { m.setGenerator(5, 1, 0.05) }), available: true, maxWidth: 0.1},
		{name: "gauss-2-kl05", setup: gaussCase(507, 2, 2, func(m *gaussModel) { m.setGenerator(8, 1, 0.09) }), available: true, maxWidth: 0.1},
		{name: "gauss-2-wide-p", setup: gaussCase(503, 2, 2, func(m *gaussModel) { m.setGenerator(6, 0.45, 0.05) }), available: true, chi2Inf: true},
		{name: "gauss-8-random", setup: gaussCase(504, 8, 8, nil), available: true, chi2Inf: true, rhoTail: true},
		{name: "gauss-8-close", setup: gaussCase(505, 8, 8, func(m *gaussModel) { m.setGenerator(7, 1, 0.03) }), available: true},
		{name: "gauss-16x4", setup: gaussCase(506, 16, 4, nil)},
		{name: "banana-kl0", setup: bananaCase(banana{1, 1, 0}), available: true, kl0: true},
		{name: "banana-alpha", setup: bananaCase(banana{1.3, 1, 0}), available: true},
		{name: "banana-beta", setup: bananaCase(banana{1, 1.1, 0}), available: true},
		{name: "banana-gamma", setup: bananaCase(banana{1, 1, 0.2}), available: true},
		{name: "banana-all", setup: bananaCase(banana{0.8, 0.95, -0.1}), available: true},
		{name: "kinked-relu", setup: kinkedCase(kinked{}), available: true, kinked: true},
		{name: "exp-tail-a1-s1.5", setup: expTailCase(expTail{1, 1.5}), available: true, chi2Inf: true},
		{name: "exp-tail-a0.5-s3", setup: expTailCase(expTail{0.5, 3}), available: true, chi2Inf: true},
		{name: "exp-tail-a2-s1", setup: expTailCase(expTail{2, 1}), available: true, chi2Inf: true},
		{name: "exp-tail-a1-s1", setup: expTailCase(expTail{1, 1}), available: true, chi2Inf: true},
		{name: "exp-tail-a3-s0.5", setup: expTailCase(expTail{3, 0.5}), available: true, chi2Inf: true},
		{name: "two-mode-weights", setup: twoModeCase(twoMode{s: 1, beta: 300, delta: 0.5, c: 5}), available: true, blind: true},
	}
}

// TestKnownTruth measures every bound on pairs with a known NLL and KL and
// prints the table case × bound → value, truth, standard error.
func TestKnownTruth(t *testing.T) {
	var table strings.Builder
	fmt.Fprintf(&table, "%-18s %-14s %10s %10s %8s  %s\n", "case", "bound", "value", "truth", "stderr", "note")
	for _, c := range truthCases() {
		t.Run(c.name, func(t *testing.T) {
			tp, nets, data, z, fill, tr := c.setup()
			r := measure(t, tp, nets, data, z, tr.lsi, bounds.DefaultCertified(), fill)
			nll := tr.nll(r.ed.Value)
			row := func(bound string, v bounds.MeanSE, truth float64, note string) {
				fmt.Fprintf(&table, "%-18s %-14s %10.4f %10.4f %8.4f  %s\n", c.name, bound, v.Value, truth, v.StdErr, note)
			}
			row("NLL", bounds.MeanSE{Value: nll, StdErr: r.ed.StdErr}, nll, "the truth: closed form or quadrature; stderr of the data's mean energy")
			row("jacobian-exact", r.low, nll-tr.kl, fmt.Sprintf("lower; truth NLL − KL, KL = %.4f", tr.kl))
			c.checkFisher(t, r, tr, nll, row)
			c.checkBracket(t, r, tr, nll, row)
		})
	}
	t.Log("\n" + table.String())
}

func (c truthCase) checkFisher(t *testing.T, r readings, tr truthValues, nll float64, row func(string, bounds.MeanSE, float64, string)) {
	t.Helper()
	cond := "C = 1"
	if tr.lsiTrue {
		cond = fmt.Sprintf("C = true %.3g", tr.lsi)
	}
	if c.kinked {
		cond = "NOT A BOUND (kinked generator), shown below KL"
	}
	row("gp", r.gp, nll-tr.kl+tr.gp, cond+"; truth: L_low + closed form")
	row("diffusion", r.diff, nll-tr.kl+tr.diff, cond+"; truth: L_low + closed form")
	if !c.available {
		if !r.gpEst.Surrogate || !r.diffEst.Surrogate || !strings.Contains(r.gpEst.Condition, "not a bound") {
			t.Errorf("D > d: gp, diffusion not marked as surrogates (conditions %q, %q)", r.gpEst.Condition, r.diffEst.Condition)
		}
		return
	}
	if c.kinked {
		for _, e := range []bounds.Estimate{r.gpEst, r.diffEst} {
			if !e.Surrogate || !strings.Contains(e.Condition, "not a bound") || !strings.Contains(e.Condition, "Relu") {
				t.Errorf("kinked generator: want no bound naming Relu; surrogate %v, condition %q", e.Surrogate, e.Condition)
			}
		}
		// What the refusal is for: the values read far below KL.
		if kl := r.gp.Value - r.low.Value; !(kl < 0.5*tr.kl) || math.Abs(kl-tr.gp) > 1e-9 {
			t.Errorf("kinked generator: gp's KL term %.4g, want the closed form %.4g, below KL %.4g", kl, tr.gp, tr.kl)
		}
		if kl := r.diff.Value - r.low.Value; !(kl < 0.5*tr.kl) {
			t.Errorf("kinked generator: diffusion's KL term %.4g, want below KL %.4g", kl, tr.kl)
		}
		return
	}
	if r.gpEst.Surrogate || !strings.Contains(r.gpEst.Condition, "C = ") || !strings.Contains(r.diffEst.Condition, "C = ") {
		t.Errorf("gp, diffusion: want bounds labelled with C; conditions %q, %q", r.gpEst.Condition, r.diffEst.Condition)
	}
	for _, b := range []struct {
		name  string
		v     bounds.MeanSE
		want  float64
		kl    float64
		extra float64
	}{{"gp", r.gp, tr.gp, r.gp.Value - r.low.Value, 0}, {"diffusion", r.diff, tr.diff, r.diff.Value - r.low.Value, 0}} {
		if !math.IsNaN(b.want) && math.Abs(b.kl-b.want) > 4*b.v.StdErr+1e-6 {
			t.Errorf("%s: KL term %.5g ± %.2g, closed form %.5g", b.name, b.kl, b.v.StdErr, b.want)
		}
		if !math.IsNaN(b.want) && b.want < tr.kl-1e-9 && tr.lsiTrue {
			t.Errorf("%s: closed form %.5g below KL %.5g with the true constant", b.name, b.want, tr.kl)
		}
		if tr.lsiTrue && b.v.Value < nll-3*b.v.StdErr {
			t.Errorf("%s with the true C: %.5g ± %.2g below NLL %.5g", b.name, b.v.Value, b.v.StdErr, nll)
		}
		if c.kl0 && math.Abs(b.v.Value-r.low.Value) > 0.02 {
			t.Errorf("KL = 0: %s %.5g differs from the lower bound %.5g by more than 0.02", b.name, b.v.Value, r.low.Value)
		}
		if c.blind && b.kl > 0.1*tr.kl {
			t.Errorf("mode weights only: %s reads %.4g, want ≈ 0 (KL %.4g)", b.name, b.kl, tr.kl)
		}
	}
	if !math.IsNaN(tr.gp) && math.Abs(tr.gp-tr.diff) > 1 {
		t.Errorf("closed forms: diffusion %.4g and gp %.4g differ by more than 1 nat", tr.diff, tr.gp)
	}
	if math.Abs(r.gp.Value-r.diff.Value) > 1 {
		t.Errorf("diffusion %.4g and gp %.4g differ by more than 1 nat", r.diff.Value, r.gp.Value)
	}
}

func (c truthCase) checkBracket(t *testing.T, r readings, tr truthValues, nll float64, row func(string, bounds.MeanSE, float64, string)) {
	t.Helper()
	if !c.available {
		var ue *bounds.UnavailableError
		if !errors.As(r.certErr, &ue) || !strings.Contains(ue.Reason, "no density") {
			t.Errorf("D > d: certified bracket error %v, want not available for want of a density", r.certErr)
		}
		return
	}
	if r.certErr != nil {
		t.Fatal(r.certErr)
	}
	c.checkNormal(t, r, tr, nll, row)
	c.checkProposal(t, r, tr, nll, row)
}

// bracketRows adds the rows of bracket b, whose latent draws are of law
// named by tag, to the table.
func bracketRows(b bounds.Bracket, tag string, chi2 float64, row func(string, bounds.MeanSE, float64, string)) {
	lo, up := b.Lower, b.Upper
	row("iw-lower"+tag, bounds.MeanSE{Value: lo.Value, StdErr: lo.StdErr}, math.NaN(), fmt.Sprintf("K = %d, limit %.4f", b.K, lo.Limit))
	note := fmt.Sprintf("k̂(w²) = %.2f, limit %.4f, width %.4f %s", b.TailK, up.Limit, b.Width(), up.Reason)
	row("chi2-upper"+tag, bounds.MeanSE{Value: up.Value, StdErr: up.StdErr}, chi2, note)
}

// checkNormal checks the bracket with the generator's own latent law
// N(0, I), where the χ² bound has a closed form.
func (c truthCase) checkNormal(t *testing.T, r readings, tr truthValues, nll float64, row func(string, bounds.MeanSE, float64, string)) {
	t.Helper()
	b := r.normal
	lo, up := b.Lower, b.Upper
	bracketRows(b, " N", tr.chi2, row)
	if !lo.Certified || lo.Limit > nll {
		t.Errorf("z ~ N: lower end %+v: want certified, limit ≤ NLL %.5g", lo, nll)
	}
	if c.chi2Inf {
		if up.Certified || up.Reason == "" || !(b.TailK > bounds.DefaultMaxTail) {
			t.Errorf("z ~ N: E_q[w²] infinite: upper end %+v with k̂ %.2f is certified", up, b.TailK)
		}
		return
	}
	if up.Certified && up.Limit < nll {
		t.Errorf("z ~ N: upper end %+v: limit below NLL %.5g", up, nll)
	}
	if !math.IsNaN(tr.chi2) && up.Certified && math.Abs(up.Value-tr.chi2) > 4*up.StdErr {
		t.Errorf("z ~ N: χ² upper %.5g ± %.2g, closed form %.5g", up.Value, up.StdErr, tr.chi2)
	}
	if c.maxWidth > 0 && !(b.Width() <= c.maxWidth) {
		t.Errorf("z ~ N: bracket %.4f … %.4f is %.4f wide, want at most %.2f (KL %.4f)", lo.Limit, up.Limit, b.Width(), c.maxWidth, tr.kl)
	}
	if c.kl0 && (math.Abs(up.Value-r.low.Value) > 0.02 || math.Abs(lo.Value-r.low.Value) > 0.02) {
		t.Errorf("z ~ N: KL = 0: bracket %.5g … %.5g, lower bound %.5g: want equal within 0.02", lo.Value, up.Value, r.low.Value)
	}
	if c.blind && !(up.Value-nll > 0.5*tr.kl) {
		t.Errorf("z ~ N: mode weights only: χ² upper %.4g is not above NLL %.4g by half the KL %.4g", up.Value, nll, tr.kl)
	}
}

// checkProposal checks the bracket with the default proposal: on every
// case, exponential tails included, both ends certified around the NLL,
// and the χ² end at most −½ log(1 − α) above the closed form for N(0, I).
func (c truthCase) checkProposal(t *testing.T, r readings, tr truthValues, nll float64, row func(string, bounds.MeanSE, float64, string)) {
	t.Helper()
	b := r.bracket
	lo, up := b.Lower, b.Upper
	bracketRows(b, " ρ", math.NaN(), row)
	if !lo.Certified || lo.Limit > nll {
		t.Errorf("z ~ ρ: lower end %+v: want certified, limit ≤ NLL %.5g", lo, nll)
	}
	if c.rhoTail {
		if up.Certified || !(b.TailK > bounds.DefaultMaxTail) {
			t.Errorf("z ~ ρ: upper end %+v with k̂ %.2f: want not certified for its heavy tail", up, b.TailK)
		}
		return
	}
	if !up.Certified || !(b.TailK <= bounds.DefaultMaxTail) || up.Limit < nll {
		t.Errorf("z ~ ρ: upper end %+v with k̂ %.2f: want certified, limit ≥ NLL %.5g", up, b.TailK, nll)
	}
	if slack := -0.5 * math.Log1p(-b.Proposal.Heavy); !math.IsNaN(tr.chi2) && !math.IsInf(tr.chi2, 1) && up.Value > tr.chi2+slack+4*up.StdErr {
		t.Errorf("z ~ ρ: χ² upper %.5g ± %.2g, more than %.3f above the closed form %.5g for N(0, I)", up.Value, up.StdErr, slack, tr.chi2)
	}
	if c.blind && !(up.Value-nll > 0.5*tr.kl) {
		t.Errorf("z ~ ρ: mode weights only: χ² upper %.4g is not above NLL %.4g by half the KL %.4g", up.Value, nll, tr.kl)
	}
}
