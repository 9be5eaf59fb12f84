package table

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/sbinet/npyio/npy"
)

// ReadOptions controls how a Reader treats bad rows, and how many
// goroutines decode rows.
type ReadOptions struct {
	// SkipBadRows makes a Reader pass bad rows to Reject and go on, instead
	// of failing on the first one. A row is bad if a value is not a number,
	// is NaN or ±Inf, or if it has the wrong number of values. Errors that
	// leave the rest of the file unreadable, such as a truncated NPY file,
	// stop the Reader either way.
	SkipBadRows bool

	// Reject, if not nil, is called with each row skipped because of
	// SkipBadRows, in file order. OpenReader reads ahead to learn the row
	// width, so it may call Reject too.
	Reject func(BadRow)

	// Workers is the number of goroutines decoding the lines of a CSV or
	// JSONL file; 0 or 1 decodes them in Read. With more, a goroutine
	// reads the file in chunks of whole lines, the workers decode chunks
	// side by side, and Read hands out their rows, and passes bad rows to
	// Reject, in file order and from the calling goroutine, exactly as
	// without workers. Memory then holds up to 2*Workers chunks of about
	// 1 MiB of text each, and Close stops the goroutines. NPY files are
	// always decoded in Read: decoding them is about as cheap as copying.
	Workers int
}

// BadRow describes a row that a Reader skipped.
type BadRow struct {
	// Line is the 1-based line number for CSV and JSONL files, and the
	// 0-based row index, as numpy counts, for NPY files.
	Line int
	// Text is the line as found in the file (CSV, JSONL), or the row's
	// values separated by commas (NPY).
	Text string
	// Err tells what is wrong, naming the file and line, as in
	// `data.csv:17: column 3: "abc" is not a number`.
	Err error
}

// A Reader reads rows of float64 values from a CSV, JSONL or NPY file.
type Reader struct {
	name    string
	file    io.Closer
	dec     rowDecoder
	opt     ReadOptions
	columns []string
	shape   []int
	width   int
	rows    int
	err     error           // sticky: io.EOF or what stopped the Reader
	par     *parallelReader // decodes lines on goroutines, if not nil
}

// rowDecoder decodes one row at a time.
type rowDecoder interface {
	// next decodes the next row into dst, whose length is the row width.
	// It returns io.EOF after the last row, a *rowError for a bad row, after
	// which decoding can go on, and any other error when it cannot.
	next(dst []float64) error
}

// rowError is a bad row: a row that can be skipped.
type rowError struct {
	line int
	text string
	err  error // the whole message, naming the file and line
}

func (e *rowError) Error() string { return e.err.Error() }
func (e *rowError) Unwrap() error { return e.err }

// format is a row file format.
type format int

const (
	formatCSV format = iota + 1
	formatJSONL
	formatNPY
	formatText // lines of text, written only (rejects files)
)

// formatOf returns the format of path, chosen by its extension.
func formatOf(path string) (format, error) {
	ext := filepath.Ext(path)
	switch strings.ToLower(ext) {
	case ".csv":
		return formatCSV, nil
	case ".jsonl":
		return formatJSONL, nil
	case ".npy":
		return formatNPY, nil
	case "":
		return 0, fmt.Errorf("%s: no file extension to tell the format (supported: .csv, .jsonl, .npy)", path)
	}
	return 0, fmt.Errorf("%s: unsupported file extension %q (supported: .csv, .jsonl, .npy)", path, ext)
}

