package train

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// A Pair is a trained energy and generator, and optionally an encoder,
// loaded for measuring their bounds; it holds no trainer state.
type Pair struct {
	nets []*network // energy, generator[, encoder]
}

// LoadPair loads the networks of the option fields Energy, Generator and
// Encoder (empty for none): ONNX files, or built-in MLPs initialised
// from seed. Errors are *fielderr.Error naming the field.
func LoadPair(energy, generator, encoder string, seed uint64) (*Pair, error) {
	e, err := loadNetwork(bounds.Energy, "energy", "Energy", energy, seed, false)
	if err != nil {
		return nil, err
	}
	g, err := loadNetwork(bounds.Generator, "generator", "Generator", generator, seed, false)
	if err != nil {
		return nil, err
	}
	p := &Pair{nets: []*network{e, g}}
	if encoder != "" {
		r, err := loadNetwork(bounds.Encoder, "encoder", "Encoder", encoder, seed, false)
		if err != nil {
			return nil, err
		}
		p.nets = append(p.nets, r)
	}
	return p, nil
}

// NoteFixedBatch tells notice, if not nil, of each network of p whose
// input fixes the batch, which runs in chunks of it (importers.ApplyRows).
func (p *Pair) NoteFixedBatch(notice func(msg string)) { noteFixedBatch(p.nets, notice) }

// noteFixedBatch tells notice, if not nil, of each of nets whose input
// fixes the batch.
func noteFixedBatch(nets []*network, notice func(msg string)) {
	for _, n := range nets {
		if b := n.net.FixedBatch(); b > 0 && notice != nil {
			notice(fmt.Sprintf("%s %s: %s", n.name, n.spec, importers.FixedBatchNote(n.net.Inputs()[0].Name, b)))
		}
	}
}

// Widths returns the number of values in an input row and in an output
// row of the network of role, zeros if the pair has none.
func (p *Pair) Widths(role bounds.Role) (in, out int) {
	for _, n := range p.nets {
		if n.role == role {
			return n.inWidth, n.outWid
		}
	}
	return 0, 0
}

// Model returns the model of the network of role, nil if the pair has
// none.
func (p *Pair) Model(role bounds.Role) *onnx.ModelProto {
	for _, n := range p.nets {
		if n.role == role {
			return n.model
		}
	}
	return nil
}

// Draws are the random inputs of a measurement: data rows, latent
// draws and noise, in batches of Batch rows up to Samples rows.
type Draws struct {
	Data           *data.Sampler
	Z, Noise       *data.RNG
	Samples, Batch int
	// Latent is the number of latent draws of the certified bracket,
	// which may exceed the Samples data rows (0: Samples).
	Latent int
	// FoldZ, if not nil, draws Latent more latent rows, independent of
	// Z's, whose fold check chooses the latent ball of the bracket's
	// lower end when Z's draws show that the generator folds.
	FoldZ *data.RNG
}

// A Measurement is a lower bound, and optionally an upper bound, on the
// NLL (nats per example), with the mean energies it is made of.
type Measurement struct {
	// EnergyData and EnergyModel are the mean energies of the data rows
	// and of the samples the lower bound is about.
	EnergyData, EnergyModel bounds.MeanSE
	// Lower is mean E(data) − mean E(G(z)) + the entropy estimate; Upper
	// adds the KL bound (zero without an upper bound).
	Lower, Upper bounds.MeanSE
	// LowerCondition and UpperCondition are the bounds' conditions.
	LowerCondition, UpperCondition string
	// Surrogate reports an upper bound whose value bounds nothing (gp0,
	// or gp with D ≠ d): Upper is then not measured.
	Surrogate bool
}

