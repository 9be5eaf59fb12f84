package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/internal/cli"
	"github.com/ebmpipe/ebmpipe/pipeline"
	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/metrics"
)

var runCommand = command{
	name: "run",
	args: "RUN.yaml",
	summary: `Run a whole pipeline from a run file: train, export, log Z, bounds, scores.

Steps: hold out test rows (--test; by default toy training data drawn again
with seed + 1, or --test-fraction of a training file, the rest written to
OUT/train.csv), train (OUT/metrics.csv, checkpoint/, energy.onnx,
generator.onnx), estimate log Z into energy.onnx, evaluate the bounds on the
held-out rows, score them (OUT/test.csv, OUT/test_scores.csv), score the
score section's --input if given, and draw pictures. OUT is train's --out.
Prints the bracket L_low <= NLL <= L_up of the training bound pair on the
held-out rows, the test log-likelihood beside that of a single Gaussian
fitted to the training data, and the files written.

The run file is YAML (or JSON) with one section per command, whose keys are
exactly that command's flag names, without dashes in front:

  train:                    # ebmpipe train --help
    data: toy:25gaussians
    steps: 3000
    lower: jacobian
    upper: gp
    out: out/demo
  logz:                     # ebmpipe logz --help
    method: grid
  bounds:                   # ebmpipe bounds --help
    samples: 2000
  score:                    # ebmpipe score --help
    input: rows.csv
    output: scores.csv
    engine: auto
  run:                      # the flags of ebmpipe run below
    test-rows: 5000

Values are given to the flags as written; a list such as [-3, 3] is joined
with commas. Options left out keep the commands' defaults. The run sets the
options that link the steps itself (logz: model, data, data-rows,
generator, output; bounds: energy, generator, encoder, data, data-rows,
json; score: model), and rejects them in the file. Relative paths are taken
from the run file's directory. Flags of ebmpipe run given on the command
line win over the file's run section; --set overrides any option.

A bad run file, option or value exits with status 2, naming the line; a
failed step with status 1.`,
	setup: func(fs *pflag.FlagSet, out, errw io.Writer) func([]string) error {
		c := cli.NewRunConfig()
		fs.AddFlagSet(c.FlagSet(pipeline.SectionRun))
		var sets []string
		addSetFlag(fs, &sets)
		return func(args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("want one run file: ebmpipe run [flags] RUN.yaml")}
			}
			rf, err := pipeline.ReadRunFile(args[0])
			if err != nil {
				var fe *pipeline.RunFileError
				if errors.As(err, &fe) {
					return usageError{err}
				}
				return err
			}
			if err := c.Apply(rf); err != nil {
				return usageError{err}
			}
			return runPipeline(c, sets, "run", out, errw)
		}
	},
}

var demoCommand = command{
	name: "demo",
	summary: `Run the quickstart: train on toy:25gaussians, export, estimate log Z, score.

Runs the built-in run file below as ebmpipe run would: trains an energy and
a generator with the default bound pair, exports energy.onnx and
generator.onnx, estimates log Z, scores held-out points with ONNX Runtime
(the Go engine if its library is missing, saying so), and prints the bracket
L_low <= NLL <= L_up, the test log-likelihood beside a single Gaussian's,
and the files written. make demo installs ONNX Runtime and runs it.

` + indent(string(pipeline.DemoRunFile())),
	setup: func(fs *pflag.FlagSet, out, errw io.Writer) func([]string) error {
		var dir string
		var steps int
		var sets []string
		fs.StringVar(&dir, "out", "", "output `DIR` (default: the file's, out/demo); it must not hold a run already")
		fs.IntVar(&steps, "steps", 0, "training iterations `N` (default: the file's)")
		addSetFlag(fs, &sets)
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			c := cli.NewRunConfig()
			rf, err := pipeline.ParseRunFile("demo.yaml", pipeline.DemoRunFile())
			if err != nil {
				return err
			}
			if err := c.Apply(rf); err != nil {
				return err
			}
			if fs.Changed("out") {
				sets = append([]string{"train.out=" + dir}, sets...)
			}
			if fs.Changed("steps") {
				sets = append([]string{"train.steps=" + strconv.Itoa(steps)}, sets...)
			}
			return runPipeline(c, sets, "demo", out, errw)
		}
	},
}

// addSetFlag defines the --set flag of run and demo.
func addSetFlag(fs *pflag.FlagSet, sets *[]string) {
	fs.StringArrayVar(sets, "set", nil, "`SECTION.OPTION=VALUE` overriding the run file, such as train.steps=100 (repeatable; paths as given)")
}

// runPipeline applies the --set overrides to c and runs it, reporting
// progress on errw and the results on out.
func runPipeline(c *cli.RunConfig, sets []string, name string, out, errw io.Writer) error {
	for _, s := range sets {
		if err := c.SetOption(s); err != nil {
			return usageError{fmt.Errorf("--set %w", err)}
		}
	}
	if err := c.Options.Check(); err != nil {
		return usageError{cli.WithFlags(err, c.FlagSets()...)}
	}
	ctx, stop := cli.Interruptible()
	defer stop()
	res, err := pipeline.Run(ctx, c.Options, runHooks(errw, name, c.FlagSets()...))
	if err != nil {
		return cli.WithFlags(err, c.FlagSets()...)
	}
	for i, n := range res.Notes {
		res.Notes[i] = cli.NoteMessage(n, c.FlagSets()...)
	}
	fmt.Fprintln(errw)
	return res.WriteReport(out)
}

// runHooks reports a run's steps and notices on w, each notice once, with
// the flags of sets in place of the fields it names, and the training's
// progress about every tenth of the iterations.
func runHooks(w io.Writer, name string, sets ...*pflag.FlagSet) pipeline.RunHooks {
	var start time.Time
	var first int
	seen := map[string]bool{}
	return pipeline.RunHooks{
		Stage: func(msg string) { fmt.Fprintf(w, "== %s\n", msg) },
		Notice: func(msg string) {
			if !seen[msg] { // such as the engine fallback, for each step
				seen[msg] = true
				fmt.Fprintf(w, "ebmpipe %s: %s\n", name, cli.NoteMessage(msg, sets...))
			}
		},
		Progress: func(p train.Progress) {
			if start.IsZero() {
				start, first = time.Now(), p.Step
			}
			every := max(1, p.Steps/10)
			if p.Step%every != 0 && p.Step != p.Steps {
				return
			}
			line := fmt.Sprintf("iteration %d/%d", p.Step, p.Steps)
			if m := p.Metrics; m != nil {
				line += fmt.Sprintf("  L_low %.4f  L_up %s", m.Get(metrics.ColLower), upperText(m, "%.4f"))
			}
			if secs := time.Since(start).Seconds(); secs > 0 && p.Step > first {
				rate := float64(p.Step-first) / secs
				line += fmt.Sprintf("  (%.1f it/s, %s left)", rate, (time.Duration(float64(p.Steps-p.Step)/rate) * time.Second).Round(time.Second))
			}
			fmt.Fprintln(w, line)
		},
	}
}

// indent indents text by two spaces, for help.
func indent(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n")
}
