package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/internal/cli"
	"github.com/ebmpipe/ebmpipe/pipeline"
	"github.com/ebmpipe/ebmpipe/pipeline/logz"
	"github.com/ebmpipe/ebmpipe/pipeline/plot"
	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/metrics"
	"math"
)

var trainCommand = command{
	name: "train",
	summary: `Train an energy-based model and a generator with bidirectional bounds.

Each iteration takes --energy-steps Adam steps of the energy on
mean E(data) - mean E(G(z)) + the upper bound's penalty, then
--generator-steps steps of the generator on mean E(G(z)) + the lower bound's
entropy term. DIR receives metrics.csv (one row per --log-every iterations:
losses, the bracket lower_bound <= NLL <= upper_bound in nats per example,
the entropy and KL estimates, s_min, mean energies, wall time), checkpoint/
(every --checkpoint-every iterations and at the end; --resume continues
exactly), and at the end energy.onnx and generator.onnx. Interrupting
(Ctrl-C, SIGTERM) writes a checkpoint first. A NaN or infinite loss stops
the run and keeps the last good checkpoint.

The defaults are the recipe that holds up where the paper's drifts
(--recipe default: the diffusion upper bound, a higher learning rate with
warm-up and cosine decay over 20 000 iterations, a moving average of the
parameters, which evaluation and export use, and from iteration 5 000 a
late stage: small noise levels, which sharpen the modes, a pull of the
generator's samples towards weighted draws of the model density, and
from 10 000 negatives importance-weighted on draws around the data and
from a wide Gaussian, which set the modes' weights; between 5 000 and
10 000 the sharp modes play against the generator, which spreads it over
every mode but leaves the energy poor until about 15 000: stop a default
run at 20 000 iterations or later; bench/density.md §8b);
--recipe paper gives the paper's toy settings (the gradient-penalty
upper bound at the paper's rate), whose energy drifts on long runs
(bench/drift.md). --recipe lists the flags of each; flags given explicitly
win over the recipe.`,
	setup: func(fs *pflag.FlagSet, out, errw io.Writer) func([]string) error {
		o := train.DefaultOptions()
		cli.TrainFlags(fs, &o)
		return func(args []string) error {
			if err := checkCall(args, &o); err != nil {
				return err
			}
			ctx, stop := cli.Interruptible()
			defer stop()
			h := train.Hooks{Notice: cli.Notice(errw, "train", fs)}
			if o.Select == train.SelectBest {
				h.Validate = pipeline.LikelihoodValidator(logz.DefaultFileOptions().Estimate)
			}
			if bar := cli.NewProgress(errw, "training", "it"); bar != nil {
				h.Progress = func(p train.Progress) {
					if m := p.Metrics; m != nil {
						bar.Describe(fmt.Sprintf("L_low %.3f  L_up %s", m.Get(metrics.ColLower), upperText(m, "%.3f")))
					}
					bar.Update(p.Step, p.Steps)
				}
				defer bar.Finish()
			}
			tr, err := train.NewTrainer(ctx, o, h)
			if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return fmt.Errorf("stopped before training (%v); nothing was written", context.Cause(ctx))
			}
			if err != nil {
				return err
			}
			for _, n := range tr.Data().Notes {
				fmt.Fprintln(errw, "note:", n)
			}
			res, err := tr.Run(ctx)
			if err != nil && err == ctx.Err() {
				// Run wrote a checkpoint of the iterations done.
				return fmt.Errorf("stopped after %d of %d iterations (%v); the checkpoint is in %s: continue with the same flags and --resume",
					tr.Step(), o.Steps, context.Cause(ctx), filepath.Join(o.Out, train.CheckpointDir))
			}
			if err != nil {
				return err
			}
			m := res.Metrics
			if res.Trained == 0 {
				fmt.Fprintf(errw, "nothing to train: the checkpoint is at iteration %d of %d; models exported again; %s nats/example (last logged)\n",
					res.Steps, o.Steps, boundsLine(m))
			} else {
				fmt.Fprintf(errw, "trained %d iterations (%.1f/s); %s nats/example\n",
					res.Steps, res.StepsPerSecond, boundsLine(m))
			}
			fmt.Fprintf(out, "%s\n%s\n", res.Energy, res.Generator)
			if d := tr.Data(); d.Width == 2 {
				notice := cli.Notice(errw, "train", fs)
				files, err := plot.Trained(ctx, o.Out, d, notice)
				for _, f := range files {
					fmt.Fprintln(out, f)
				}
				if err != nil {
					notice("the models are saved, but plotting failed: " + cli.Message(err, fs))
				}
			}
			return nil
		}
	},
}

// boundsLine describes the training bounds of the metrics row m: an
// upper bound that was not logged (no bound on these networks, or none
// asked for) is said to be none rather than printed as NaN.
func boundsLine(m *metrics.Row) string {
	return fmt.Sprintf("lower bound %.4g, upper bound %s", m.Get(metrics.ColLower), upperText(m, "%.4g"))
}

// upperText formats m's upper bound with format, or says there is none.
func upperText(m *metrics.Row, format string) string {
	if up := m.Get(metrics.ColUpper); !math.IsNaN(up) {
		return fmt.Sprintf(format, up)
	}
	return "none (no upper bound holds for these networks, or none was asked for)"
}
