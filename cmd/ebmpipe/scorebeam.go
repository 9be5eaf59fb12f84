package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/internal/cli"
	"github.com/ebmpipe/ebmpipe/pipeline/beamscore"
	scoring "github.com/ebmpipe/ebmpipe/pipeline/score"
)

// beamFlags are the flags of `ebmpipe score` that run it on Apache Beam.
type beamFlags struct {
	runner, endpoint, project, region, tempLocation string
}

// beamOptions maps the flags that set Beam pipeline options to the names
// of those options in the Go SDK's flag set.
var beamOptions = map[string]string{
	"endpoint":      "endpoint",
	"project":       "project",
	"region":        "region",
	"temp-location": "temp_location",
}

// addFlags defines the Beam flags on fs, and every pipeline option of
// Beam's Go SDK (its flags in the standard flag package) as a hidden flag,
// so that they reach Beam as they are.
func (b *beamFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&b.runner, "runner", "", "run as an Apache Beam pipeline on `RUNNER`: prism (in this process), universal (a job server at --endpoint) or dataflow; default: the streaming scorer")
	fs.StringVar(&b.endpoint, "endpoint", "", "with --runner universal: the job server's `HOST:PORT`")
	fs.StringVar(&b.project, "project", "", "with --runner dataflow: the Google Cloud `PROJECT`")
	fs.StringVar(&b.region, "region", "", "with --runner dataflow: the Google Cloud `REGION`")
	fs.StringVar(&b.tempLocation, "temp-location", "", "with --runner dataflow: a gs:// `PATH` for temporary files")
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if fs.Lookup(f.Name) == nil {
			fs.AddGoFlag(f)
			fs.MarkHidden(f.Name)
		}
	})
}

// beamOnly returns the first flag set on fs that only a Beam run takes,
// or "".
func (b *beamFlags) beamOnly(fs *pflag.FlagSet) string {
	name := ""
	fs.Visit(func(f *pflag.Flag) {
		if name != "" {
			return
		}
		if _, ok := beamOptions[f.Name]; ok || f.Hidden {
			name = f.Name
		}
	})
	return name
}

// scoreBeam runs `ebmpipe score --runner`.
func scoreBeam(fs *pflag.FlagSet, args []string, so scoring.Options, b beamFlags, errw io.Writer) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if b.runner == "" {
		return usageError{fmt.Errorf("--%s is a Beam pipeline option: give --runner", b.beamOnly(fs))}
	}
	for _, name := range []string{"workers", "raw"} {
		if f := fs.Lookup(name); f != nil && f.Changed {
			return usageError{fmt.Errorf("--%s applies to the streaming scorer, not to --runner %s", name, b.runner)}
		}
	}
	o := beamscore.DefaultOptions()
	o.Runner, o.Model, o.Output = b.runner, so.Model, so.Output
	o.Engine, o.BatchSize, o.Device = so.Engine, so.BatchSize, so.Device
	o.SkipBadRows, o.ORTLib = so.SkipBadRows, so.ORTLib
	if so.Input != "" {
		o.Inputs = strings.Split(so.Input, ",")
	}
	if err := o.Check(); err != nil {
		return usageError{err}
	}
	values := map[string]string{"endpoint": b.endpoint, "project": b.project, "region": b.region, "temp-location": b.tempLocation}
	for name, opt := range beamOptions {
		if v := values[name]; v != "" {
			if err := beamscore.SetBeamOption(opt, v); err != nil {
				return usageError{fmt.Errorf("--%s %s: %w", name, v, err)}
			}
		}
	}
	if b.runner == beamscore.RunnerUniversal && b.endpoint == "" {
		return usageError{errors.New("--runner universal needs --endpoint HOST:PORT of a job server")}
	}
	o.Notice = cli.Notice(errw, "score", fs)
	ctx, stop := cli.Interruptible()
	defer stop()
	st, err := beamscore.Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(errw, "scored %d rows of %d files into %d shards %s-*-of-%05d.csv (beam %s runner, %s engine)",
		st.Rows, len(st.Inputs), len(st.Shards), o.Output, len(st.Shards), o.Runner, st.Engine)
	if o.SkipBadRows {
		fmt.Fprintf(errw, "; %d bad rows", st.Rejected)
		if st.Rejects != "" {
			fmt.Fprintf(errw, " in %s", st.Rejects)
		}
	}
	fmt.Fprintln(errw)
	return nil
}
