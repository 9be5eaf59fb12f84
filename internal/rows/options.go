package rows

import (
	"errors"
	"slices"

	"github.com/ebmpipe/ebmpipe/internal/fielderr"
)

// DefaultReadOptions returns the defaults: fail on the first bad row,
// decode in Read, any row width, the format from the file extension.
func DefaultReadOptions() ReadOptions { return ReadOptions{} }

// Check reports every invalid option, joined.
func (o ReadOptions) Check() error {
	var errs []error
	if o.Workers < 0 {
		errs = append(errs, fielderr.Errorf("{Workers} %d: must be at least 0", o.Workers))
	}
	if o.Width < 0 {
		errs = append(errs, fielderr.Errorf("{Width} %d: must be at least 0", o.Width))
	}
	if o.Format != "" && !slices.Contains(Formats, o.Format) {
		errs = append(errs, fielderr.Errorf("{Format} %q: want csv, jsonl or npy", o.Format))
	}
	return errors.Join(errs...)
}
