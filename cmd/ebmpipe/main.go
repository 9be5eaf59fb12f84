package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/internal/cli"
	"github.com/ebmpipe/ebmpipe/pipeline/beamscore"
)

// A command is one ebmpipe verb.
type command struct {
	name    string
	args    string // synopsis after the flags, e.g. "MODEL.onnx"
	summary string
	// setup defines the command's flags on fs and returns the function
	// that runs it on the remaining arguments, writing to out and errw.
	setup func(fs *pflag.FlagSet, out, errw io.Writer) func(args []string) error
}

var commands = []command{
	inspectCommand,
	scoreCommand,
	trainCommand,
	boundsCommand,
	logzCommand,
	plotCommand,
	sampleCommand,
	runCommand,
	demoCommand,
	versionCommand,
}

// usageError marks errors in how the command was called (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	// First: a Beam runner re-enters the binary as a worker, which Init
	// runs without returning.
	beamscore.Init(os.Args[1:])
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit status: 0 on
// success, 1 when the command failed, 2 when it was called wrongly.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 2
	}
	if isHelp(args[0]) {
		// help COMMAND shows the command's help; help alone, or help of
		// help (help help, help -h), the usage.
		if len(args) > 1 && !isHelp(args[1]) {
			return run([]string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return 0
	}
	if args[0] == "--version" {
		return run(append([]string{"version"}, args[1:]...), stdout, stderr)
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		fs := pflag.NewFlagSet("ebmpipe "+c.name, pflag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.SortFlags = false
		do := c.setup(fs, stdout, stderr)
		fs.Usage = func() {
			fmt.Fprintf(stdout, "Usage: ebmpipe %s [flags] %s\n\n%s\n\nFlags:\n%s", c.name, c.args, c.summary, fs.FlagUsages())
		}
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, pflag.ErrHelp) {
				return 0
			}
			fmt.Fprintf(stderr, "ebmpipe %s: %v (see ebmpipe %s --help)\n", c.name, err, c.name)
			return 2
		}
		if err := cli.CheckLimits(fs); err != nil {
			fmt.Fprintf(stderr, "ebmpipe %s: %s (see ebmpipe %s --help)\n", c.name, strings.ReplaceAll(err.Error(), "\n", "; "), c.name)
			return 2
		}
		if err := do(fs.Args()); err != nil {
			// One line, even for errors joined with errors.Join.
			fmt.Fprintf(stderr, "ebmpipe %s: %s\n", c.name, strings.ReplaceAll(cli.Message(err, fs), "\n", "; "))
			var ue usageError
			if errors.As(err, &ue) {
				return 2
			}
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "ebmpipe: unknown command %q (see ebmpipe help)\n", args[0])
	return 2
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help"
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "ebmpipe trains energy-based models with bidirectional bounds and moves them in and out of ONNX.")
	fmt.Fprintln(w, "\nUsage: ebmpipe COMMAND [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, strings.SplitN(c.summary, "\n", 2)[0])
	}
	fmt.Fprintln(w, "\nRun 'ebmpipe COMMAND --help' for a command's flags.")
}

// noArgs rejects positional arguments.
func noArgs(args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", args[0])}
	}
	return nil
}

// checkCall rejects positional arguments and checks a command's options;
// both are usage errors.
func checkCall(args []string, o interface{ Check() error }) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if err := o.Check(); err != nil {
		return usageError{err}
	}
	return nil
}
