package evaluate

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// latentLSI is the log-Sobolev constant C_π of p_θ pulled back through
// the generator that the latent value assumes (→ 1 as q → p_θ).
const latentLSI = 1

// measureLatent measures the latent-space bound (bounds.Latent) over the
// reference lower bound and records it in rep as the upper bound
// "latent", or, where it bounds nothing, in rep.NotBounds with the
// reason. Its scale s is the one of bounds.LatentScales with the
// smallest value on draws independent of the reported ones (choosing on
// the same draws would bias the value low).
func (rep *BoundsReport) measureLatent(ctx context.Context, p *train.Pair, ds *data.Dataset, o BoundsOptions) error {
	const name = "latent"
	lower, err := bounds.LowerByName(rep.Ref)
	if err != nil {
		return err
	}
	at := func(s float64, stream string) (train.Measurement, error) {
		smp, err := data.NewSampler(ds, o.Seed)
		if err != nil {
			return train.Measurement{}, fielderr.Errorf("{Data}: %w", err)
		}
		dr := train.Draws{Data: smp, Z: data.NewRNG(o.Seed, stream+"z"), Noise: data.NewRNG(o.Seed, stream+"noise"),
			Samples: o.Samples, Batch: o.BatchSize}
		return p.Measure(ctx, lower, &bounds.Latent{LSI: latentLSI, Scale: s}, dr)
	}
	best, bestV := 0.0, 0.0
	for k, s := range bounds.LatentScales {
		m, err := at(s, "latent-select-")
		var ue *bounds.UnavailableError
		if errors.As(err, &ue) {
			rep.NotBounds[name] = "not available: " + ue.Reason
			return nil
		}
		if err != nil {
			return err
		}
		if m.Surrogate {
			rep.NotBounds[name] = m.UpperCondition
			return nil
		}
		if k == 0 || m.Upper.Value < bestV {
			best, bestV = s, m.Upper.Value
		}
	}
	// The reported draws are those of every other bound.
	m, err := at(best, "")
	if err != nil {
		return err
	}
	rep.Upper[name] = BoundValue{Value: m.Upper.Value, StdErr: m.Upper.StdErr,
		Condition: fmt.Sprintf("%s; s = %g, chosen from %v by the smallest value on independent draws", m.UpperCondition, best, bounds.LatentScales)}
	return nil
}
