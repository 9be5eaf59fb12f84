package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ebmpipe/ebmpipe/pipeline/logz"

	"github.com/ebmpipe/ebmpipe/internal/cli"
	"github.com/spf13/pflag"
)

// toyRows is the number of points drawn for --data toy:NAME by default.
const toyRows = logz.DefaultToyRows

var logzCommand = command{
	name: "logz",
	summary: `Estimate log Z of an energy model and store it in the model's metadata.

log Z = log ∫ exp(−E(x)) dx makes the energy a density, log p(x) = −E(x) −
log Z; score then writes log_density. The estimate, its error and the method
go to the metadata ebmpipe.log_z, ebmpipe.log_z_stderr and
ebmpipe.log_z_method of the --model file, rewritten in place (atomically), or
of a copy written to --output.

--method grid (the default for inputs of 1 or 2 values) integrates exp(−E)
with the trapezoid rule on a grid of --grid-size intervals per axis over
--bounds, or over the range of --data and generator samples widened by
--margin on each side. Its error is the Richardson estimate from the grid of
every other point plus an estimate of the mass outside the box.

--method importance (the default for wider inputs) samples from a mixture of
Gaussians fitted to --data and/or samples of --generator (z ~ N(0, I)),
widened for safety, and reports the delta-method standard error of the log of
the mean importance weight. A generator's samples have no density, so they
only shape the proposal.`,
	setup: func(fs *pflag.FlagSet, out, errw io.Writer) func([]string) error {
		o := logz.DefaultFileOptions()
		cli.LogZFileFlags(fs, &o)
		return func(args []string) error {
			if err := checkCall(args, &o); err != nil {
				return err
			}
			notice := cli.Notice(errw, "logz", fs)
			o.Notice = notice
			res, path, err := logz.EstimateFile(context.Background(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, res)
			for _, n := range res.Notes {
				notice("warning: " + n)
			}
			fmt.Fprintf(errw, "wrote log Z to %s\n", path)
			return nil
		}
	},
}
