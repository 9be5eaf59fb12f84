package main

import (
	"encoding/json"
	"io"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/pipeline/evaluate"
	"github.com/ebmpipe/ebmpipe/train"
)

var boundsCommand = command{
	name: "bounds",
	summary: `Evaluate every applicable bound on an energy and generator pair.

Prints the lower bounds (jacobian, jacobian-exact, and mi with --encoder)
and the upper bounds (gp, gp0, diffusion) of the negative log-likelihood of
the data, in nats per example with their theoretical constants, side by side
with Monte-Carlo standard errors. An upper bound adds its KL bound to the
reference lower bound (jacobian-exact when the latent and data dimensions
agree). Data are read as the models take them.

When the energy model carries a log Z estimate (from ebmpipe logz), it also
prints the NLL, mean energy + log Z, and warns about every bound on the wrong
side of it by more than three standard errors: a Jacobian lower bound above
the NLL means the generator is not one-to-one, so the change of variables
overstates its entropy (or log Z is too small).`,
	setup: func(fs *pflag.FlagSet, out, _ io.Writer) func([]string) error {
		o := train.DefaultBoundsOptions()
		o.AddFlags(fs)
		return func(args []string) error {
			if err := checkCall(args, &o); err != nil {
				return err
			}
			rep, err := train.EvaluateBounds(o)
			if err != nil {
				return err
			}
			if o.JSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return evaluate.WriteBoundsTable(out, rep)
		}
	},
}
