package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/spf13/pflag"

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
agree). Data are read as the models take them.`,
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
			fmt.Fprintf(out, "%-8s %-16s %12s %10s\n", "side", "bound", "NLL bound", "stderr")
			for _, side := range []struct {
				name string
				m    map[string]train.BoundValue
			}{{"lower", rep.Lower}, {"upper", rep.Upper}} {
				for _, k := range slices.Sorted(maps.Keys(side.m)) {
					v := side.m[k]
					fmt.Fprintf(out, "%-8s %-16s %12.4f %10.4f\n", side.name, k, v.Value, v.StdErr)
				}
			}
			fmt.Fprintf(out, "\nmean energy: data %.4f, model samples %.4f (%d samples; upper bounds over %s)\n",
				rep.EnergyDataMean, rep.EnergyModelMean, rep.Samples, rep.Ref)
			return nil
		}
	},
}
