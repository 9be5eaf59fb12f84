package main

import (
	"fmt"
	"io"

	"github.com/ebmpipe/ebmpipe/pipeline/sample"
	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/internal/cli"
)

var sampleCommand = command{
	name: "sample",
	summary: `Draw samples from a generator, optionally refined by Langevin dynamics on an energy.

Each sample is x = G(z), z ~ N(0, I), from the --generator model. With
--energy and --langevin-steps K, each then takes K steps of

    x ← x − (η/2) ∇E(x) + s √η ξ,   ξ ~ N(0, I)

with η = --step-size and s = --noise-scale: with s = 1, Langevin dynamics,
whose samples follow exp(−E(x))/Z as η shrinks and K grows (there is no
Metropolis correction, so a finite η leaves a bias of order η); with s = 0,
gradient descent on the energy. ∇E is the gradient of the imported energy
graph, computed by the go engine; --engine runs the generator.

Each sample is written as one row, flattened, with the columns named by
the generator's ebmpipe.features metadata, else x0, x1, .... Formats follow
the extension of --output: .csv, .npy, .jsonl. Sample i draws its noise
from a stream of its own, so --seed decides the samples whatever
--batch-size, and -n 100 gives the first 100 samples of -n 1000. The output
is written to a temporary file and moved into place only on success; a run
stopped by an error, SIGINT or SIGTERM leaves no output.`,
	setup: func(fs *pflag.FlagSet, _, errw io.Writer) func([]string) error {
		o := sample.DefaultOptions()
		cli.SampleFlags(fs, &o)
		return func(args []string) error {
			if err := checkCall(args, &o); err != nil {
				return err
			}
			ctx, stop := cli.Interruptible()
			defer stop()
			o.Notice = cli.Notice(errw, "sample", fs)
			// In passes over rows: one for the generator and one per
			// Langevin step.
			if bar := cli.NewProgress(errw, "sampling", "rows"); bar != nil {
				o.Progress = bar.Update
				defer bar.Finish()
			}
			st, err := sample.Sample(ctx, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(errw, "wrote %d samples to %s", st.Rows, o.Output)
			if o.Energy != "" {
				fmt.Fprintf(errw, "; mean energy %.4g, %.4g after %d Langevin steps", st.EnergyBefore, st.EnergyAfter, o.LangevinSteps)
			}
			fmt.Fprintln(errw)
			return nil
		}
	},
}
