package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/internal/cli"
	"github.com/ebmpipe/ebmpipe/pipeline"
	"github.com/ebmpipe/ebmpipe/pipeline/evaluate"
)

var boundsCommand = command{
	name: "bounds",
	summary: `Evaluate every applicable bound on an energy and generator pair.

Prints first the certified bracket, which needs no unknown constant:
importance-weighted lower ≤ NLL ≤ χ² upper, with 95% confidence limits and
the width between them. It needs a generator onto the data space (latent
and data dimensions equal, no squashing last operator), for the lower end
also one-to-one (no fold; a fold leaves the χ² end a bound), and says "n/a"
with the reason otherwise; the χ² end is marked
unreliable when the Pareto k̂ of the squared weights exceeds 0.7. Its
--bracket-samples latent draws (by default 2e6 over the latent width, at
least --samples and at most a million: a million in 2-D, about 5 s of one
core for the demo's networks) come from 0.8·N(0, I) + 0.2·t_3(0, I), whose
density enters the weights exactly: the heavy-tailed part keeps the χ² end
finite for energies that grow only linearly (exponential tails), which
N(0, I) alone cannot.

Then the paper's bounds with their conditions, in nats per example with
Monte-Carlo standard errors: the lower bounds (jacobian, jacobian-exact, and
mi with --encoder) and the upper bounds gp and diffusion, which add a KL bound
to the reference lower bound (jacobian-exact when the latent and data
dimensions agree). gp and diffusion are bounds only conditional on the
log-Sobolev constant C of the energy's law (--lsi-constant, default 1), which
is unknown for a learned energy and huge for well-separated modes; they are
blind to how much mass each mode carries. Values that are no bounds on the
pair are listed with the reason instead of a number: gp and diffusion with
more data than latent dimensions, with a generator that folds, or with a
generator whose operators have kinks (PRelu, Relu, LeakyRelu, Abs, Clip, …,
as in the default mlp: generators: its law jumps across its linear pieces,
which no score sees), and diffusion with such an energy.
Data are read as the models take them.

When the energy model carries a log Z estimate (from ebmpipe logz), it also
prints the NLL, mean energy + log Z, and warns about every bound on the wrong
side of it by more than three standard errors: a Jacobian lower bound above
the NLL means the generator is not one-to-one, so the change of variables
overstates its entropy (or log Z is too small).

Last, it compares 5000 generator samples with the data rows: their energy
distance with a permutation-test p-value (a small p says the samples are
not of the data's law) and, for toy:25gaussians and toy:8gaussians, the
modes covered (a mode counts when at least 1% of the samples lie within
3σ of it) and the share of samples within 3σ of some mode; for those and
toy:rings, the log-likelihood of the data rows under the true law.`,
	setup: func(fs *pflag.FlagSet, out, errw io.Writer) func([]string) error {
		o := evaluate.DefaultBoundsOptions()
		cli.BoundsFlags(fs, &o)
		return func(args []string) error {
			if err := checkCall(args, &o); err != nil {
				return err
			}
			o.Notice = cli.Notice(errw, "bounds", fs)
			ctx, stop := cli.Interruptible()
			defer stop()
			rep, err := evaluate.EvaluateBounds(ctx, o)
			if err != nil {
				return err
			}
			q, err := pipeline.BoundsSampleQuality(ctx, o)
			if err != nil {
				return fmt.Errorf("sample quality: %w", err)
			}
			if o.JSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					*evaluate.BoundsReport
					Quality *pipeline.SampleQuality `json:"sample_quality"`
				}{rep, q})
			}
			if err := evaluate.WriteBoundsTable(out, rep); err != nil {
				return err
			}
			if q != nil {
				_, err = fmt.Fprintf(out, "\n%s", q)
			}
			return err
		}
	},
}
