package rows

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/ebmpipe/ebmpipe/internal/atomicfile"
)

// A Writer writes rows of float64 values to a CSV, JSONL or NPY file.
//
// Rows go to a temporary file in the target's directory, which Commit
// moves into place; the target path is not touched before. Use it as
//
//	w, err := rows.CreateWriter(path, columns)
//	if err != nil {
//		return err
//	}
//	defer w.Abort() // no-op after Commit
//	... w.Write(rows) ...
//	return w.Commit()
//
// The formats are written as follows:
//
//   - CSV: a header line of the column names, if named, then one line of
//     comma-separated values per row.
//   - JSONL: one line per row: an object such as {"energy": -1.2, "x": 0.3}
//     with the column names as keys in order, or a plain array such as
//     [-1.2, 0.3] if unnamed. JSON numbers have no NaN or ±Inf; they are
//     written as the strings "NaN", "Infinity" and "-Infinity".
//   - CSV writes NaN, +Inf and -Inf. Readers take both back with
//     ReadOptions.NonFinite.
//   - NPY: a little-endian float64 array of shape (N, k), or (N,) when
//     k == 1. Column names are not kept.
//
// Values are formatted as the shortest decimal that reads back as the same
// float64.
type Writer struct {
	path    string
	format  format
	width   int
	tmp     *atomicfile.File
	bw      *bufio.Writer
	keys    [][]byte // JSONL: the `"name": ` prefix of each value, nil if unnamed
	buf     []byte
	rows    int
	err     error // sticky write error
	done    bool  // committed or aborted
	success bool  // committed
}

// CreateWriter creates a Writer of rows of len(columns) values, named by
// columns, to the file at path, whose format is chosen by its extension
// (.csv, .jsonl or .npy, in any case). Column names must be distinct; in a
// CSV file, they must not all read as numbers, or a reader would take the
// header for a row.
func CreateWriter(path string, columns []string) (*Writer, error) {
	if len(columns) == 0 {
		return nil, fmt.Errorf("%s: no columns (use CreateUnnamedWriter for rows without names)", path)
	}
	return create(path, columns, len(columns))
}

// CreateUnnamedWriter creates a Writer of rows of width values that have no
// names: a CSV file without a header line, a JSONL file of arrays, or an
// NPY file.
func CreateUnnamedWriter(path string, width int) (*Writer, error) {
	if width < 1 {
		return nil, fmt.Errorf("%s: row width %d, want at least 1", path, width)
	}
	return create(path, nil, width)
}

func create(path string, columns []string, width int) (*Writer, error) {
	return CreateWriterFormat(path, "", columns, width)
}

// CreateWriterFormat creates a Writer as CreateWriter does (or as
// CreateUnnamedWriter with columns nil), of the format name (one of
// Formats) if path is Stdio or has no extension. Path Stdio writes to
// standard output, as the rows come: Abort cannot take them back, and NPY,
// whose header holds the row count, cannot go there.
func CreateWriterFormat(path, name string, columns []string, width int) (*Writer, error) {
	ft, err := formatFor(path, name)
	if err != nil {
		return nil, err
	}
	if path == Stdio && ft == formatNPY {
		return nil, fmt.Errorf("%s: NPY cannot be written to standard output (its header holds the row count); use csv or jsonl", path)
	}
	return createFormat(path, ft, columns, width)
}

// CreateTextWriter creates a Writer of plain text lines, written with
// WriteLine, such as a file of rejected rows. Like every Writer, it writes
// to a temporary file that Commit moves into place.
func CreateTextWriter(path string) (*Writer, error) {
	return createFormat(path, formatText, nil, 1)
}

// WriteLine writes line and a newline to a Writer made by CreateTextWriter.
func (w *Writer) WriteLine(line string) error {
	if w.err != nil {
		return w.err
	}
	if _, err := w.bw.WriteString(line + "\n"); err != nil {
		w.err = fmt.Errorf("%s: %w", w.path, err)
	}
	return w.err
}

