package main

import (
	"io"
	"slices"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/internal/cli"
)

// notRunKeys are the flags of a command that are no keys of its run-file
// section, and why. --help is not among a command's flags: pflag answers
// it while parsing.
var notRunKeys = map[string]map[string]string{
	"run": {"set": "overrides the run file's options; it is no option of it"},
	"score": {
		"runner":        "a run scores its file with the streaming scorer, not on Beam",
		"endpoint":      "Beam only",
		"project":       "Beam (Dataflow) only",
		"region":        "Beam (Dataflow) only",
		"temp-location": "Beam (Dataflow) only",
	},
}

// TestRunFileKeysAreFlags checks that the keys of each run-file section
// are exactly the flag names of the command it is named after: every flag
// is a key and every key a flag, but for notRunKeys and the hidden flags
// that pass Beam's own options through.
func TestRunFileKeysAreFlags(t *testing.T) {
	c := cli.NewRunConfig()
	for _, section := range cli.Sections() {
		t.Run(section, func(t *testing.T) {
			i := slices.IndexFunc(commands, func(c command) bool { return c.name == section })
			if i < 0 {
				t.Fatalf("no command %s", section)
			}
			fs := pflag.NewFlagSet(section, pflag.ContinueOnError)
			commands[i].setup(fs, io.Discard, io.Discard)
			var flags, keys []string
			fs.VisitAll(func(f *pflag.Flag) {
				// Hidden flags are Beam's own options, passed through.
				if _, ok := notRunKeys[section][f.Name]; !ok && !f.Hidden {
					flags = append(flags, f.Name)
				}
			})
			c.FlagSet(section).VisitAll(func(f *pflag.Flag) { keys = append(keys, f.Name) })
			slices.Sort(flags)
			slices.Sort(keys)
			if len(flags) == 0 || !slices.Equal(flags, keys) {
				t.Errorf("flags of ebmpipe %s %q, keys of section %s %q", section, flags, section, keys)
			}
			for name := range notRunKeys[section] {
				if fs.Lookup(name) == nil {
					t.Errorf("exception --%s is no flag of ebmpipe %s", name, section)
				}
			}
		})
	}
}