// OpenReader opens the row file at path, whose format is chosen by its
// extension (.csv, .jsonl or .npy, in any case). For CSV and JSONL files it
// reads ahead to the first row to learn the row width, and fails if the
// file holds none.
func OpenReader(path string, opt ReadOptions) (*Reader, error) {
	ft, err := formatOf(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	r, err := newReader(path, f, size, ft, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// NewReader returns a Reader of the rows in src, read as the file called
// name, whose extension gives the format as for OpenReader. size is the byte
// size of src, or -1 if not known. Close does not close src.
func NewReader(name string, src io.Reader, size int64, opt ReadOptions) (*Reader, error) {
	ft, err := formatOf(name)
	if err != nil {
		return nil, err
	}
	return newReader(name, src, size, ft, opt)
}

// newReader returns a Reader of src, a file called name of the given
// format. size is the byte size of src, or -1 if not known.
func newReader(name string, src io.Reader, size int64, ft format, opt ReadOptions) (*Reader, error) {
	r := &Reader{name: name, opt: opt, rows: -1}
	var err error
	switch ft {
	case formatCSV:
		var d *csvDecoder
		d, err = newCSVDecoder(name, src)
		if err == nil {
			r.dec, r.columns, r.width = d, d.columns, d.width
		}
	case formatJSONL:
		var d *jsonlDecoder
		d, err = newJSONLDecoder(name, src, r.skip)
		if err == nil {
			r.dec, r.columns, r.width = d, d.columns, d.width
		}
	case formatNPY:
		var d *npyDecoder
		d, err = newNPYDecoder(name, src, size)
		if err == nil {
			r.dec, r.shape, r.width, r.rows = d, d.rowShape, d.width, d.rows
		}
	default:
		err = fmt.Errorf("%s: unknown format", name)
	}
	if err != nil {
		return nil, err
	}
	if r.shape == nil {
		r.shape = []int{r.width}
	}
	if d, ok := r.dec.(lineDecoder); ok && opt.Workers > 1 {
		r.par = newParallelReader(d, r.width, opt.Workers)
	}
	return r, nil
}

// skip handles the bad row e: with SkipBadRows it passes it to Reject and
// returns nil, otherwise it returns e.
func (r *Reader) skip(e *rowError) error {
	if !r.opt.SkipBadRows {
		return e
	}
	if r.opt.Reject != nil {
		r.opt.Reject(BadRow{Line: e.line, Text: e.text, Err: e.err})
	}
	return nil
}

// Columns returns the column names (from a CSV header or the keys of JSONL
// objects), or nil if the file does not name its columns.
func (r *Reader) Columns() []string { return append([]string(nil), r.columns...) }

// RowShape returns the shape of one row: [k] for rows of k values, or the
// trailing axes of an NPY array, such as [3, 32, 32].
func (r *Reader) RowShape() []int { return append([]int(nil), r.shape...) }

// Width returns the number of values in a row, the product of RowShape.
func (r *Reader) Width() int { return r.width }

// Rows returns the number of rows the file holds if known up front (NPY),
// else -1. The count includes bad rows, which SkipBadRows leaves out of
// what Read returns.
func (r *Reader) Rows() int { return r.rows }

// Read reads up to len(dst)/Width() rows into dst, one after another, and
// returns how many it read. It returns a nil error whenever n > 0; at the end
// of the file it returns 0, io.EOF. An error that stops the Reader is
// returned, with n == 0, by the call after the last rows read before it, and
// by every later call.
func (r *Reader) Read(dst []float64) (n int, err error) {
	if r.err != nil {
		return 0, r.err
	}
	w := r.width
	room := len(dst) / w
	if room == 0 {
		return 0, fmt.Errorf("%s: Read buffer of %d values does not hold a row of %d", r.name, len(dst), w)
	}
	if r.par != nil {
		n, r.err = r.par.read(dst[:room*w], r.skip)
	} else {
		n = r.readSerial(dst[:room*w])
	}
	if n > 0 {
		return n, nil
	}
	return 0, r.err
}

// readSerial decodes rows into dst until it is full or an error stops
// the Reader, and returns how many it decoded.
func (r *Reader) readSerial(dst []float64) (n int) {
	w := r.width
	for n < len(dst)/w {
		err := r.dec.next(dst[n*w : (n+1)*w : (n+1)*w])
		if err == nil {
			n++
			continue
		}
		if e, ok := err.(*rowError); ok {
			err = r.skip(e)
			if err == nil {
				continue
			}
		}
		r.err = err
		break
	}
	return n
}

// Close stops the goroutines decoding rows, if any, and closes the file.
// Read fails after Close.
func (r *Reader) Close() error {
	r.err = fmt.Errorf("%s: read after Close", r.name)
	if r.par != nil {
		r.par.stop()
	}
	var err error
	if r.file != nil {
		// Closing the file first ends a read blocked on a pipe.
		err = r.file.Close()
		r.file = nil
	}
	if r.par != nil {
		r.par.wait()
	}
	return err
}

// maxLineBytes bounds the length of a CSV or JSONL line, so that a file
// without line breaks cannot take all memory. Tests lower it.
var maxLineBytes = 64 << 20

// lineReader splits a file into lines.
type lineReader struct {
	name string
	br   *bufio.Reader
	n    int    // number of the line last returned, from 1
	long []byte // holds lines longer than the buffer
	eof  bool
}

func newLineReader(name string, src io.Reader) *lineReader {
	return &lineReader{name: name, br: bufio.NewReaderSize(src, 64<<10)}
}

// next returns the next line without its line break. The line is valid
// until the next call. At the end of the file next returns io.EOF.
func (lr *lineReader) next() ([]byte, error) {
	if lr.eof {
		return nil, io.EOF
	}
	line, err := lr.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		lr.long = append(lr.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = lr.br.ReadSlice('\n')
			if len(lr.long)+len(line) > maxLineBytes {
				return nil, fmt.Errorf("%s:%d: line longer than %d bytes", lr.name, lr.n+1, maxLineBytes)
			}
			lr.long = append(lr.long, line...)
		}
		line = lr.long
	}
	switch {
	case err == io.EOF:
		lr.eof = true
		if len(line) == 0 {
			return nil, io.EOF
		}
	case err != nil:
		return nil, err
	}
	lr.n++
	line = trimLineBreak(line)
	if lr.n == 1 {
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	}
	return line, nil
}

// trimLineBreak returns line without its final "\n" or "\r\n", if any.
func trimLineBreak(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// isBlank reports whether line holds only spaces and tabs.
func isBlank(line []byte) bool {
	return len(trimSpace(line)) == 0
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

var errNaN = errors.New("NaN is not allowed")

// unquote returns cell without the spaces and tabs around it, and without
// double quotes around that.
func unquote(cell []byte) []byte {
	cell = trimSpace(cell)
	if len(cell) >= 2 && cell[0] == '"' && cell[len(cell)-1] == '"' {
		cell = trimSpace(cell[1 : len(cell)-1])
	}
	return cell
}

// parseValue parses one cell or JSON number, as unquote leaves it.
func parseValue(cell []byte) (float64, error) {
	cell = unquote(cell)
	if len(cell) == 0 {
		return 0, errors.New("empty value")
	}
	v, err := strconv.ParseFloat(string(cell), 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%s is out of range", quote(cell))
		}
		return 0, fmt.Errorf("%s is not a number", quote(cell))
	}
	if err := checkFinite(v); err != nil {
		return 0, err
	}
	return v, nil
}

// checkFinite returns an error if v is NaN or ±Inf.
func checkFinite(v float64) error {
	switch {
	case math.IsNaN(v):
		return errNaN
	case math.IsInf(v, 0):
		return fmt.Errorf("%+g is not allowed", v)
	}
	return nil
}

// isNumber reports whether cell reads as a number, allowing NaN, ±Inf and
// values out of range.
func isNumber(cell []byte) bool {
	_, err := strconv.ParseFloat(string(unquote(cell)), 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// quote quotes b for an error message, shortening it if long.
func quote(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

// formatRow formats values as comma-separated numbers.
func formatRow(values []float64) string {
	var b []byte
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return string(b)
}

type csvDecoder struct {
	name    string
	lines   *lineReader
	columns []string
	width   int

	pending   []byte // first data line, read ahead to learn the width
	pendingNo int
}

func newCSVDecoder(name string, src io.Reader) (*csvDecoder, error) {
	d := &csvDecoder{name: name, lines: newLineReader(name, src)}
	var line []byte
	for {
		var err error
		line, err = d.lines.next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: no data rows", name)
		}
		if err != nil {
			return nil, err
		}
		if !isBlank(line) {
			break
		}
	}
	if cells, ok := headerCells(line); ok {
		d.columns = cells
		d.width = len(cells)
		return d, nil
	}
	d.width = bytes.Count(line, []byte(",")) + 1
	d.pending = append([]byte(nil), line...)
	d.pendingNo = d.lines.n
	return d, nil
}

// headerCells returns the cells of line and true if line is a header: if
// some cell is neither empty nor a number.
func headerCells(line []byte) ([]string, bool) {
	cr := csv.NewReader(bytes.NewReader(line))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cells, err := cr.Read()
	if err != nil {
		// Not valid CSV, for instance a stray quote: split at commas.
		cells = strings.Split(string(line), ",")
	}
	header := false
	for i, c := range cells {
		c = strings.TrimSpace(c)
		cells[i] = c
		if c != "" && !isNumber([]byte(c)) {
			header = true
		}
	}
	return cells, header
}

func (d *csvDecoder) next(dst []float64) error {
	for {
		var line []byte
		var no int
		if d.pending != nil {
			line, no = d.pending, d.pendingNo
			d.pending = nil
		} else {
			var err error
			line, err = d.lines.next()
			if err != nil {
				return err
			}
			no = d.lines.n
		}
		if isBlank(line) {
			continue
		}
		return d.parse(line, no, dst)
	}
}

// parse parses the line numbered no into dst.
func (d *csvDecoder) parse(line []byte, no int, dst []float64) error {
	w := len(dst)
	if n := bytes.Count(line, []byte(",")) + 1; n != w {
		return d.bad(line, no, fmt.Errorf("has %d columns, want %d", n, w))
	}
	rest := line
	for c := range w {
		cell := rest
		if c < w-1 {
			i := bytes.IndexByte(rest, ',')
			cell, rest = rest[:i], rest[i+1:]
		}
		v, err := parseValue(cell)
		if err != nil {
			return d.bad(line, no, fmt.Errorf("column %d: %w", c+1, err))
		}
		dst[c] = v
	}
	return nil
}

func (d *csvDecoder) bad(line []byte, no int, err error) *rowError {
	return &rowError{line: no, text: string(line), err: fmt.Errorf("%s:%d: %w", d.name, no, err)}
}

type jsonlDecoder struct {
	name    string
	lines   *lineReader
	columns []string // nil for a file of arrays
	width   int
	keys    map[string]int // column index by name, for a file of objects
	seen    []bool         // keys seen in the current object row
	first   int            // line number of the first row

	pending   []byte // first row, read ahead to learn the width
	pendingNo int
}

// newJSONLDecoder reads ahead to the first row that tells the width. Bad
// rows before it go to skip, which returns an error to stop.
func newJSONLDecoder(name string, src io.Reader, skip func(*rowError) error) (*jsonlDecoder, error) {
	d := &jsonlDecoder{name: name, lines: newLineReader(name, src)}
	for {
		line, err := d.lines.next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: no data rows", name)
		}
		if err != nil {
			return nil, err
		}
		if isBlank(line) {
			continue
		}
		no := d.lines.n
		if err := d.learn(line); err != nil {
			if err := skip(d.bad(line, no, err)); err != nil {
				return nil, err
			}
			continue
		}
		d.first = no
		d.pending = append([]byte(nil), line...)
		d.pendingNo = no
		return d, nil
	}
}

// learn learns the width, and the column names if any, from the first row.
func (d *jsonlDecoder) learn(line []byte) error {
	if err := validJSON(line); err != nil {
		return err
	}
	switch line[skipSpace(line, 0)] {
	case '[':
		var values []json.RawMessage
		if err := json.Unmarshal(line, &values); err != nil {
			return fmt.Errorf("invalid JSON: %v", err)
		}
		if len(values) == 0 {
			return errors.New("empty array")
		}
		d.width = len(values)
		return nil
	case '{':
		dec := json.NewDecoder(bytes.NewReader(line))
		if _, err := dec.Token(); err != nil { // {
			return fmt.Errorf("invalid JSON: %v", err)
		}
		var columns []string
		keys := map[string]int{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("invalid JSON: %v", err)
			}
			key, _ := tok.(string)
			if _, dup := keys[key]; dup {
				return fmt.Errorf("duplicate key %q", key)
			}
			keys[key] = len(columns)
			columns = append(columns, key)
			var value json.RawMessage
			if err := dec.Decode(&value); err != nil {
				return fmt.Errorf("invalid JSON: %v", err)
			}
		}
		if len(columns) == 0 {
			return errors.New("empty object")
		}
		d.columns, d.keys, d.width = columns, keys, len(columns)
		d.seen = make([]bool, len(columns))
		return nil
	}
	return errors.New("want a JSON array or object")
}

func (d *jsonlDecoder) next(dst []float64) error {
	for {
		var line []byte
		var no int
		if d.pending != nil {
			line, no = d.pending, d.pendingNo
			d.pending = nil
		} else {
			var err error
			line, err = d.lines.next()
			if err != nil {
				return err
			}
			no = d.lines.n
		}
		if isBlank(line) {
			continue
		}
		if err := d.parse(line, dst, d.seen); err != nil {
			return d.bad(line, no, err)
		}
		return nil
	}
}

func (d *jsonlDecoder) bad(line []byte, no int, err error) *rowError {
	return &rowError{line: no, text: string(line), err: fmt.Errorf("%s:%d: %w", d.name, no, err)}
}

// validJSON returns an error describing why line is not one JSON value.
func validJSON(line []byte) error {
	if json.Valid(line) {
		return nil
	}
	var v any
	err := json.Unmarshal(line, &v)
	if err == nil {
		err = errors.New("not a single JSON value")
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

// parse parses a JSON row into dst. seen, of one bool per column, is
// scratch space for a file of objects; with a seen of its own, each
// goroutine can call parse concurrently with the others.
func (d *jsonlDecoder) parse(line []byte, dst []float64, seen []bool) error {
	if err := validJSON(line); err != nil {
		return err
	}
	i := skipSpace(line, 0)
	switch {
	case line[i] == '[' && d.keys == nil:
		return d.parseArray(line, i+1, dst)
	case line[i] == '{' && d.keys != nil:
		return d.parseObject(line, i+1, dst, seen)
	}
	want := "an array"
	if d.keys != nil {
		want = "an object"
	}
	return fmt.Errorf("got %s, want %s like line %d", jsonKind(line[i]), want, d.first)
}

// parseArray parses the elements of a JSON array, valid JSON starting at
// line[i], just after the opening bracket.
func (d *jsonlDecoder) parseArray(line []byte, i int, dst []float64) error {
	i = skipSpace(line, i)
	if line[i] == ']' {
		return fmt.Errorf("has 0 columns, want %d", len(dst))
	}
	for c := 0; ; c++ {
		i = skipSpace(line, i)
		j := numberEnd(line, i)
		if j == i {
			return fmt.Errorf("column %d: %s is not a number", c+1, jsonKind(line[i]))
		}
		if c >= len(dst) {
			var values []json.RawMessage
			json.Unmarshal(line, &values)
			return fmt.Errorf("has %d columns, want %d", len(values), len(dst))
		}
		v, err := parseValue(line[i:j])
		if err != nil {
			return fmt.Errorf("column %d: %w", c+1, err)
		}
		dst[c] = v
		i = skipSpace(line, j)
		if line[i] == ']' {
			if c+1 != len(dst) {
				return fmt.Errorf("has %d columns, want %d", c+1, len(dst))
			}
			return nil
		}
		i++ // ,
	}
}

// parseObject parses the members of a JSON object, valid JSON starting at
// line[i], just after the opening brace.
func (d *jsonlDecoder) parseObject(line []byte, i int, dst []float64, seen []bool) error {
	clear(seen)
	i = skipSpace(line, i)
	for line[i] != '}' {
		i = skipSpace(line, i)
		j := stringEnd(line, i)
		raw := line[i+1 : j-1]
		var key string
		if bytes.IndexByte(raw, '\\') >= 0 {
			json.Unmarshal(line[i:j], &key)
		} else {
			key = string(raw)
		}
		c, ok := d.keys[key]
		if !ok {
			return fmt.Errorf("unexpected key %q", key)
		}
		if seen[c] {
			return fmt.Errorf("duplicate key %q", key)
		}
		seen[c] = true
		i = skipSpace(line, j) + 1 // :
		i = skipSpace(line, i)
		j = numberEnd(line, i)
		if j == i {
			return fmt.Errorf("key %q: %s is not a number", key, jsonKind(line[i]))
		}
		v, err := parseValue(line[i:j])
		if err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		dst[c] = v
		i = skipSpace(line, j)
		if line[i] == ',' {
			i = skipSpace(line, i+1)
		}
	}
	for c, ok := range seen {
		if !ok {
			return fmt.Errorf("missing key %q", d.columns[c])
		}
	}
	return nil
}

// skipSpace returns the index of the first byte of b from i on that is not
// JSON white space, or len(b).
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// numberEnd returns the end of the JSON number starting at b[i], or i if
// none starts there.
func numberEnd(b []byte, i int) int {
	if i >= len(b) || (b[i] != '-' && (b[i] < '0' || b[i] > '9')) {
		return i
	}
	j := i
	for j < len(b) {
		switch c := b[j]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			j++
			continue
		}
		break
	}
	return j
}

// stringEnd returns the index just past the JSON string starting at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// jsonKind names the kind of JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '"':
		return "a string"
	case '[':
		return "an array"
	case '{':
		return "an object"
	}
	return "a number"
}

// maxNPYHeader bounds the NPY header length. numpy itself refuses headers
// over 10000 bytes by default.
const maxNPYHeader = 1 << 20

// maxNPYRowBytes bounds the size of one NPY row.
const maxNPYRowBytes = 1 << 30

type npyDecoder struct {
	name     string
	src      io.Reader
	shape    []int // of the array
	rowShape []int
	rows     int
	width    int
	itemSize int
	isFloat  bool
	convert  func(dst []float64, src []byte)

	row    int    // index of the next row
	buf    []byte // rows read ahead
	bufPos int
	err    error // what stops decoding after the rows in buf
}

func newNPYDecoder(name string, src io.Reader, size int64) (*npyDecoder, error) {
	prefix := make([]byte, 8, 12)
	if _, err := io.ReadFull(src, prefix); err != nil {
		return nil, npyShort(name, err, "header")
	}
	if !bytes.Equal(prefix[:6], npy.Magic[:]) {
		return nil, fmt.Errorf("%s: not an NPY file", name)
	}
	var hdrLen int
	switch major := prefix[6]; major {
	case 1:
		prefix = prefix[:10]
		if _, err := io.ReadFull(src, prefix[8:]); err != nil {
			return nil, npyShort(name, err, "header")
		}
		hdrLen = int(binary.LittleEndian.Uint16(prefix[8:]))
	case 2:
		prefix = prefix[:12]
		if _, err := io.ReadFull(src, prefix[8:]); err != nil {
			return nil, npyShort(name, err, "header")
		}
		n := binary.LittleEndian.Uint32(prefix[8:])
		if n > maxNPYHeader {
			return nil, fmt.Errorf("%s: NPY header of %d bytes is too long", name, n)
		}
		hdrLen = int(n)
	default:
		return nil, fmt.Errorf("%s: unsupported NPY format version %d.%d", name, major, prefix[7])
	}
	raw := make([]byte, len(prefix)+hdrLen)
	copy(raw, prefix)
	if _, err := io.ReadFull(src, raw[len(prefix):]); err != nil {
		return nil, npyShort(name, err, "header")
	}
	hdr, err := decodeNPYHeader(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: bad NPY header: %v", name, err)
	}

	d := &npyDecoder{name: name, src: src, shape: hdr.Descr.Shape}
	if hdr.Descr.Fortran {
		return nil, fmt.Errorf("%s: Fortran-order arrays are not supported; save a C-order array (numpy.ascontiguousarray)", name)
	}
	if err := d.setType(hdr.Descr.Type); err != nil {
		return nil, err
	}
	if len(d.shape) == 0 {
		return nil, fmt.Errorf("%s: holds a scalar, want an array of rows", name)
	}
	for _, n := range d.shape {
		if n < 0 {
			return nil, fmt.Errorf("%s: bad NPY header: negative shape %v", name, d.shape)
		}
	}
	d.rows = d.shape[0]
	d.rowShape = d.shape[1:]
	if len(d.rowShape) == 0 {
		d.rowShape = []int{1}
	}
	d.width = 1
	for _, n := range d.rowShape {
		if n == 0 {
			return nil, fmt.Errorf("%s: rows of shape %v hold no values", name, d.rowShape)
		}
		if n > maxNPYRowBytes/d.itemSize/d.width {
			return nil, fmt.Errorf("%s: rows of shape %v are too large", name, d.rowShape)
		}
		d.width *= n
	}
	if size >= 0 {
		rowBytes := int64(d.width * d.itemSize)
		held := (size - int64(len(raw))) / rowBytes
		if held < int64(d.rows) {
			return nil, fmt.Errorf("%s: truncated: header says %d rows, file holds %d", name, d.rows, held)
		}
	}
	return d, nil
}

// decodeNPYHeader decodes an NPY header with npyio, turning its panics on
// malformed headers into errors.
func decodeNPYHeader(raw []byte) (hdr npy.Header, err error) {
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("cannot parse %q", headerDict(raw))
		}
	}()
	r, err := npy.NewReader(bytes.NewReader(raw))
	if err != nil {
		return hdr, err
	}
	return r.Header, nil
}

