package cli

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/pflag"
)

// limits bound the numeric flags whose values size memory up front (rows
// and samples held at once, engines started, grid points): above them a
// command would exhaust memory before doing anything, so CheckLimits
// refuses them first. Each applies to every command's flag of that name,
// and the flag's help states it.
var limits = map[string]int64{
	"batch-size":      1 << 16, // rows per model run or training batch
	"workers":         1 << 10, // engines, each with its own buffers
	"data-rows":       1 << 26, // rows read or drawn into memory
	"test-rows":       1 << 26,
	"samples":         1 << 24, // samples drawn and held
	"bracket-samples": 1 << 24,
	"n":               1 << 40, // samples written, streamed in batches
}

// limitKey marks a flag whose help states its limit.
const limitKey = "ebmpipe-limit"

// addLimits appends to the help of each limited flag of fs its limit.
func addLimits(fs *pflag.FlagSet) {
	fs.VisitAll(func(fl *pflag.Flag) {
		max, ok := limits[fl.Name]
		if _, done := fl.Annotations[limitKey]; !ok || done {
			return
		}
		fl.Usage += fmt.Sprintf(" (at most %d)", max)
		fs.SetAnnotation(fl.Name, limitKey, []string{strconv.FormatInt(max, 10)})
	})
}

// CheckLimits returns an error naming every flag set on fs whose value
// is above its limit (see the flags' help), or nil.
func CheckLimits(fs *pflag.FlagSet) error {
	var errs []error
	fs.Visit(func(fl *pflag.Flag) {
		if err := checkLimit(fl); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// checkLimit returns an error if fl is above its limit.
func checkLimit(fl *pflag.Flag) error {
	max, ok := limits[fl.Name]
	if !ok {
		return nil
	}
	v, err := strconv.ParseInt(fl.Value.String(), 10, 64)
	if err != nil || v <= max {
		return nil // not a number: the flag's own parsing said so
	}
	name := "--" + fl.Name
	if len(fl.Name) == 1 {
		name = "-" + fl.Name
	}
	return fmt.Errorf("%s %s: at most %d", name, fl.Value.String(), max)
}
