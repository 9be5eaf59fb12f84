package train

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// A bnProbe runs a network in training mode on a batch of inputs and
// measures the batch mean and unbiased batch variance per channel of the
// input of each of its BatchNormalization layers: what PyTorch's running
// averages are made of.
type bnProbe struct {
	n     *network
	vm    *autodiff.Machine
	in    *autodiff.Node
	ps    *importers.ParamSet
	taps  []*autodiff.Node // the input of each layer
	mean  []int            // per layer, the index in n.values of its running mean
	vr    []int            // and of its running variance
	decay []float64        // per layer, ONNX's momentum: running ← decay·running + (1−decay)·batch
	buf   []float64
}

// newBNProbe builds the probe of n for batches of batch rows, or returns
// nil if n has no BatchNormalization with running statistics.
func newBNProbe(n *network, batch int) (*bnProbe, error) {
	m := proto.Clone(n.model).(*onnx.ModelProto)
	g := m.GetGraph()
	p := &bnProbe{n: n}
	var names []string
	for _, nd := range g.GetNode() {
		in := nd.GetInput()
		if nd.GetOpType() != "BatchNormalization" || len(in) < 5 || in[3] == "" || in[4] == "" {
			continue
		}
		names = append(names, in[3], in[4])
		decay := float32(0.9)
		for _, a := range nd.GetAttribute() {
			if a.GetName() == "momentum" {
				decay = a.GetF()
			}
		}
		p.decay = append(p.decay, float64(decay))
		// The rank is not known here; the importer does not check it
		// for outputs.
		g.Output = append(g.Output, onnx.NewValueInfo(in[0], onnx.TensorProto_FLOAT, onnx.Dim{Param: "batch"}, onnx.Dim{}))
	}
	if len(names) == 0 {
		return nil, nil
	}
	for k, name := range names {
		i := slices.IndexFunc(n.params, func(p importers.Param) bool { return p.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("batch statistics: %s is not a parameter of the %s", name, n.name)
		}
		if k%2 == 0 {
			p.mean = append(p.mean, i)
		} else {
			p.vr = append(p.vr, i)
		}
	}
	net, err := importers.New(m)
	if err != nil {
		return nil, fmt.Errorf("batch statistics: %w", err)
	}
	t := autodiff.NewTape(autodiff.Float64)
	p.in = t.Variable("z", autodiff.Zeros(autodiff.Float64, append([]int{batch}, n.inRow...)...))
	p.ps = net.NewParams(t)
	outs, err := net.ApplyRows(t, p.ps, importers.ApplyOptions{Training: true}, p.in)
	if err != nil {
		return nil, fmt.Errorf("batch statistics: %w", err)
	}
	p.taps = outs[1:]
	p.vm = autodiff.NewMachine(t)
	return p, nil
}

// close frees the probe's machine.
func (p *bnProbe) close() { p.vm.Close() }

// batchStats runs the network, with its current parameter values, on the
// inputs x (batch rows) and returns per layer the batch mean and unbiased
// batch variance per channel.
func (p *bnProbe) batchStats(x []float64) (mean, vr [][]float64, err error) {
	for i, v := range p.n.values {
		if err := p.ps.SetData(i, v); err != nil {
			return nil, nil, err
		}
	}
	if err := autodiff.CopyIn(p.in, x); err != nil {
		return nil, nil, err
	}
	defer p.vm.Reset()
	if err := p.vm.Run(); err != nil {
		return nil, nil, fmt.Errorf("batch statistics: %w", err)
	}
	for _, tap := range p.taps {
		if p.buf, err = autodiff.CopyOut(p.buf, tap); err != nil {
			return nil, nil, err
		}
		m, v := channelStats(p.buf, tap.Shape())
		mean, vr = append(mean, m), append(vr, v)
	}
	return mean, vr, nil
}

// channelStats returns the mean and the unbiased variance per channel of
// x, shaped (N, C, ...).
func channelStats(x []float64, s []int) (mean, vr []float64) {
	c := s[1]
	inner := onnx.ShapeSize(s[2:])
	count := s[0] * inner
	mean, vr = make([]float64, c), make([]float64, c)
	for i := range s[0] {
		for ch := range c {
			for j := range inner {
				mean[ch] += x[(i*c+ch)*inner+j]
			}
		}
	}
	for ch := range mean {
		mean[ch] /= float64(count)
	}
	for i := range s[0] {
		for ch := range c {
			for j := range inner {
				d := x[(i*c+ch)*inner+j] - mean[ch]
				vr[ch] += d * d
			}
		}
	}
	for ch := range vr {
		vr[ch] /= float64(max(count-1, 1))
	}
	return mean, vr
}

// track moves the network's running statistics towards the batch
// statistics of the inputs x, as a training-mode forward pass does in
// PyTorch: running ← decay·running + (1−decay)·batch, with the layer's
// ONNX momentum as decay (0.9 is PyTorch's momentum 0.1) and the
// unbiased batch variance.
func (p *bnProbe) track(x []float64) error {
	mean, vr, err := p.batchStats(x)
	if err != nil {
		return err
	}
	for k, a := range p.decay {
		for _, s := range []struct {
			run   []float64
			batch []float64
		}{{p.n.values[p.mean[k]], mean[k]}, {p.n.values[p.vr[k]], vr[k]}} {
			for ch, b := range s.batch {
				s.run[ch] = a*s.run[ch] + (1-a)*b
			}
		}
	}
	return nil
}

// batchNormStats estimates the running statistics of the
// BatchNormalization layers of the generator n at its current parameters:
// it runs n in training mode on batches latent draws of batch rows from r
// and returns, by initializer name, the average over the batches of each
// layer's batch mean and unbiased batch variance per channel — what
// PyTorch's running averages tend to. It returns nil if n has no
// BatchNormalization.
func batchNormStats(n *network, batch, batches int, r *data.RNG) (map[string][]float64, error) {
	p, err := newBNProbe(n, batch)
	if p == nil || err != nil {
		return nil, err
	}
	defer p.close()
	sums := make([][2][]float64, len(p.decay))
	zb := make([]float64, batch*n.inWidth)
	for range batches {
		for i := range zb {
			zb[i] = r.NormFloat64()
		}
		mean, vr, err := p.batchStats(zb)
		if err != nil {
			return nil, err
		}
		for k := range sums {
			if sums[k][0] == nil {
				sums[k] = [2][]float64{make([]float64, len(mean[k])), make([]float64, len(vr[k]))}
			}
			for ch := range mean[k] {
				sums[k][0][ch] += mean[k][ch] / float64(batches)
				sums[k][1][ch] += vr[k][ch] / float64(batches)
			}
		}
	}
	out := map[string][]float64{}
	for k := range sums {
		out[n.params[p.mean[k]].Name] = sums[k][0]
		out[n.params[p.vr[k]].Name] = sums[k][1]
	}
	return out, nil
}
