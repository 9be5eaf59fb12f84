package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/pipeline"
)

// A runSection defines a section of a run file.
type runSection struct {
	name  string // the section, named after the command whose flags it holds
	field string // the field of pipeline.RunOptions it sets
	// addFlags defines the command's flags on fs, bound to o's fields.
	addFlags func(o *pipeline.RunOptions, fs *pflag.FlagSet)
	// byRun are the flags the run sets itself, and why.
	byRun map[string]string
	// paths are the flags whose values are paths, taken relative to the
	// run file's directory.
	paths []string
}

var runSections = []runSection{
	{
		name:     pipeline.SectionRun,
		field:    "Run",
		addFlags: func(o *pipeline.RunOptions, fs *pflag.FlagSet) { HeldOutFlags(fs, &o.Run) },
		paths:    []string{"test"},
	},
	{
		name:     pipeline.SectionTrain,
		field:    "Train",
		addFlags: func(o *pipeline.RunOptions, fs *pflag.FlagSet) { TrainFlags(fs, &o.Train) },
		paths:    []string{"data", "energy", "generator", "encoder", "out"},
	},
	{
		name:     pipeline.SectionLogZ,
		field:    "LogZ",
		addFlags: func(o *pipeline.RunOptions, fs *pflag.FlagSet) { LogZFileFlags(fs, &o.LogZ) },
		byRun: map[string]string{
			"model":     "the run estimates log Z of the energy it trains",
			"data":      "the run takes the training data",
			"data-rows": "the run takes the training data",
			"generator": "the run sets the box from the training data",
			"output":    "the run writes log Z into the energy it trains",
		},
		paths: []string{"ort-lib"},
	},
	{
		name:     pipeline.SectionBounds,
		field:    "Bounds",
		addFlags: func(o *pipeline.RunOptions, fs *pflag.FlagSet) { BoundsFlags(fs, &o.Bounds) },
		byRun: map[string]string{
			"energy":    "the run evaluates the models it trains",
			"generator": "the run evaluates the models it trains",
			"encoder":   "the run exports no encoder",
			"data":      "the run takes the held-out rows (run: test, test-rows, test-fraction)",
			"data-rows": "the run takes the held-out rows (run: test, test-rows, test-fraction)",
			"json":      "the run prints its own report",
		},
	},
	{
		name:     pipeline.SectionScore,
		field:    "Score",
		addFlags: func(o *pipeline.RunOptions, fs *pflag.FlagSet) { ScoreFlags(fs, &o.Score) },
		byRun:    map[string]string{"model": "the run scores with the energy it trains"},
		paths:    []string{"input", "output", "ort-lib"},
	},
}

func findSection(name string) (runSection, bool) {
	for _, s := range runSections {
		if s.name == name {
			return s, true
		}
	}
	return runSection{}, false
}

// Sections returns the names of a run file's sections, each that of the
// command whose flags it holds.
func Sections() []string {
	names := make([]string, len(runSections))
	for i, s := range runSections {
		names[i] = s.name
	}
	return names
}

// sectionNames lists the sections for messages: "run, train, ... or score".
func sectionNames() string {
	names := Sections()
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// A RunConfig holds pipeline.RunOptions and, for each section, the flag
// set that sets them: the flags of the command the section is named
// after, defined by the same function, with the same defaults. A run
// file's options and command-line overrides go through FlagSet.Set, so
// that they are parsed and checked exactly as the commands' flags.
type RunConfig struct {
	Options pipeline.RunOptions
	sets    map[string]*pflag.FlagSet
}

// NewRunConfig returns a RunConfig holding the flag defaults of every
// command.
func NewRunConfig() *RunConfig {
	c := &RunConfig{Options: pipeline.DefaultRunOptions(), sets: map[string]*pflag.FlagSet{}}
	for _, s := range runSections {
		fs := pflag.NewFlagSet("ebmpipe "+s.name, pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.SortFlags = false
		s.addFlags(&c.Options, fs)
		// The fields are those of the section's struct in RunOptions.
		fs.VisitAll(func(fl *pflag.Flag) {
			if a := fl.Annotations[fieldKey]; len(a) > 0 {
				fs.SetAnnotation(fl.Name, fieldKey, []string{s.field + "." + a[0]})
			}
		})
		c.sets[s.name] = fs
	}
	return c
}

// FlagSet returns the flag set of a section, or nil if there is no such
// section. The flags of section "run" are those of ebmpipe run: a command
// can add them to its own flag set, so that they are set from its
// command line.
func (c *RunConfig) FlagSet(section string) *pflag.FlagSet { return c.sets[section] }

// FlagSets returns the flag sets of the sections, in the order of a run,
// for Message.
func (c *RunConfig) FlagSets() []*pflag.FlagSet {
	sets := make([]*pflag.FlagSet, len(runSections))
	for i, s := range runSections {
		sets[i] = c.sets[s.name]
	}
	return sets
}

// Apply sets the options of the run file f. Relative paths are taken from
// f.Dir. Options already set (such as flags of section "run" given on the
// command line) are kept. Errors are *pipeline.RunFileError naming the
// line.
func (c *RunConfig) Apply(f *pipeline.RunFile) error {
	errorf := func(line int, format string, args ...any) error {
		return &pipeline.RunFileError{File: f.Name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	for _, sec := range f.Sections {
		s, ok := findSection(sec.Name)
		if !ok {
			return errorf(sec.Line, "unknown section %q (want %s)", sec.Name, sectionNames())
		}
		for _, opt := range sec.Options {
			if fl := c.sets[s.name].Lookup(opt.Key); fl != nil && fl.Changed {
				continue
			}
			v := opt.Value
			if slices.Contains(s.paths, opt.Key) {
				v = resolvePath(f.Dir, v)
			}
			if err := c.set(s, opt.Key, v); err != nil {
				return errorf(opt.Line, "%v", err)
			}
		}
	}
	return nil
}

// resolvePath takes a relative path value from dir. toy:, mlp: and flow:
// specs are not paths.
func resolvePath(dir, v string) string {
	if dir == "" || v == "" || filepath.IsAbs(v) || strings.HasPrefix(v, "toy:") || strings.HasPrefix(v, "mlp:") || strings.HasPrefix(v, "flow:") {
		return v
	}
	return filepath.Join(dir, v)
}

// Set sets option key of a section to value, as its flag would. Paths
// are taken as they are.
func (c *RunConfig) Set(section, key, value string) error {
	s, ok := findSection(section)
	if !ok {
		return fmt.Errorf("unknown section %q (want %s)", section, sectionNames())
	}
	return c.set(s, key, value)
}

// SetOption sets an option given as SECTION.KEY=VALUE, such as
// "train.steps=100" (the --set flag of ebmpipe run).
func (c *RunConfig) SetOption(spec string) error {
	name, value, ok := strings.Cut(spec, "=")
	section, key, dot := strings.Cut(name, ".")
	if !ok || !dot || section == "" || key == "" {
		return fmt.Errorf("%q: want SECTION.OPTION=VALUE, such as train.steps=100", spec)
	}
	return c.Set(section, key, value)
}

func (c *RunConfig) set(s runSection, key, value string) error {
	fs := c.sets[s.name]
	if fs.Lookup(key) == nil {
		return fmt.Errorf("unknown option %q for %s (see ebmpipe %s --help)", key, s.name, s.name)
	}
	if why, ok := s.byRun[key]; ok {
		return fmt.Errorf("%s: %q is set by the run: %s", s.name, key, why)
	}
	if err := fs.Set(key, value); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	if err := checkLimit(fs.Lookup(key)); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}
