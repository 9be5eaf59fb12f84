package pipeline

import (
	"context"
	"fmt"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"
	"github.com/ebmpipe/ebmpipe/pipeline/logz"
	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// selectGrid caps the grid intervals per axis of the log Z estimates of
// checkpoint selection: a quarter of the work of the final estimate's
// 512, and still within a few thousandths of a nat on the toy sets.
const selectGrid = 256

// validator returns the score of Select best in a run: LikelihoodValidator
// with the logz section's estimate.
func (o *RunOptions) validator() train.Validator { return LikelihoodValidator(o.LogZ.Estimate) }

// LikelihoodValidator returns a score for train's Select best: the
// log-likelihood of the validation rows, −mean E − log Z, with log Z
// estimated by est (its grid capped at selectGrid intervals per axis),
// the validation rows and the generator's samples setting the box or the
// proposal.
func LikelihoodValidator(est logz.Options) train.Validator {
	return func(ctx context.Context, energy, generator string, valid *data.Dataset) (float64, error) {
		em, err := export.LoadKind(energy, export.KindEnergy, "Energy")
		if err != nil {
			return 0, err
		}
		gm, err := export.LoadKind(generator, export.KindGenerator, "Generator")
		if err != nil {
			return 0, err
		}
		batch := max(est.BatchSize, 1)
		e, err := engine.NewGoEngine(em, batch)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", energy, err)
		}
		defer e.Close()
		g, err := engine.NewGoEngine(gm, batch)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", generator, err)
		}
		defer g.Close()
		lo := est
		lo.Data, lo.Generator = valid.Data, g
		if lo.GridSize == 0 || lo.GridSize > selectGrid {
			lo.GridSize = selectGrid
		}
		z, err := logz.Estimate(ctx, e, lo)
		if err != nil {
			return 0, fmt.Errorf("log Z: %w", err)
		}
		sum := 0.0
		err = logz.Energies(ctx, e, valid.Rows, valid.Width, batch,
			func(x []float64, first, k int) { copy(x, valid.Data[first*valid.Width:(first+k)*valid.Width]) },
			func(_ int, en []float64) {
				for _, v := range en {
					sum += v
				}
			})
		if err != nil {
			return 0, err
		}
		return -sum/float64(valid.Rows) - z.Value, nil
	}
}