func createFormat(path string, ft format, columns []string, width int) (*Writer, error) {
	if err := checkColumns(ft, columns); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	w := &Writer{path: path, format: ft, width: width}
	if path == Stdio {
		w.bw = bufio.NewWriterSize(os.Stdout, 64<<10)
	} else {
		tmp, err := atomicfile.Create(path)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot create: %w", path, err)
		}
		w.tmp, w.bw = tmp, bufio.NewWriterSize(tmp, 64<<10)
	}
	switch ft {
	case formatCSV:
		if columns != nil {
			cw := csv.NewWriter(w.bw)
			cw.Write(columns)
			cw.Flush()
			w.err = cw.Error()
		}
	case formatJSONL:
		for _, c := range columns {
			key, _ := json.Marshal(c) // a string always marshals
			w.keys = append(w.keys, append(key, ": "...))
		}
	case formatNPY:
		// The row count is not known yet; Commit writes the real header
		// over this one, of the same size.
		var hdr []byte
		hdr, w.err = npyHeader(0, width)
		if w.err == nil {
			_, w.err = w.bw.Write(hdr)
		}
	}
	if w.err != nil {
		w.Abort()
		return nil, fmt.Errorf("%s: %w", path, w.err)
	}
	return w, nil
}

// checkColumns checks column names for a file of format ft.
func checkColumns(ft format, columns []string) error {
	seen := map[string]bool{}
	for _, c := range columns {
		if seen[c] {
			return fmt.Errorf("duplicate column name %q", c)
		}
		seen[c] = true
	}
	if ft != formatCSV || columns == nil {
		return nil
	}
	numeric := true
	for _, c := range columns {
		if strings.ContainsAny(c, "\r\n") {
			return fmt.Errorf("column name %q holds a line break", c)
		}
		if c != "" && !isNumber([]byte(c)) {
			numeric = false
		}
	}
	if numeric {
		return fmt.Errorf("column names %q all read as numbers: the header would be read as a row", columns)
	}
	return nil
}

// Write writes rows, whose length must be a multiple of the row width,
// one row after another.
func (w *Writer) Write(rows []float64) error {
	return writeRows(w, rows)
}

// Write32 is Write for float32 values: each is written as the float64 it
// equals, in the same bytes as Write(float64 values) writes.
func (w *Writer) Write32(rows []float32) error {
	return writeRows(w, rows)
}

// writeRows is Write and Write32.
func writeRows[T float32 | float64](w *Writer, rows []T) error {
	if w.done {
		return fmt.Errorf("%s: Write after Commit or Abort", w.path)
	}
	if w.err != nil {
		return w.err
	}
	if len(rows)%w.width != 0 {
		return fmt.Errorf("%s: Write of %d values, not a multiple of the row width %d", w.path, len(rows), w.width)
	}
	// Format rows into w.buf and hand bw up to 64 KiB at a time: a call
	// per row cost more than the NPY encoding itself.
	n := 0 // rows in b
	b := w.buf[:0]
	for len(rows) > 0 {
		row := rows[:w.width]
		rows = rows[w.width:]
		n++
		switch w.format {
		case formatCSV:
			b = appendCSVRow(b, row)
		case formatJSONL:
			b = appendJSONLRow(b, w.keys, row)
		case formatNPY:
			for _, v := range row {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(v)))
			}
		}
		if len(b) >= 64<<10 || len(rows) == 0 {
			w.buf = b
			if _, err := w.bw.Write(b); err != nil {
				w.err = fmt.Errorf("%s: %w", w.path, err)
				return w.err
			}
			w.rows += n
			n, b = 0, b[:0]
		}
	}
	return nil
}

