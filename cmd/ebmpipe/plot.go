package main

import (
	"fmt"
	"io"

	"github.com/ebmpipe/ebmpipe/pipeline/plot"
	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/internal/cli"
)

var plotCommand = command{
	name: "plot",
	summary: `Draw pictures of trained models: density, samples and training curves.

Writes into --out, each picture only if its inputs are given:

  density.png  (--energy, a model of 2 inputs) the density
               p(x) = exp(-E(x)) / Z as a heat map over the data's range
               (or --bounds), with data points over it; log Z is the
               model's ebmpipe.log_z (see ebmpipe logz), else computed on
               the picture's grid, and is shown in the title
  samples.png  (--generator) samples G(z), z ~ N(0, I), over the data for
               2-D rows; for images (C,H,W) an 8x8 grid of samples beside
               one of data rows
  curves.png   (--metrics) lower_bound and upper_bound, and the energy's
               and generator's losses, over the steps of a training run

--run DIR takes energy.onnx, generator.onnx and metrics.csv from the output
directory of ebmpipe train, writes the pictures there (unless --out), and
draws the run's training data, as recorded in its checkpoint, unless --data
is given. ebmpipe train draws these pictures itself at the end of a run on
2-D data. The models run on the Go engine. Prints the files written.`,
	setup: func(fs *pflag.FlagSet, out, errw io.Writer) func([]string) error {
		o := plot.DefaultOptions()
		cli.PlotFlags(fs, &o)
		return func(args []string) error {
			if err := checkCall(args, &o); err != nil {
				return err
			}
			o.Notice = cli.Notice(errw, "plot", fs)
			ctx, stop := cli.Interruptible()
			defer stop()
			files, err := plot.Plot(ctx, o)
			for _, f := range files {
				fmt.Fprintln(out, f)
			}
			return err
		}
	},
}
