// Package cli is the command line's flag layer over the libraries' options.
//
// It defines the flags of every ebmpipe command on the libraries' plain
// option structs (TrainFlags, ScoreFlags, ...), maps run-file sections
// onto those flag sets (RunConfig), writes the libraries' errors with
// flag names in place of field names (Message), and draws progress bars.
// The libraries know nothing of flags.
package cli
