package train

import (
	"fmt"
	"math"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/internal/langevin"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// Cooperative negatives (Xie et al., CoopNets): with
// Options.NegativeLangevinSteps K > 0, the energy's negative phase is taken
// on the generator's samples refined by K steps of short-run Langevin
// dynamics on the current energy,
//
//	x₀ = G(z),  x_{k+1} = x_k − (η/2) ∇E(x_k) + s √η ξ_k,  ξ_k ~ N(0, I),
//
// with η = Options.NegativeStepSize and s = Options.NegativeNoiseScale (the
// parametrisation of `ebmpipe sample`), so that the energy's loss is
// mean E(data) − mean E(x_K) + upper.Loss. The refined x_K enter the
// energy's graph as constants: no gradient flows through the chain. The
// generator's loss, and every bound and bracket logged, stay on G's own
// samples: the refined samples have no tractable density and never enter
// a reported bound. The noise ξ is drawn from its own random stream,
// saved in checkpoints.

// DefaultNegativeStepSize and DefaultNegativeNoiseScale are the step size η
// and noise scale s of the cooperative negatives in DefaultOptions.
const (
	DefaultNegativeStepSize   = 1e-4
	DefaultNegativeNoiseScale = 1
)

// checkNegatives reports invalid settings of the cooperative negatives.
func (o *Options) checkNegatives() []error {
	var errs []error
	if o.NegativeLangevinSteps < 0 {
		errs = append(errs, fielderr.Errorf("{NegativeLangevinSteps} %d: must not be negative", o.NegativeLangevinSteps))
	}
	if o.NegativeLangevinSteps > 0 {
		if !(o.NegativeStepSize > 0) || math.IsInf(o.NegativeStepSize, 0) {
			errs = append(errs, fielderr.Errorf("{NegativeStepSize} %v: must be a positive number", o.NegativeStepSize))
		}
		if !(o.NegativeNoiseScale >= 0) || math.IsInf(o.NegativeNoiseScale, 0) {
			errs = append(errs, fielderr.Errorf("{NegativeNoiseScale} %v: must be a finite non-negative number", o.NegativeNoiseScale))
		}
	}
	return errs
}

// clearUnusedNegatives zeroes the step size and noise scale when no
// Langevin step is taken, so that they do not enter a run's identity.
func (o *Options) clearUnusedNegatives() {
	if o.NegativeLangevinSteps == 0 {
		o.NegativeStepSize, o.NegativeNoiseScale = 0, 0
	}
}

// negatives adds to p, an energy step, the input of the cooperative
// negatives, and returns their mean energy, the loss's negative phase.
func (p *program) negatives(t *autodiff.Tape, bn bounds.Nets, batch, dataDim int) (*autodiff.Node, error) {
	p.neg = t.Variable("negatives", autodiff.Zeros(t.Dtype(), batch, dataDim))
	eNeg, err := bn.Energy(p.neg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.what, err)
	}
	m := t.Mean(eNeg)
	p.scalars["energy_negatives"] = m
	return m, nil
}

// A refiner runs the Langevin chains of the cooperative negatives: a
// generator graph (z to G(z), in training mode, as the energy step sees
// it) and an energy graph (x to ∇E(x)), each on its own tape.
type refiner struct {
	steps       int
	step        langevin.Step
	stepSize    float64 // η, for messages
	rng         *data.RNG
	gen, energy refinerNet
	z, xG       *autodiff.Node
	x, grad     *autodiff.Node
	buf, gBuf   []float64
}

// A refinerNet is one network placed on a tape with its machine.
type refinerNet struct {
	nets []*network
	sets []*importers.ParamSet
	sn   [][]snWeight
	vm   *autodiff.Machine
}

