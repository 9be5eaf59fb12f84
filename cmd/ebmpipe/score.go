package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/pipeline"
)

var scoreCommand = command{
	name: "score",
	summary: `Score every row of a file with an ONNX model.

For an energy model the output has a column "energy" per row and, when the
model carries ebmpipe.log_z metadata, "log_density" = -energy - log_z. With
--raw the model's outputs are written as they are, flattened, one row per
input row. Formats follow the file extensions: .csv, .npy, .jsonl. The output
is written to a temporary file and moved into place only on success.`,
	setup: func(fs *pflag.FlagSet, _, errw io.Writer) func([]string) error {
		var o pipeline.ScoreOptions
		o.AddFlags(fs)
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			if err := o.Check(); err != nil {
				return usageError{err}
			}
			st, err := pipeline.Score(o)
			if err != nil {
				return err
			}
			fmt.Fprintf(errw, "scored %d rows into %s", st.Rows, o.Output)
			if o.SkipBadRows {
				fmt.Fprintf(errw, "; %d bad rows in %s.rejects", st.Rejected, o.Output)
			}
			fmt.Fprintln(errw)
			return nil
		}
	},
}
