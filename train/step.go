package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// A program is the compiled graph of one kind of update (energy or
// generator): built once, run every step with new inputs and the current
// parameter values copied in.
type program struct {
	what string // "energy step", "generator step"
	vm   *autodiff.Machine
	inputs
	nets []*network
	sets []*importers.ParamSet // parallel to nets
	sn   [][]snWeight          // parallel to nets
	// scheduled are the scalar inputs set before every run from the
	// iteration: the bound's changing loss weight (bounds.Estimate.Weight).
	scheduled []scheduledInput
	loss      *autodiff.Node
	trained   []*network         // networks updated by this program
	grads     [][]*autodiff.Node // per trained network, per trainable parameter
	// scalars are read after every run, by metric name.
	scalars map[string]*autodiff.Node
	samples *autodiff.Node // per-example terms of the bound, if any

	gradBuf [][][]float64
	lossVal float64
	values  map[string]float64
	clip    float64 // largest gradient norm per network (0: no clipping)
	// neg, in an energy step with cooperative negatives (langevin.go), is
	// the input of the negatives, set from refine(z) before every run.
	neg    *autodiff.Node
	refine func(z []float64) ([]float64, error)
}

// newNets places the networks on a new tape and returns the bounds.Nets,
// with the generator in training mode, and, when the generator has
// BatchNormalization, the generator in inference mode (see
// inferenceNets).
func newNets(t *autodiff.Tape, nets []*network, dataDim, latentDim int) (bounds.Nets, []*importers.ParamSet, [][]snWeight, bounds.Net) {
	bn := bounds.Nets{Tape: t, DataDim: dataDim, LatentDim: latentDim}
	var genEval bounds.Net
	sets := make([]*importers.ParamSet, len(nets))
	sn := make([][]snWeight, len(nets))
	for i, n := range nets {
		ps := n.net.NewParamsPrefixed(t, n.name+"/")
		sets[i] = ps
		ps, sn[i] = spectralNorm(t, n, ps)
		switch n.role {
		case bounds.Energy:
			bn.Energy = n.apply(t, ps, false)
			bn.EnergyKinks = bounds.KinkedOps(n.model.GetGraph())
		case bounds.Generator:
			bn.Generator = n.apply(t, ps, true)
			bn.GeneratorKinks = bounds.KinkedOps(n.model.GetGraph())
			if n.batchNorm() {
				genEval = n.apply(t, ps, false)
			}
		case bounds.Encoder:
			bn.Encoder = n.apply(t, ps, false)
		}
	}
	return bn, sets, sn, genEval
}

// buildProgram builds the energy step (energy true: loss mean E(data) −
// mean E(G(z)) + upper.Loss, gradients to the energy) or the generator
// step (loss mean E(G(z)) + lower.Loss, gradients to the generator and,
// when the bound trains it, the encoder).
//
// With coop (an energy step only), the negative phase mean E(G(z)) of the
// loss is taken on an input p.neg instead, the cooperative negatives
// (langevin.go), constants of the graph. With imp.alpha > 0 (an energy
// step only) it mixes in the importance-weighted negatives of
// importance.go.
func buildProgram(energy, coop bool, imp weighting, nets []*network, lower bounds.Lower, upper bounds.Upper, dt autodiff.Dtype, batch, dataDim, latentDim int) (*program, error) {
	p := &program{what: "generator step", nets: nets, scalars: map[string]*autodiff.Node{}}
	if energy {
		p.what = "energy step"
	}
	t := autodiff.NewTape(dt)
	p.data, p.z = t.Variable("data", autodiff.Zeros(dt, batch, dataDim)), t.Variable("z", autodiff.Zeros(dt, batch, latentDim))
	bn, sets, sn, genEval := newNets(t, nets, dataDim, latentDim)
	p.sets, p.sn = sets, sn
	bb, ofEval := inferenceNets(bn, genEval) // the nets the bounds see
	b := bounds.Batch{Data: p.data, Z: p.z}
	eData, err := bn.Energy(p.data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.what, err)
	}
	x, err := bn.Generator(p.z)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.what, err)
	}
	eSamp, err := bn.Energy(x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.what, err)
	}
	mData, mSamp := t.Mean(eData), t.Mean(eSamp)
	p.scalars["energy_data"], p.scalars["energy_samples"] = mData, mSamp
	est, name := bounds.Estimate{}, ""
	roles := []bounds.Role{bounds.Energy}
	switch {
	case energy && upper != nil:
		name = "upper bound " + upper.Name()
		est, err = upper.KL(bb, b)
	case !energy:
		name = "lower bound " + lower.Name()
		est, err = lower.Entropy(bb, b)
		roles = []bounds.Role{bounds.Generator}
		if slices.Contains(est.Trains, bounds.Encoder) {
			roles = append(roles, bounds.Encoder)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", p.what, name, err)
	}
	if est.X != nil && est.X != x && !ofEval(est.X) {
		// The bound is about other samples (the mi bound's noisy
		// ones): E_q[E] is taken there. Not so for the generator in
		// inference mode: the loss keeps its training-mode samples x.
		eX, err := bn.Energy(est.X)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.what, err)
		}
		mSamp = t.Mean(eX)
		p.scalars["energy_samples"] = mSamp
	}
	switch {
	case energy && coop:
		mSamp, err = p.negatives(t, bn, batch, dataDim)
	case energy && imp.alpha > 0:
		mSamp, err = p.importanceNegatives(bb, b, genEval != nil, eSamp, imp)
	}
	if err != nil {
		return nil, err
	}
	if energy {
		p.loss = t.Sub(mData, mSamp)
		if est.Value != nil && !est.Surrogate { // a surrogate's value bounds nothing: no upper_bound
			p.scalars["kl_bound"] = est.Value
		}
	} else {
		p.loss = mSamp
		if est.Value == nil {
			return nil, fmt.Errorf("%s: %s has no value", p.what, name)
		}
		p.scalars["entropy"] = est.Value
	}
	if !energy && imp.match > 0 {
		m, err := p.generatorMatch(bb, b, x, imp)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.what, err)
		}
		p.loss = t.Add(p.loss, m)
	}
	if err := p.addEstimate(t, name, est); err != nil {
		return nil, err
	}
	if err := t.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", p.what, err)
	}
	if err := p.gradients(t, roles); err != nil {
		return nil, err
	}
	if err := p.alloc(batch, dataDim, latentDim); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", p.what, name, err)
	}
	p.values = make(map[string]float64, len(p.scalars))
	p.vm = autodiff.NewMachine(t)
	return p, nil
}

