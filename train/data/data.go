package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/ebmpipe/ebmpipe/internal/rows"
)

// A Dataset holds rows of features in memory, row after row.
type Dataset struct {
	Rows     int       // number of rows
	Width    int       // values in a row, the product of RowShape
	RowShape []int     // shape of one row, such as [2] or [3, 32, 32]
	Data     []float64 // Rows×Width values, row-major
	Columns  []string  // column names from the file, or nil

	// Shift and Scale are the per-feature standardisation applied to Data
	// by Standardize: a stored value is (x − Shift[j]) / Scale[j] for a
	// value x of feature j as read. They are nil if Data is as read, and
	// are kept so that an exported model can undo or apply the same
	// transformation.
	Shift, Scale []float64

	// Source tells where the rows came from: "toy:NAME" or a file path.
	Source string

	// Notes are remarks about the data made while loading or transforming
	// it, for the user to see, such as a constant feature.
	Notes []string
}

// LoadData loads a data set. spec is "toy:NAME", for n points of the toy data
// set NAME drawn with seed (see Toy), or the path of a row file (.csv, .jsonl
// or .npy, read with rows.OpenReader; see package rows for the
// formats). A file is read whole if n ≤ 0, and only its first n rows if
// n > 0; seed is not used for files.
func LoadData(spec string, n int, seed uint64) (*Dataset, error) {
	return LoadDataContext(context.Background(), spec, n, seed)
}

// LoadDataContext is LoadData that stops reading a file, with ctx's error,
// when ctx is cancelled.
func LoadDataContext(ctx context.Context, spec string, n int, seed uint64) (*Dataset, error) {
	if name, ok := strings.CutPrefix(spec, "toy:"); ok {
		data, err := Toy(name, n, seed)
		if err != nil {
			return nil, err
		}
		return &Dataset{Rows: n, Width: 2, RowShape: []int{2}, Data: data, Source: spec}, nil
	}
	return readData(ctx, spec, n)
}

// readData reads the first n rows of the row file at path, or all of them if
// n ≤ 0.
func readData(ctx context.Context, path string, n int) (d *Dataset, err error) {
	var notes []string
	r, err := rows.OpenReader(path, rows.ReadOptions{Notice: func(msg string) { notes = append(notes, msg) }})
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := r.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("reading %s: %w", path, cerr)
		}
	}()
	w := r.Width()
	if w < 1 {
		return nil, fmt.Errorf("reading %s: rows of %d values, need at least 1", path, w)
	}
	var data []float64
	if rows := r.Rows(); rows >= 0 {
		if n > 0 {
			rows = min(rows, n)
		}
		data = make([]float64, 0, rows*w)
	}
	chunk := make([]float64, w*max(1, 65536/w))
	for n <= 0 || len(data) < n*w {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		buf := chunk
		if n > 0 {
			buf = buf[:min(len(buf), n*w-len(data))]
		}
		k, err := r.Read(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err // table's errors name the file and line
		}
		if err := checkFloat32(path, buf[:k*w], len(data)/w, w); err != nil {
			return nil, err
		}
		data = append(data, buf[:k*w]...)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("reading %s: no rows", path)
	}
	return &Dataset{
		Rows:     len(data) / w,
		Width:    w,
		RowShape: r.RowShape(),
		Data:     data,
		Columns:  r.Columns(),
		Source:   path,
		Notes:    notes,
	}, nil
}

// checkFloat32 returns an error naming the file, row and column of the
// first of values, rows of width w from row first on (counted from 1 in
// the message), that overflows float32: the exported models take float32
// inputs, so such data would fail only at export, after the run.
func checkFloat32(path string, values []float64, first, w int) error {
	for i, v := range values {
		if math.Abs(v) > math.MaxFloat32 {
			return fmt.Errorf("%s: data row %d, column %d: %g overflows float32 (largest %.8g), the element type of the exported models",
				path, first+i/w+1, i%w+1, v, math.MaxFloat32)
		}
	}
	return nil
}

// ConstantTolerance is the spread under which a feature is constant: a
// feature whose standard deviation is at most ConstantTolerance times its
// largest magnitude does not vary at the float32 precision of the
// exported models (it is float32's machine epsilon, 2⁻²³). Standardize
// applies this one tolerance.
const ConstantTolerance = 0x1p-23