// Measure measures lower and, if not nil, upper on the pair with its
// loaded parameters, the generator in inference mode, on the draws dr.
// The data width must be the energy's input width.
func (p *Pair) Measure(ctx context.Context, lower bounds.Lower, upper bounds.Upper, dr Draws) (Measurement, error) {
	D, d := p.nets[0].inWidth, p.nets[1].inWidth
	ev, err := newEvalProgram(p.nets, lower, upper, dr.Batch, D, d)
	if err != nil {
		name := lower.Name()
		if upper != nil {
			name += upper.Name()
		}
		return Measurement{}, fmt.Errorf("bound %s: %w", name, err)
	}
	defer ev.vm.Close()
	m := Measurement{LowerCondition: ev.lCond, UpperCondition: ev.uCond}
	if upper != nil && ev.uN == nil {
		m.Surrogate = true
		return m, nil
	}
	var eData, lowTerm, upTerm, eSamp stats
	for b := range (dr.Samples + dr.Batch - 1) / dr.Batch {
		rows := min(dr.Batch, dr.Samples-b*dr.Batch)
		if err := ctx.Err(); err != nil {
			return Measurement{}, err
		}
		if err := ev.run(dr.Data, dr.Z, dr.Noise); err != nil {
			return Measurement{}, err
		}
		for i := range rows {
			eData.add(ev.eData[i])
			eSamp.add(ev.eSamp[i])
			l := -ev.eSamp[i] + ev.h[i]
			lowTerm.add(l)
			if upper != nil {
				upTerm.add(l + ev.u[i])
			}
		}
	}
	m.EnergyData = bounds.MeanSE{Value: eData.mean(), StdErr: math.Sqrt(eData.sem2())}
	m.EnergyModel = bounds.MeanSE{Value: eSamp.mean(), StdErr: math.Sqrt(eSamp.sem2())}
	m.Lower = bounds.MeanSE{Value: eData.mean() + lowTerm.mean(), StdErr: math.Sqrt(eData.sem2() + lowTerm.sem2())}
	if upper != nil {
		m.Upper = bounds.MeanSE{Value: eData.mean() + upTerm.mean(), StdErr: math.Sqrt(eData.sem2() + upTerm.sem2())}
	}
	return m, nil
}

// Bracket measures the certified bracket of the pair with its loaded
// parameters. A bracket that does not apply to the pair (such as d ≠ D,
// or a singular generator Jacobian) is a *bounds.UnavailableError.
func (p *Pair) Bracket(dr Draws) (bounds.Bracket, bounds.FoldCheck, error) {
	D, d := p.nets[0].inWidth, p.nets[1].inWidth
	c := bounds.DefaultCertified()
	c.OutputOp, c.Kinks = p.nets[1].outputOp(), bounds.KinkedOps(p.nets[1].model.GetGraph())
	ev, err := newEvalProgram(p.nets[:2], &c, nil, dr.Batch, D, d)
	if err != nil {
		return bounds.Bracket{}, bounds.FoldCheck{}, fmt.Errorf("certified bracket: %w", err)
	}
	defer ev.vm.Close()
	return measureBracket(&c, ev, dr, d)
}

// measureBracket runs the certified bracket's program ev (built on a
// bounds.Certified lower bound) over the draws dr, its latent draws from
// c.Proposal (from dr.Z, and if they fold, from dr.FoldZ for the fold
// check that chooses the lower end's ball), and returns the bracket. A
// singular generator Jacobian makes the bracket unavailable: a
// *bounds.UnavailableError.
func measureBracket(c *bounds.Certified, ev *evalProgram, dr Draws, d int) (bounds.Bracket, bounds.FoldCheck, error) {
	var eData stats
	w := bounds.Weights{LogW: make([]float64, 0, dr.Samples), LogRatio: make([]float64, 0, dr.Samples)}
	var folds bounds.FoldCheck
	ev.proposal = &c.Proposal
	defer func() { ev.proposal = nil }()
	latent := cmp.Or(dr.Latent, dr.Samples)
	for b := 0; b*dr.Batch < max(latent, dr.Samples); b++ {
		if err := ev.run(dr.Data, dr.Z, dr.Noise); err != nil {
			return bounds.Bracket{}, folds, &bounds.UnavailableError{Reason: fmt.Sprintf("the generator's Jacobian could not be used: %v", err)}
		}
		for i := range min(dr.Batch, dr.Samples-b*dr.Batch) {
			eData.add(ev.eData[i])
		}
		rows := max(0, min(dr.Batch, latent-b*dr.Batch))
		for i := range rows {
			w.LogW = append(w.LogW, ev.h[i]-ev.eSamp[i])
		}
		w.LogRatio = append(w.LogRatio, ev.logRatio[:rows]...)
		w.Norm = append(w.Norm, bounds.RowNorms(ev.zBuf[:rows*d], d)...)
		// The fold check runs on the proposal's own draws, which reach
		// further out in latent space than N(0, I).
		folds.Add(ev.zBuf[:rows*d], ev.jac[:rows*d*d], d)
	}
	var indep bounds.FoldCheck
	for b := 0; folds.Folds() && dr.FoldZ != nil && b*dr.Batch < latent; b++ {
		if err := ev.run(dr.Data, dr.FoldZ, dr.Noise); err != nil {
			return bounds.Bracket{}, folds, &bounds.UnavailableError{Reason: fmt.Sprintf("the generator's Jacobian could not be used: %v", err)}
		}
		rows := min(dr.Batch, latent-b*dr.Batch)
		indep.Add(ev.zBuf[:rows*d], ev.jac[:rows*d*d], d)
	}
	w.Dim = d
	br, err := c.Bracket(bounds.MeanSE{Value: eData.mean(), StdErr: math.Sqrt(eData.sem2())}, w, folds, indep)
	return br, folds, err
}

