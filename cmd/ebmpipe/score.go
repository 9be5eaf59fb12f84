package main

import (
	"fmt"
	"io"
	"os"

	scoring "github.com/ebmpipe/ebmpipe/pipeline/score"
	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/internal/cli"
	"github.com/ebmpipe/ebmpipe/internal/rows"
)

var scoreCommand = command{
	name: "score",
	summary: `Score every row of a file with an ONNX model.

For an energy model the output has a column "energy" per row and, when the
model carries ebmpipe.log_z metadata, "log_density" = -energy - log_z. With
--raw the model's outputs are written as they are, flattened, one row per
input row. Formats follow the file extensions: .csv, .npy, .jsonl.
--input - reads standard input and --output - writes standard output, in
the --format given (csv by default).

The rows stream through in batches, in memory bounded by --batch-size and
--workers whatever the file size, and come out in input order. The output
is written to a temporary file and moved into place only on success; a run
stopped by an error, SIGINT or SIGTERM leaves no output.

--engine ort runs the model on ONNX Runtime, whose shared library is taken
from --ort-lib, else $EBMPIPE_ORT_LIB, else the place scripts/install-ort.sh
(make setup) installs it. --engine auto, the default, does the same but
falls back to the pure-Go engine, saying so, when the library is missing.

--runner prism|universal|dataflow runs the scoring as an Apache Beam
pipeline instead: --input is then a file pattern (a glob, local or gs://),
--output a prefix, and each input file gives one shard
OUTPUT-00000-of-000NN.csv of energies (and log densities), with bad rows
in OUTPUT.rejects under --skip-bad-rows. prism runs in this process;
universal submits to a portable job server (Flink, Spark) at --endpoint;
dataflow to Google Cloud Dataflow (--project, --region, --temp-location).
Any other Beam pipeline option, such as --environment_type LOOPBACK or
--worker_binary, is passed to Beam as it is.`,
	setup: func(fs *pflag.FlagSet, _, errw io.Writer) func([]string) error {
		o := scoring.DefaultOptions()
		cli.ScoreFlags(fs, &o)
		var b beamFlags
		b.addFlags(fs)
		return func(args []string) error {
			if b.runner != "" || b.beamOnly(fs) != "" {
				return scoreBeam(fs, args, o, b, errw)
			}
			if err := checkCall(args, &o); err != nil {
				return err
			}
			if sameFile(o.Input, o.Output) {
				return usageError{fmt.Errorf("--output %s is the --input file; its rows would be replaced by their scores", o.Output)}
			}
			ctx, stop := cli.Interruptible()
			defer stop()
			o.Notice = cli.Notice(errw, "score", fs)
			if bar := cli.NewProgress(errw, "scoring", "rows"); bar != nil {
				o.Progress = bar.Update
				defer bar.Finish()
			}
			st, err := scoring.Score(ctx, o)
			if err != nil {
				return err
			}
			into := o.Output
			if into == rows.Stdio {
				into = "standard output"
			}
			fmt.Fprintf(errw, "scored %d rows into %s", st.Rows, into)
			switch {
			case o.SkipBadRows && st.Rejected > 0:
				fmt.Fprintf(errw, "; %d bad rows in %s.rejects", st.Rejected, o.Output)
			case o.SkipBadRows:
				fmt.Fprint(errw, "; no bad rows")
			}
			if st.NonFinite > 0 {
				fmt.Fprintf(errw, "; %d non-finite values (NaN or ±Inf) in the output", st.NonFinite)
			}
			fmt.Fprintln(errw)
			return nil
		}
	},
}

// sameFile reports whether the paths a and b name one existing file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
