package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/internal/cli"
	"github.com/ebmpipe/ebmpipe/internal/ortlib"
)

var versionCommand = command{
	name: "version",
	summary: `Print the versions of ebmpipe and of the ONNX Runtime library it loads.

The first line is the module version of the binary (from its build
information: a tag, a pseudo-version of the commit, or (devel)), with the Go
version; the second the version that the ONNX Runtime library found as for
--engine ort reports, or why it cannot be loaded. ebmpipe --version prints
the same.`,
	setup: func(fs *pflag.FlagSet, out, _ io.Writer) func([]string) error {
		var lib string
		cli.VersionFlags(fs, &lib)
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			printVersion(out, lib)
			return nil
		}
	},
}

// printVersion writes the module version of the binary and the version of
// the ONNX Runtime library lib (see ortlib.ResolveLib) to w.
func printVersion(w io.Writer, lib string) {
	version := "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && (version == "" || version == "(devel)") {
				version = "(devel) " + s.Value
			}
		}
	}
	fmt.Fprintf(w, "ebmpipe %s (%s)\n", version, runtime.Version())
	if v, err := ortlib.RuntimeVersion(lib); err == nil {
		fmt.Fprintf(w, "ONNX Runtime %s (built against %s)\n", v, ortlib.Version)
	} else {
		fmt.Fprintf(w, "ONNX Runtime: not loaded: %s\n", ortlib.OneLine(err))
	}
}