// SetLSI sets the log-Sobolev constant of the Fisher-type upper bounds.
func SetLSI(upper bounds.Upper, c float64) {
	switch u := upper.(type) {
	case *bounds.GradientPenalty:
		u.LSI = c
	case *bounds.Diffusion:
		u.LSI = c
	}
}

// outputOp returns the type of the operator that makes the network's
// first output, looking through operators that only reshape.
func (n *network) outputOp() string {
	g := n.model.GetGraph()
	if len(g.GetOutput()) == 0 {
		return ""
	}
	name := g.GetOutput()[0].GetName()
	reshape := []string{"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"}
	for range g.GetNode() {
		i := slices.IndexFunc(g.GetNode(), func(nd *onnx.NodeProto) bool { return slices.Contains(nd.GetOutput(), name) })
		if i < 0 {
			return ""
		}
		nd := g.GetNode()[i]
		if !slices.Contains(reshape, nd.GetOpType()) || len(nd.GetInput()) == 0 {
			return nd.GetOpType()
		}
		name = nd.GetInput()[0]
	}
	return ""
}

// stats accumulates a sample's mean and variance (Welford).
type stats struct {
	n       int
	mu, m2v float64
}

func (s *stats) add(x float64) {
	s.n++
	d := x - s.mu
	s.mu += d / float64(s.n)
	s.m2v += d * (x - s.mu)
}

func (s *stats) mean() float64 { return s.mu }

// sem2 is the squared standard error of the mean.
func (s *stats) sem2() float64 {
	if s.n < 2 {
		return math.NaN()
	}
	return s.m2v / float64(s.n-1) / float64(s.n)
}

// evalProgram computes, for one batch, the energies of data and samples
// and the per-example terms of a lower bound and, optionally, an upper
// bound.
type evalProgram struct {
	vm *autodiff.Machine
	inputs
	sets                   []*importers.ParamSet
	nets                   []*network
	eDataN, eSampN, hN, uN *autodiff.Node
	eData, eSamp, h, u     []float64
	jacN                   *autodiff.Node // the lower bound's Jacobian, if it forms one
	jac                    []float64      // its values
	lCond, uCond           string         // the bounds' conditions
}

func newEvalProgram(nets []*network, lower bounds.Lower, upper bounds.Upper, batch, D, d int) (*evalProgram, error) {
	t := autodiff.NewTape(autodiff.Float64)
	p := &evalProgram{nets: nets}
	p.data = t.Variable("data", autodiff.Zeros(autodiff.Float64, batch, D))
	p.z = t.Variable("z", autodiff.Zeros(autodiff.Float64, batch, d))
	bn := bounds.Nets{Tape: t, DataDim: D, LatentDim: d}
	for _, n := range nets {
		ps := n.net.NewParamsPrefixed(t, n.name+"/")
		p.sets = append(p.sets, ps)
		switch n.role {
		case bounds.Energy:
			bn.Energy = n.apply(t, ps, false)
			bn.EnergyKinks = bounds.KinkedOps(n.model.GetGraph())
		case bounds.Generator:
			bn.Generator = n.apply(t, ps, false)
			bn.GeneratorKinks = bounds.KinkedOps(n.model.GetGraph())
		case bounds.Encoder:
			bn.Encoder = n.apply(t, ps, false)
		}
	}
	var err error
	if p.eDataN, err = bn.Energy(p.data); err != nil {
		return nil, err
	}
	x, err := bn.Generator(p.z)
	if err != nil {
		return nil, err
	}
	if p.eSampN, err = bn.Energy(x); err != nil {
		return nil, err
	}
	b := bounds.Batch{Data: p.data, Z: p.z}
	le, err := lower.Entropy(bn, b)
	if err != nil {
		return nil, fmt.Errorf("lower bound %s: %w", lower.Name(), err)
	}
	p.hN, p.noise, p.jacN, p.lCond = perExample(t, le, batch), le.Noise, le.Jacobian, le.Condition
	if le.X != nil && le.X != x {
		// E_q[E] on the samples the lower bound is about (mi: noisy).
		if p.eSampN, err = bn.Energy(le.X); err != nil {
			return nil, err
		}
	}
	if upper != nil {
		ue, err := upper.KL(bn, b)
		if err != nil {
			return nil, fmt.Errorf("upper bound %s: %w", upper.Name(), err)
		}
		p.noise, p.uCond = append(p.noise, ue.Noise...), ue.Condition
		if !ue.Surrogate { // gp0's value bounds nothing
			p.uN = perExample(t, ue, batch)
		}
	}
	if err := t.Err(); err != nil {
		return nil, err
	}
	if err := p.alloc(batch, D, d); err != nil {
		return nil, err
	}
	p.vm = autodiff.NewMachine(t)
	return p, nil
}