// addEstimate adds the bound's estimate est to p: its loss, per-example
// terms, extra scalars, noise inputs (before those of the importance or
// match draws) and changing loss weight.
func (p *program) addEstimate(t *autodiff.Tape, name string, est bounds.Estimate) error {
	if est.Loss != nil {
		p.loss = t.Add(p.loss, est.Loss)
	}
	p.samples = est.Samples
	for k, v := range est.Extra {
		if v != nil {
			p.scalars[k] = v
		}
	}
	p.noise = append(slices.Clone(est.Noise), p.noise...)
	return p.scheduleWeight(name, est)
}

// gradients adds to p the gradients of its loss with respect to the
// trainable parameters of the networks of roles, and their buffers.
func (p *program) gradients(t *autodiff.Tape, roles []bounds.Role) error {
	var params []*autodiff.Node
	for i, n := range p.nets {
		if slices.Contains(roles, n.role) {
			p.trained = append(p.trained, n)
			params = append(params, p.sets[i].Trainable()...)
		}
	}
	grads, err := t.ParamGrads(p.loss, params...)
	if err != nil {
		return fmt.Errorf("%s: %w", p.what, err)
	}
	for _, n := range p.trained {
		p.grads = append(p.grads, grads[:len(n.train)])
		grads = grads[len(n.train):]
		bufs := make([][]float64, len(n.train))
		for k, i := range n.train {
			bufs[k] = make([]float64, len(n.values[i]))
		}
		p.gradBuf = append(p.gradBuf, bufs)
	}
	return nil
}

// A NonFiniteError reports a step whose loss or gradients are NaN or
// infinite.
type NonFiniteError struct {
	Step int    // the iteration, counting from 1
	What string // "energy step" or "generator step"
	Item string // what was not finite: "loss" or "gradient of NAME"
	// Checkpoint is the directory of the last good checkpoint ("" if none
	// was written) and CheckpointStep its step.
	Checkpoint     string
	CheckpointStep int
}

func (e *NonFiniteError) Error() string {
	s := fmt.Sprintf("iteration %d: %s: %s is not finite; training stopped", e.Step, e.What, e.Item)
	if e.Checkpoint != "" {
		s += fmt.Sprintf(" (the last good checkpoint, of iteration %d, is in %s; lower the learning rates or change the loss weights and resume)", e.CheckpointStep, e.Checkpoint)
	} else {
		s += " before the first checkpoint"
	}
	return s
}