// headerDict returns the header dictionary text of a raw NPY header, for
// error messages.
func headerDict(raw []byte) string {
	i := 10
	if raw[6] == 2 {
		i = 12
	}
	s := strings.TrimSpace(string(raw[i:]))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func npyShort(name string, err error, what string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%s: truncated NPY %s", name, what)
	}
	return err
}

// setType sets up the conversion from the dtype descr to float64.
func (d *npyDecoder) setType(descr string) error {
	unsupported := fmt.Errorf("%s: unsupported dtype %s (want a float or integer type)", d.name, descr)
	t := npyType(descr)
	if t == nil {
		return unsupported
	}
	var order binary.ByteOrder = binary.NativeEndian
	switch descr[0] {
	case '<':
		order = binary.LittleEndian
	case '>':
		order = binary.BigEndian
	}
	d.itemSize = int(t.Size())
	switch t.Kind() {
	case reflect.Float64:
		d.isFloat = true
		if order == binary.LittleEndian {
			d.convert = func(dst []float64, src []byte) {
				for i := range dst {
					dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:]))
				}
			}
			return nil
		}
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = math.Float64frombits(order.Uint64(src[8*i:]))
			}
		}
	case reflect.Float32:
		d.isFloat = true
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(math.Float32frombits(order.Uint32(src[4*i:])))
			}
		}
	case reflect.Int8:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(int8(src[i]))
			}
		}
	case reflect.Uint8:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(src[i])
			}
		}
	case reflect.Int16:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(int16(order.Uint16(src[2*i:])))
			}
		}
	case reflect.Uint16:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(order.Uint16(src[2*i:]))
			}
		}
	case reflect.Int32:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(int32(order.Uint32(src[4*i:])))
			}
		}
	case reflect.Uint32:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(order.Uint32(src[4*i:]))
			}
		}
	case reflect.Int64:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(int64(order.Uint64(src[8*i:])))
			}
		}
	case reflect.Uint64:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(order.Uint64(src[8*i:]))
			}
		}
	default:
		return unsupported
	}
	return nil
}