// perExample returns the estimate's per-example terms as a (batch) node:
// Samples if it has one value per example, else Value broadcast.
func perExample(t *autodiff.Tape, e bounds.Estimate, batch int) *autodiff.Node {
	if e.Samples != nil && onnx.ShapeSize(e.Samples.Shape()) == batch {
		return t.Reshape(e.Samples, []int{batch})
	}
	return t.Add(t.Full(0, batch), e.Value)
}

func (p *evalProgram) run(s *data.Sampler, zr, nr *data.RNG) error {
	for i, n := range p.nets {
		for k, v := range n.values {
			if err := p.sets[i].SetData(k, v); err != nil {
				return err
			}
		}
	}
	if err := p.draw(s, zr, nr); err != nil {
		return err
	}
	defer p.vm.Reset()
	if err := p.vm.Run(); err != nil {
		return err
	}
	var err error
	if p.eData, err = autodiff.CopyOut(p.eData, p.eDataN); err != nil {
		return err
	}
	if p.eSamp, err = autodiff.CopyOut(p.eSamp, p.eSampN); err != nil {
		return err
	}
	if p.h, err = autodiff.CopyOut(p.h, p.hN); err != nil {
		return err
	}
	if p.uN != nil {
		if p.u, err = autodiff.CopyOut(p.u, p.uN); err != nil {
			return err
		}
	}
	if p.jacN != nil {
		if p.jac, err = autodiff.CopyOut(p.jac, p.jacN); err != nil {
			return err
		}
	}
	return nil
}

// inputs are the random inputs of a program (data rows, latent draws,
// noise) and their buffers.
type inputs struct {
	data, z       *autodiff.Node
	noise         []*autodiff.Node
	dataBuf, zBuf []float64
	noiseBuf      [][]float64
	// proposal, if not nil, is the law of the latent draws (N(0, I)
	// otherwise); logRatio holds log N(z) − log ρ(z) of each row drawn.
	proposal *bounds.Proposal
	logRatio []float64
}

// alloc makes the buffers for batch rows of dataDim values and latent
// draws of latentDim.
func (in *inputs) alloc(batch, dataDim, latentDim int) error {
	in.dataBuf = make([]float64, batch*dataDim)
	in.zBuf = make([]float64, batch*latentDim)
	for _, nz := range in.noise {
		if nz == nil {
			return errors.New("nil noise input")
		}
		in.noiseBuf = append(in.noiseBuf, make([]float64, onnx.ShapeSize(nz.Shape())))
	}
	return nil
}

// draw copies in the next data rows of s, latent draws from zr and noise
// from nr.
func (in *inputs) draw(s *data.Sampler, zr, nr *data.RNG) error {
	s.Next(in.dataBuf)
	if in.proposal != nil {
		d := in.z.Shape()[1]
		in.logRatio = in.logRatio[:0]
		for off := 0; off < len(in.zBuf); off += d {
			r, _ := in.proposal.Draw(zr.Rand, in.zBuf[off:off+d])
			in.logRatio = append(in.logRatio, r)
		}
	} else {
		for i := range in.zBuf {
			in.zBuf[i] = zr.NormFloat64()
		}
	}
	if err := autodiff.CopyIn(in.data, in.dataBuf); err != nil {
		return err
	}
	if err := autodiff.CopyIn(in.z, in.zBuf); err != nil {
		return err
	}
	for k, nz := range in.noise {
		buf := in.noiseBuf[k]
		for i := range buf {
			buf[i] = nr.NormFloat64()
		}
		if err := autodiff.CopyIn(nz, buf); err != nil {
			return fmt.Errorf("noise: %w", err)
		}
	}
	return nil
}