// run runs the program once at iteration step (from 0): data rows from s,
// latent draws from zr, noise from nr. It fills p.gradBuf, p.lossVal and p.values. It returns a
// *NonFiniteError (without checkpoint) if the loss or a gradient is not
// finite.
func (p *program) run(step int, s *data.Sampler, zr, nr *data.RNG) error {
	if err := setParams(p.nets, p.sets, p.sn); err != nil {
		return fmt.Errorf("%s: %w", p.what, err)
	}
	if err := p.draw(s, zr, nr); err != nil {
		return fmt.Errorf("%s: %w", p.what, err)
	}
	if p.refine != nil {
		x, err := p.refine(p.zBuf)
		if err != nil {
			return fmt.Errorf("%s: %w", p.what, err)
		}
		if err := autodiff.CopyIn(p.neg, x); err != nil {
			return fmt.Errorf("%s: negatives: %w", p.what, err)
		}
	}
	for _, in := range p.scheduled {
		if err := autodiff.Let(in.node, autodiff.Scalar(in.node.Dtype(), in.at(step))); err != nil {
			return fmt.Errorf("%s: %s: %w", p.what, in.what, err)
		}
	}
	defer p.vm.Reset()
	if err := p.vm.Run(); err != nil {
		return fmt.Errorf("%s: %w", p.what, err)
	}
	var err error
	if p.lossVal, err = scalarValue(p.loss); err != nil {
		return fmt.Errorf("%s: loss: %w", p.what, err)
	}
	if bad(p.lossVal) {
		return &NonFiniteError{What: p.what, Item: "loss"}
	}
	for j, n := range p.trained {
		for k, g := range p.grads[j] {
			buf, err := autodiff.CopyOut(p.gradBuf[j][k], g)
			if err != nil {
				return fmt.Errorf("%s: gradient of %s/%s: %w", p.what, n.name, n.params[n.train[k]].Name, err)
			}
			for _, v := range buf {
				if bad(v) {
					return &NonFiniteError{What: p.what, Item: "gradient of " + n.name + "/" + n.params[n.train[k]].Name}
				}
			}
			p.gradBuf[j][k] = buf
		}
	}
	for name, node := range p.scalars {
		if p.values[name], err = scalarValue(node); err != nil {
			return fmt.Errorf("%s: %s: %w", p.what, name, err)
		}
	}
	return nil
}

// setParams copies the current values of the networks nets into their
// parameter sets on a tape, sets, and their spectrally normalised weights
// sn (both parallel to nets).
func setParams(nets []*network, sets []*importers.ParamSet, sn [][]snWeight) error {
	for i, n := range nets {
		for k, v := range n.values {
			if err := sets[i].SetData(k, v); err != nil {
				return err
			}
		}
		for k := range sn[i] {
			if err := sn[i][k].set(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// update takes one Adam step of every trained network.
func (p *program) update() {
	for j, n := range p.trained {
		clipGradNorm(p.gradBuf[j], p.clip)
		n.opt.Step(n.trainValues(), p.gradBuf[j])
	}
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// scalarValue reads a node holding one number (a scalar or any tensor of
// one element; the mean of a larger one).
func scalarValue(n *autodiff.Node) (float64, error) {
	if n.IsScalar() {
		if v := n.Float64s(); len(v) == 1 {
			return v[0], nil
		}
		if v := n.Float32s(); len(v) == 1 {
			return float64(v[0]), nil
		}
	}
	vals, err := autodiff.CopyOut(nil, n)
	if err != nil {
		return 0, err
	}
	if len(vals) == 0 {
		return 0, fmt.Errorf("empty value")
	}
	s := 0.0
	for _, x := range vals {
		s += x
	}
	return s / float64(len(vals)), nil
}

// scheduleWeight adds the bound's changing loss weight, if est has one,
// to p's scheduled inputs.
func (p *program) scheduleWeight(name string, est bounds.Estimate) error {
	if est.Weight == nil {
		return nil
	}
	if est.WeightAt == nil {
		return fmt.Errorf("%s: %s: a loss weight input without its schedule", p.what, name)
	}
	p.scheduled = append(p.scheduled, scheduledInput{"loss weight", est.Weight, est.WeightAt})
	return nil
}

// linearRamp returns the schedule that goes linearly from start at
// iteration from to end steps iterations later (steps > 0), and holds
// each outside.
func linearRamp(from, steps int, start, end float64) func(step int) float64 {
	return func(step int) float64 {
		return start + (end-start)*min(1, max(0, float64(step-from)/float64(steps)))
	}
}

// A scheduledInput is a scalar input of a program whose value depends on
// the iteration: at(step) is set into node before every run.
type scheduledInput struct {
	what string // for errors
	node *autodiff.Node
	at   func(step int) float64
}