// newRefiner builds the refiner of o's cooperative negatives, or returns
// nil when o takes no Langevin step.
func newRefiner(o Options, energy, gen *network, dt autodiff.Dtype, batch, dataDim, latentDim int) (*refiner, error) {
	if o.NegativeLangevinSteps == 0 {
		return nil, nil
	}
	r := &refiner{
		steps:    o.NegativeLangevinSteps,
		step:     langevin.NewStep(o.NegativeStepSize, o.NegativeNoiseScale),
		stepSize: o.NegativeStepSize,
		rng:      data.NewRNG(o.Seed, "langevin"),
		buf:      make([]float64, batch*dataDim),
	}
	tg := autodiff.NewTape(dt)
	r.z = tg.Variable("z", autodiff.Zeros(dt, batch, latentDim))
	bn, sets, sn, _ := newNets(tg, []*network{gen}, dataDim, latentDim)
	r.gen = refinerNet{nets: []*network{gen}, sets: sets, sn: sn}
	r.xG, _ = bn.Generator(r.z) // a failure is on the tape
	if err := tg.Err(); err != nil {
		return nil, fmt.Errorf("cooperative negatives: generator: %w", err)
	}
	r.gen.vm = autodiff.NewMachine(tg)

	te := autodiff.NewTape(dt)
	r.x = te.Variable("x", autodiff.Zeros(dt, batch, dataDim))
	bn, sets, sn, _ = newNets(te, []*network{energy}, dataDim, latentDim)
	r.energy = refinerNet{nets: []*network{energy}, sets: sets, sn: sn}
	if e, err := bn.Energy(r.x); err == nil {
		r.grad = te.InputGradient(te.Sum(e), r.x)
	}
	if err := te.Err(); err != nil {
		return nil, fmt.Errorf("cooperative negatives: energy gradient: %w", err)
	}
	r.energy.vm = autodiff.NewMachine(te)
	return r, nil
}

// eval sets the network's current parameters, runs its graph and copies
// the node out into buf.
func (n *refinerNet) eval(out *autodiff.Node, buf []float64) ([]float64, error) {
	defer n.vm.Reset()
	if err := setParams(n.nets, n.sets, n.sn); err != nil {
		return buf, err
	}
	if err := n.vm.Run(); err != nil {
		return buf, err
	}
	return autodiff.CopyOut(buf, out)
}

// refine returns the negatives of the latent draws z: G(z) moved by the
// Langevin steps, valid until the next call.
func (r *refiner) refine(z []float64) ([]float64, error) {
	if err := autodiff.CopyIn(r.z, z); err != nil {
		return nil, fmt.Errorf("cooperative negatives: %w", err)
	}
	var err error
	if r.buf, err = r.gen.eval(r.xG, r.buf); err != nil {
		return nil, fmt.Errorf("cooperative negatives: generator: %w", err)
	}
	for k := range r.steps {
		if err := autodiff.CopyIn(r.x, r.buf); err != nil {
			return nil, fmt.Errorf("cooperative negatives: %w", err)
		}
		if r.gBuf, err = r.energy.eval(r.grad, r.gBuf); err != nil {
			return nil, fmt.Errorf("cooperative negatives: Langevin step %d: %w", k+1, err)
		}
		r.step.Move(r.buf, r.gBuf, r.rng)
	}
	for _, v := range r.buf {
		if bad(v) {
			return nil, fielderr.Errorf("cooperative negatives: a Langevin chain diverged after %d steps (value %g); try a smaller {NegativeStepSize} than %g", r.steps, v, r.stepSize)
		}
	}
	return r.buf, nil
}

// A randomState is a random stream a checkpoint holds.
type randomState interface {
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// randomStates returns the random streams of the run by checkpoint name;
// the Langevin noise's only with cooperative negatives, so that other
// runs' checkpoints are as before.
func (tr *Trainer) randomStates() map[string]randomState {
	m := map[string]randomState{"sampler": tr.sampler, "z": tr.zRNG, "noise": tr.noise}
	if tr.coop != nil {
		m["langevin"] = tr.coop.rng
	}
	return m
}