// Standardize makes each feature of d have mean 0 and standard deviation 1
// over the rows, storing the mean in Shift and the standard deviation (with
// divisor Rows, as numpy's std) in Scale. A constant feature (see
// ConstantTolerance) is only shifted: its Scale is 1, and a note in Notes
// says so. If every feature is constant, every row is the same point and
// there is no density to learn: Standardize then returns an error naming
// the features and leaves d as it was. Standardize does nothing if d is
// already standardised (Shift is not nil) or has no rows.
func (d *Dataset) Standardize() error {
	if d.Shift != nil || d.Rows == 0 {
		return nil
	}
	shift, scale := d.Moments()
	var constant, notes []string
	for j := range scale {
		if scale[j] <= ConstantTolerance*d.maxAbs(j) {
			scale[j] = 1
			constant = append(constant, fmt.Sprintf("%s = %g", d.featureName(j), d.Data[j]))
			notes = append(notes, fmt.Sprintf("%s: feature %s is constant (%g); it is shifted to 0 but not scaled",
				d.Source, d.featureName(j), d.Data[j]))
		}
	}
	if len(constant) == d.Width {
		what := "feature " + constant[0] + " is"
		if d.Width > 1 {
			what = "features " + strings.Join(constant, ", ") + " are"
		}
		return fmt.Errorf("%s: %s constant over the %d rows (to float32 precision): every row is the same point, and there is no density to learn",
			d.Source, what, d.Rows)
	}
	d.Notes = append(d.Notes, notes...)
	for i := range d.Rows {
		row := d.Data[i*d.Width : (i+1)*d.Width]
		for j := range row {
			row[j] = (row[j] - shift[j]) / scale[j]
		}
	}
	d.Shift, d.Scale = shift, scale
	return nil
}

// Moments returns the mean and the standard deviation (over the rows, not
// the rows − 1) of each feature of d; zeros if d has no rows.
func (d *Dataset) Moments() (mean, std []float64) {
	mean, std = make([]float64, d.Width), make([]float64, d.Width)
	if d.Rows == 0 {
		return mean, std
	}
	for i := range d.Rows {
		for j, x := range d.Data[i*d.Width : (i+1)*d.Width] {
			mean[j] += x
		}
	}
	for j := range mean {
		mean[j] /= float64(d.Rows)
	}
	for i := range d.Rows {
		for j, x := range d.Data[i*d.Width : (i+1)*d.Width] {
			std[j] += (x - mean[j]) * (x - mean[j])
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(d.Rows))
	}
	return mean, std
}

// maxAbs returns the largest magnitude of feature j over d's rows.
func (d *Dataset) maxAbs(j int) float64 {
	m := 0.0
	for i := range d.Rows {
		m = max(m, math.Abs(d.Data[i*d.Width+j]))
	}
	return m
}

// featureName names feature j for messages: its column name if known, else
// its 0-based index.
func (d *Dataset) featureName(j int) string {
	if j < len(d.Columns) {
		return fmt.Sprintf("%d (%q)", j, d.Columns[j])
	}
	return fmt.Sprint(j)
}

// Split divides d's rows at random into a training and a test set, the test
// set taking round(testFrac·Rows) of them (testFrac is clamped to [0, 1]).
// Both keep the rows in d's order, and copy d's standardisation, so that a
// test set is transformed like its training set. The split depends only on
// Rows, testFrac and seed.
func (d *Dataset) Split(testFrac float64, seed uint64) (train, test *Dataset) {
	if !(testFrac > 0) { // also NaN
		testFrac = 0
	}
	k := min(d.Rows, int(math.Round(min(testFrac, 1)*float64(d.Rows))))
	perm := NewRNG(seed, "split").Perm(d.Rows)
	inTest := make([]bool, d.Rows)
	for _, i := range perm[:k] {
		inTest[i] = true
	}
	train, test = d.subset(d.Rows-k), d.subset(k)
	for i := range d.Rows {
		part := train
		if inTest[i] {
			part = test
		}
		part.Data = append(part.Data, d.Data[i*d.Width:(i+1)*d.Width]...)
	}
	return train, test
}

// subset returns an empty data set of rows rows shaped like d.
func (d *Dataset) subset(rows int) *Dataset {
	return &Dataset{
		Rows:     rows,
		Width:    d.Width,
		RowShape: slices.Clone(d.RowShape),
		Data:     make([]float64, 0, rows*d.Width),
		Columns:  slices.Clone(d.Columns),
		Shift:    slices.Clone(d.Shift),
		Scale:    slices.Clone(d.Scale),
		Source:   d.Source,
		Notes:    slices.Clone(d.Notes),
	}
}

// Raw returns d's rows with any standardisation undone: the rows as
// read, as the exported models take them.
func (d *Dataset) Raw() []float64 {
	if d.Shift == nil {
		return d.Data
	}
	x := make([]float64, len(d.Data))
	for i, v := range d.Data {
		j := i % d.Width
		x[i] = v*d.Scale[j] + d.Shift[j]
	}
	return x
}
