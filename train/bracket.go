package train

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/train/data"
	"github.com/ebmpipe/ebmpipe/train/metrics"
)

// bracketMonitor measures the certified bracket during training.
type bracketMonitor struct {
	c          bounds.Certified
	ev         *evalProgram
	ds         *data.Dataset
	seed       uint64
	samples, d int
	batch      int
}

func newBracketMonitor(nets []*network, ds *data.Dataset, o Options) (*bracketMonitor, error) {
	D, d := ds.Width, nets[1].inWidth
	if D != d {
		return nil, fielderr.Errorf("{BracketEvery}: the certified bracket needs as many latent as data dimensions (the generator maps %d to %d)", d, D)
	}
	bm := &bracketMonitor{c: bounds.DefaultCertified(), ds: ds, seed: o.Seed, samples: o.BracketSamples, d: d, batch: min(o.BracketSamples, 500)}
	bm.c.OutputOp, bm.c.Kinks = nets[1].outputOp(), bounds.KinkedOps(nets[1].model.GetGraph())
	var err error
	if bm.ev, err = newEvalProgram(nets, &bm.c, nil, bm.batch, D, d); err != nil {
		return nil, fielderr.Errorf("{BracketEvery}: %w", err)
	}
	return bm, nil
}

// log measures the bracket with the networks' current parameters (the
// generator in inference mode) on draws fixed by the seed and step, and
// adds its certified limits to acc.
func (bm *bracketMonitor) log(acc *metrics.Accum, step int) error {
	s, err := data.NewSampler(bm.ds, bm.seed+uint64(step))
	if err != nil {
		return err
	}
	tag := strconv.Itoa(step)
	dr := Draws{Data: s, Z: data.NewRNG(bm.seed, "bracket-z"+tag), Noise: data.NewRNG(bm.seed, "bracket-noise"+tag), Samples: bm.samples, Batch: bm.batch}
	br, _, err := measureBracket(&bm.c, bm.ev, dr, bm.d)
	if ue := (*bounds.UnavailableError)(nil); errors.As(err, &ue) {
		return nil // nothing certified to log
	}
	if err != nil {
		return fmt.Errorf("certified bracket at iteration %d: %w", step, err)
	}
	if br.Lower.Certified {
		acc.Add(metrics.ColBracketLower, br.Lower.Limit)
	}
	if br.Upper.Certified {
		acc.Add(metrics.ColBracketUpper, br.Upper.Limit)
	}
	return nil
}
