package train

import (
	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// inferenceNets returns the nets the bounds of a training step see: bn
// itself, or, when the generator has BatchNormalization (genEval is not
// nil), bn with the generator in inference mode, and a report of whether
// a node is an output of that generator.
//
// In training mode BatchNormalization normalises with the statistics of
// the batch, which couples the rows: a shift shared by the whole batch is
// in the kernel of the batch-wide Jacobian, and the per-sample Jacobian
// the entropy bounds need is not defined. As the paper's public code
// does, the bounds take the generator in inference mode instead, with
// the running statistics, which the trainer holds as parameters (not
// trained) and moves towards the batch statistics after every update
// (bnProbe.track), as PyTorch's training-mode forward pass does. The
// losses keep the training-mode generator for the energy's samples
// E(G(z)): batch statistics are what make BatchNorm help the generator's
// optimisation, and they are what the public code trains with; the two
// generators agree up to how far the running statistics trail the batch
// ones.
func inferenceNets(bn bounds.Nets, genEval bounds.Net) (bounds.Nets, func(*autodiff.Node) bool) {
	if genEval == nil {
		return bn, func(*autodiff.Node) bool { return false }
	}
	outs := map[*autodiff.Node]bool{}
	bn.Generator = func(z *autodiff.Node) (*autodiff.Node, error) {
		x, err := genEval(z)
		if x != nil {
			outs[x] = true
		}
		return x, err
	}
	return bn, func(x *autodiff.Node) bool { return outs[x] }
}

// trackBatchNorm moves the generator's running statistics towards the
// batch statistics of the latent rows z of the step just run (a no-op
// for a generator without BatchNormalization).
func (tr *Trainer) trackBatchNorm(z []float64) error {
	if tr.bnTrack == nil {
		return nil
	}
	return tr.bnTrack.track(z)
}
