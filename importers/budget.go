package importers

import (
	"errors"
	"fmt"
	"math"
)

// DefaultMaxElements is the default of Options.MaxElements: 2²⁶ elements,
// 512 MB as float64.
const DefaultMaxElements = 1 << 26

// Options tune how New prepares a model.
type Options struct {
	// MaxElements bounds the number of elements of every tensor whose size
	// comes from the model file: a declared input (its fixed dimensions,
	// with symbolic ones counted as 1), each value a node computes, each
	// index map and folded constant, and all the constants folded in one
	// build together. A model exceeding it is refused with an error naming
	// the node or input and the size, before anything that large is
	// allocated.
	MaxElements int
}

// DefaultOptions returns the options New uses.
func DefaultOptions() Options { return Options{MaxElements: DefaultMaxElements} }

// Check reports invalid option values.
func (o Options) Check() error {
	var errs []error
	if o.MaxElements < 1 {
		errs = append(errs, fmt.Errorf("MaxElements is %d; want at least 1", o.MaxElements))
	}
	return errors.Join(errs...)
}

// sizeOf returns the number of elements of a tensor of the given shape,
// saturating at math.MaxInt64 instead of overflowing; a negative dimension
// counts as 0.
func sizeOf[T int | int64](shape []T) int64 {
	n := int64(1)
	for _, d := range shape {
		switch {
		case d <= 0:
			return 0
		case n > math.MaxInt64/int64(d):
			n = math.MaxInt64
		default:
			n *= int64(d)
		}
	}
	return n
}

// A LimitError reports a tensor, or the constants folded in one build,
// over Options.MaxElements.
type LimitError struct {
	What  string  // "output", "padded output", "input \"x\"", ...
	Shape []int64 // nil for the folded constants
	Size  int64   // elements, saturated at math.MaxInt64
	Limit int
}

func (e *LimitError) Error() string {
	if e.Shape == nil {
		return fmt.Sprintf("%s: %d elements (%.3g), over the limit of %d", e.What, e.Size, float64(e.Size), e.Limit)
	}
	return fmt.Sprintf("%s of shape %v has %d elements (%.3g), over the limit of %d", e.What, e.Shape, e.Size, float64(e.Size), e.Limit)
}

// limit checks that a tensor of shape (described by what) fits the budget.
func limit[T int | int64](what string, shape []T, max int) error {
	if n := sizeOf(shape); n > int64(max) {
		s := make([]int64, len(shape))
		for i, d := range shape {
			s[i] = int64(d)
		}
		return &LimitError{What: what, Shape: s, Size: n, Limit: max}
	}
	return nil
}

// CheckSize returns a *LimitError if a tensor of shape (described by what,
// such as `input "x": declared`) has more than max elements.
func CheckSize(what string, shape []int64, max int) error { return limit(what, shape, max) }

// limit checks a tensor the builder is about to make against the budget.
func (b *builder) limit(what string, shape []int) error { return limit(what, shape, b.maxElems) }

// limit64 is limit for int64 dimensions read from the file.
func (b *builder) limit64(what string, shape []int64) error { return limit(what, shape, b.maxElems) }

// checkOutputs checks the values a node made: each against the budget
// (nodes are allocated only when the graph runs), and the constants
// against the budget of all constants folded in one build.
func (b *builder) checkOutputs(out []value) error {
	for _, v := range out {
		switch {
		case v.c != nil:
			b.folded += int64(v.c.len())
			if b.folded > int64(b.maxElems) {
				return &LimitError{What: "the constants folded so far", Size: b.folded, Limit: b.maxElems}
			}
		case v.n != nil:
			if err := b.limit("output", v.shape()); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkPortSize checks a declared input against the budget, counting
// symbolic dimensions as 1.
func checkPortSize(p Port, max int) error {
	shape := make([]int64, len(p.Dims))
	for k, d := range p.Dims {
		shape[k] = max64(d.Value, 1)
	}
	return limit(fmt.Sprintf("input %q: declared", p.Name), shape, max)
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// addSat returns a + b, saturated at the bounds of int64.
func addSat(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

// mulSat returns a·b for non-negative a and b, saturated at math.MaxInt64.
func mulSat(a, b int64) int64 {
	if a > 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}