// npyType returns the Go type of an NPY dtype descr as npyio reads it, or
// nil if there is none.
func npyType(descr string) (t reflect.Type) {
	if descr == "" {
		return nil
	}
	defer func() {
		if recover() != nil {
			t = nil
		}
	}()
	return npy.TypeFrom(descr)
}

func (d *npyDecoder) next(dst []float64) error {
	if d.row >= d.rows {
		return io.EOF
	}
	rowBytes := d.width * d.itemSize
	if d.bufPos == len(d.buf) {
		if d.err != nil {
			return d.err
		}
		// Refill with as many whole rows as fit in 64 KiB, at least one.
		n := max(1, (64<<10)/rowBytes)
		n = min(n, d.rows-d.row)
		if cap(d.buf) < n*rowBytes {
			d.buf = make([]byte, n*rowBytes)
		}
		d.buf = d.buf[:n*rowBytes]
		d.bufPos = 0
		if k, err := io.ReadFull(d.src, d.buf); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = fmt.Errorf("%s: truncated: header says %d rows, file holds %d", d.name, d.rows, d.row+k/rowBytes)
			}
			d.err = err
			d.buf = d.buf[:k/rowBytes*rowBytes]
			if len(d.buf) == 0 {
				return d.err
			}
		}
	}
	d.convert(dst, d.buf[d.bufPos:d.bufPos+rowBytes])
	d.bufPos += rowBytes
	row := d.row
	d.row++
	if d.isFloat {
		for i, v := range dst {
			if v-v != 0 { // NaN or ±Inf
				return &rowError{
					line: row,
					text: formatRow(dst),
					err:  fmt.Errorf("%s: row %d: element %s: %w", d.name, row, d.index(row, i), checkFinite(v)),
				}
			}
		}
	}
	return nil
}

// index formats the numpy index of element i of row.
func (d *npyDecoder) index(row, i int) string {
	idx := make([]int, len(d.shape))
	idx[0] = row
	for a := len(d.shape) - 1; a > 0; a-- {
		idx[a] = i % d.shape[a]
		i /= d.shape[a]
	}
	return strings.Join(strings.Fields(fmt.Sprint(idx)), ", ")
}