// appendJSONLRow appends row to dst as a line of a JSONL file: an object
// of the keys, the `"name": ` prefix of each value, or an array if keys is
// nil.
func appendJSONLRow[T float32 | float64](dst []byte, keys [][]byte, row []T) []byte {
	open, end := byte('['), byte(']')
	if keys != nil {
		open, end = '{', '}'
	}
	dst = append(dst, open)
	for i, v := range row {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		if keys != nil {
			dst = append(dst, keys[i]...)
		}
		if s, ok := jsonNonFinite(float64(v)); ok {
			dst = append(dst, s...)
		} else {
			dst = strconv.AppendFloat(dst, float64(v), 'g', -1, 64)
		}
	}
	return append(dst, end, '\n')
}

// Commit writes out what is buffered, syncs the file to disk and moves it
// into place, replacing any file at the target path. If Commit fails, the
// temporary file is removed and the target path is left as it was.
func (w *Writer) Commit() error {
	if w.done {
		if w.success {
			return fmt.Errorf("%s: already committed", w.path)
		}
		return fmt.Errorf("%s: Commit after Abort", w.path)
	}
	if err := w.commit(); err != nil {
		w.Abort()
		return fmt.Errorf("%s: %w", w.path, err)
	}
	w.done, w.success = true, true
	return nil
}

func (w *Writer) commit() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if w.tmp == nil {
		return nil // standard output
	}
	if w.format == formatNPY {
		hdr, err := npyHeader(w.rows, w.width)
		if err != nil {
			return err
		}
		if _, err := w.tmp.WriteAt(hdr, 0); err != nil {
			return err
		}
	}
	return w.tmp.Commit()
}

// Abort discards what was written and removes the temporary file. It does
// nothing after Commit, so it can be deferred.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	if w.tmp == nil {
		return nil // standard output: what was written stays
	}
	if err := w.tmp.Abort(); err != nil {
		return fmt.Errorf("%s: %w", w.path, err)
	}
	return nil
}

// npyHeaderLen is the size of the NPY headers a Writer writes, room enough
// for any row count, so that Commit can write the final header in place.
// numpy aligns the data to 64 bytes, as does this.
const npyHeaderLen = 128

// npyHeader returns an NPY version 1.0 header for a little-endian float64
// array of rows rows of width values, padded to npyHeaderLen bytes.
func npyHeader(rows, width int) ([]byte, error) {
	shape := fmt.Sprintf("(%d, %d)", rows, width)
	if width == 1 {
		shape = fmt.Sprintf("(%d,)", rows)
	}
	b := make([]byte, 0, npyHeaderLen)
	b = append(b, "\x93NUMPY\x01\x00"...)
	b = binary.LittleEndian.AppendUint16(b, npyHeaderLen-10)
	b = fmt.Appendf(b, "{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", shape)
	if len(b) >= npyHeaderLen {
		return nil, fmt.Errorf("NPY header for shape %s is too long", shape)
	}
	b = append(b, bytes.Repeat([]byte(" "), npyHeaderLen-1-len(b))...)
	return append(b, '\n'), nil
}

// AppendCSVRow appends row to dst as a Writer writes it to a CSV file: its
// values separated by commas, each the shortest decimal that reads back as
// the same float64, and a line break.
func AppendCSVRow(dst []byte, row []float64) []byte {
	return appendCSVRow(dst, row)
}

// appendCSVRow is AppendCSVRow for float32 or float64 values, each
// written as the float64 it equals.
func appendCSVRow[T float32 | float64](dst []byte, row []T) []byte {
	for i, v := range row {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendFloat(dst, float64(v), 'g', -1, 64)
	}
	return append(dst, '\n')
}

// jsonNonFinite returns the JSON string a JSONL row holds for NaN, +Inf or
// −Inf, which JSON numbers cannot be: "NaN", "Infinity" or "-Infinity", as
// JavaScript and Python spell them; ok is false for a finite v.
func jsonNonFinite(v float64) (s string, ok bool) {
	switch {
	case math.IsNaN(v):
		return `"NaN"`, true
	case math.IsInf(v, 1):
		return `"Infinity"`, true
	case math.IsInf(v, -1):
		return `"-Infinity"`, true
	}
	return "", false
}
