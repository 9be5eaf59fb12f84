package rows

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

	// Width, if above 0, is the row width the caller expects, such as a
	// model's input width. A CSV or JSONL line is then read only up to its
	// Width-th comma: a longer line is a bad row ("has more than Width
	// columns") whose rest is skipped, not held in memory.
	Width int

	// Notice, if not nil, is told of choices made about the file, such as
	// taking a first CSV line that holds numbers as a header.
	Notice func(msg string)

	// Format, if not empty, is the format (one of Formats) of a path
	// without an extension, or of Stdio; the extension decides otherwise.
	Format string

	// NonFinite makes NaN, +Inf and −Inf values good, as the Writer writes
	// them: NaN, +Inf and -Inf in CSV (also Inf, Infinity, +Infinity),
	// the strings "NaN", "Infinity" and "-Infinity" in JSONL, and NPY's
	// own. It is for reading back outputs, such as scores; input rows keep
	// them out.
	NonFinite bool

	// Float32 makes a row holding a value beyond float32's range bad, as
	// for a model whose input is float32, which cannot hold it.
	Float32 bool
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
	row64   []float64       // Read32's one-row buffer for next
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
	return formatFor(path, "")
}

// Stdio is the path that stands for standard input (OpenReader) or
// standard output (CreateWriterFormat). Its format is the one given, or
// CSV.
const Stdio = "-"

// Formats are the names of the row formats, as the file extensions
// without the dot.
var Formats = []string{"csv", "jsonl", "npy"}

// formatFor returns the format of path: the one its extension names;
// for Stdio or a path without an extension, the format named name (one
// of Formats), else CSV for Stdio.
func formatFor(path, name string) (format, error) {
	ext := filepath.Ext(path)
	if path == Stdio || ext == "" {
		switch {
		case name != "":
			ext = "." + name
		case path == Stdio:
			ext = ".csv"
		}
	}
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
	if path == Stdio || filepath.Ext(path) == "" {
		return 0, fmt.Errorf("%s: unknown format %q (supported: csv, jsonl, npy)", path, name)
	}
	return 0, fmt.Errorf("%s: unsupported file extension %q (supported: .csv, .jsonl, .npy)", path, ext)
}

// OpenReader opens the row file at path, whose format is chosen by its
// extension (.csv, .jsonl or .npy, in any case), or by opt.Format; path
// Stdio reads standard input. For CSV and JSONL files it
// reads ahead to the first row to learn the row width, and fails if the
// file holds none.
func OpenReader(path string, opt ReadOptions) (*Reader, error) {
	if err := opt.Check(); err != nil {
		return nil, err
	}
	ft, err := formatFor(path, opt.Format)
	if err != nil {
		return nil, err
	}
	if path == Stdio {
		r, err := newReader("stdin", os.Stdin, -1, ft, opt)
		if err == nil {
			r.file = os.Stdin // Close ends a read blocked on a pipe
		}
		return r, err
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

// NewReader returns a Reader of the rows in src, the contents of a file
// called name, whose extension chooses the format as for OpenReader. Close
// does not close src.
func NewReader(src io.Reader, name string, opt ReadOptions) (*Reader, error) {
	if err := opt.Check(); err != nil {
		return nil, err
	}
	ft, err := formatOf(name)
	if err != nil {
		return nil, err
	}
	return newReader(name, src, -1, ft, opt)
}

// newReader returns a Reader of src, a file called name of the given
// format. size is the byte size of src, or -1 if not known.
func newReader(name string, src io.Reader, size int64, ft format, opt ReadOptions) (*Reader, error) {
	r := &Reader{name: name, opt: opt, rows: -1}
	var err error
	switch ft {
	case formatCSV:
		var d *csvDecoder
		d, err = newCSVDecoder(name, src, opt)
		if err == nil {
			d.nonFinite, d.float32 = opt.NonFinite, opt.Float32
			r.dec, r.columns, r.width = d, d.columns, d.width
		}
	case formatJSONL:
		var d *jsonlDecoder
		d, err = newJSONLDecoder(name, src, opt.Width, r.skip)
		if err == nil {
			d.nonFinite, d.float32 = opt.NonFinite, opt.Float32
			r.dec, r.columns, r.width = d, d.columns, d.width
		}
	case formatNPY:
		var d *npyDecoder
		d, err = newNPYDecoder(name, src, size)
		if err == nil {
			d.nonFinite, d.float32 = opt.NonFinite, opt.Float32
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
	return readInto(r, dst, func(dst []float64) int {
		if r.par != nil {
			k, err := r.par.read(dst, r.skip)
			r.err = err
			return k
		}
		npy, _ := r.dec.(*npyDecoder)
		var bulk func([]float64) (int, error)
		if npy != nil {
			bulk = npy.nextRows
		}
		return readSerial(r, dst, bulk, r.dec.next)
	})
}

// HoldsFloat32 reports whether the file's values are float32 (an NPY file
// of dtype float32, either byte order), which Read32 reads as they are.
func (r *Reader) HoldsFloat32() bool {
	d, ok := r.dec.(*npyDecoder)
	return ok && d.convert32 != nil
}

// Read32 is Read for a Reader that HoldsFloat32: it reads the values into
// dst as the file holds them, without a float64 stage, and treats bad rows
// as Read does. It fails on other Readers.
func (r *Reader) Read32(dst []float32) (n int, err error) {
	if !r.HoldsFloat32() {
		return 0, fmt.Errorf("%s: Read32 on a file that does not hold float32 values", r.name)
	}
	npy := r.dec.(*npyDecoder)
	// A row nextRows32 stops at holds a non-finite value; next reports
	// it, or, with NonFinite, decodes it.
	next := func(dst []float32) error {
		r.row64 = slices.Grow(r.row64[:0], len(dst))[:len(dst)]
		err := npy.next(r.row64)
		for i, v := range r.row64 {
			dst[i] = float32(v)
		}
		return err
	}
	return readInto(r, dst, func(dst []float32) int {
		return readSerial(r, dst, npy.nextRows32, next)
	})
}

// readInto is Read and Read32, filling whole rows of dst with fill.
func readInto[T float32 | float64](r *Reader, dst []T, fill func([]T) int) (n int, err error) {
	if r.err != nil {
		return 0, r.err
	}
	w := r.width
	room := len(dst) / w
	if room == 0 {
		return 0, fmt.Errorf("%s: Read buffer of %d values does not hold a row of %d", r.name, len(dst), w)
	}
	if n = fill(dst[:room*w]); n > 0 {
		return n, nil
	}
	return 0, r.err
}

// readSerial decodes rows into dst until it is full or an error stops
// the Reader, and returns how many it decoded: in bulk with bulk, if not
// nil, and a row at a time with next where bulk stops or is nil.
func readSerial[T float32 | float64](r *Reader, dst []T, bulk func([]T) (int, error), next func([]T) error) (n int) {
	w := r.width
	for n < len(dst)/w {
		if bulk != nil {
			k, err := bulk(dst[n*w:])
			n += k
			if err != nil {
				r.err = err
				break
			}
			if k > 0 {
				continue
			}
			// A non-finite value: next reports it, row by row.
		}
		err := next(dst[n*w : (n+1)*w : (n+1)*w])
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
	name  string
	br    *bufio.Reader
	n     int    // number of the line last returned, from 1
	long  []byte // holds lines longer than the buffer
	eof   bool
	width int // if above 0, a line longer than the buffer is cut at its width-th comma
}

// cutMark ends a line that lineReader cut at its width-th comma: it holds
// more values than the expected width, and the rest was skipped. A text
// line holds no NUL byte, so the mark cannot end a line as read.
const cutMark = "\x00(cut)"

// isCut reports whether line was cut short (see cutMark).
func isCut(line []byte) bool { return bytes.HasSuffix(line, []byte(cutMark)) }

func newLineReader(name string, src io.Reader, width int) *lineReader {
	return &lineReader{name: name, br: bufio.NewReaderSize(src, 64<<10), width: width}
}

// next returns the next line without its line break. The line is valid
// until the next call. At the end of the file next returns io.EOF.
func (lr *lineReader) next() ([]byte, error) {
	if lr.eof {
		return nil, io.EOF
	}
	line, err := lr.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		line, err = lr.readLong(line)
		if err != nil && err != io.EOF {
			return nil, err
		}
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

// readLong reads the rest of a line longer than the buffer, whose start
// is first, into lr.long. If lr.width is above 0 it stops at the line's
// width-th comma, skips the rest of the line and returns the part read
// with cutMark at its end.
func (lr *lineReader) readLong(first []byte) ([]byte, error) {
	lr.long = append(lr.long[:0], first...)
	commas := bytes.Count(first, []byte(","))
	err := bufio.ErrBufferFull
	for err == bufio.ErrBufferFull {
		if lr.width > 0 && commas >= lr.width {
			i := nthIndex(lr.long, ',', lr.width)
			lr.long = append(lr.long[:i], cutMark...)
			for err == bufio.ErrBufferFull {
				_, err = lr.br.ReadSlice('\n')
			}
			return lr.long, err
		}
		var line []byte
		line, err = lr.br.ReadSlice('\n')
		if len(lr.long)+len(line) > maxLineBytes {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", lr.name, lr.n+1, maxLineBytes)
		}
		lr.long = append(lr.long, line...)
		commas += bytes.Count(line, []byte(","))
	}
	return lr.long, err
}

// nthIndex returns the index of the n-th c in b, n ≥ 1; b holds n of them.
func nthIndex(b []byte, c byte, n int) int {
	i := -1
	for range n {
		i += bytes.IndexByte(b[i+1:], c) + 1
	}
	return i
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

// parseValue parses one cell or JSON number, as unquote leaves it: a
// decimal number (see isDecimal). NaN and ±Inf, spelled as strconv reads
// them, are refused as such.
func parseValue(cell []byte) (float64, error) {
	cell = unquote(cell)
	if len(cell) == 0 {
		return 0, errors.New("empty value")
	}
	if !isDecimal(cell) && !isNonFinite(cell) {
		return 0, fmt.Errorf("%s is not a number", quote(cell))
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

// nonFiniteValues are the spellings of NaN and ±Inf that readers take with
// ReadOptions.NonFinite, quotes removed.
var nonFiniteValues = map[string]float64{
	"NaN": math.NaN(), "Inf": math.Inf(1), "+Inf": math.Inf(1), "-Inf": math.Inf(-1),
	"Infinity": math.Inf(1), "+Infinity": math.Inf(1), "-Infinity": math.Inf(-1),
}

// parseAny is parseValue, also taking the spellings of NaN and ±Inf of
// nonFiniteValues if nonFinite, and refusing finite values beyond
// float32's range if float32.
func parseAny(cell []byte, nonFinite, float32 bool) (float64, error) {
	if nonFinite {
		if v, ok := nonFiniteValues[string(unquote(cell))]; ok {
			return v, nil
		}
	}
	v, err := parseValue(cell)
	if err == nil && float32 {
		err = checkFloat32(v)
	}
	return v, err
}

// checkFloat32 returns an error if v is finite but beyond float32's range.
func checkFloat32(v float64) error {
	if math.Abs(v) > math.MaxFloat32 && !math.IsInf(v, 0) {
		return fmt.Errorf("%g is beyond the range of float32, the model's input type", v)
	}
	return nil
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
	cell = unquote(cell)
	return isDecimal(cell) || isNonFinite(cell)
}

// isDecimal reports whether b is a decimal number: an optional sign,
// digits with an optional decimal point (at least one digit), and an
// optional exponent, e or E, an optional sign and digits. Go's other
// spellings, such as 0x10, 1_000 and 0x1p-2, are not numbers in a row file.
func isDecimal(b []byte) bool {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(b) && isDigit(b[i]); i++ {
		digits++
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && isDigit(b[i]); i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for ; i < len(b) && isDigit(b[i]); i++ {
		}
		if i == start {
			return false
		}
	}
	return i == len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isNonFinite reports whether b spells NaN or ±Inf as strconv reads them
// ("NaN", "inf", "-Infinity", in any letter case): such values are
// numbers, refused as not finite.
func isNonFinite(b []byte) bool {
	s := string(b)
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return strings.EqualFold(s, "nan") || strings.EqualFold(s, "inf") || strings.EqualFold(s, "infinity")
}

// looksNumeric reports whether cell is a number or starts like one (a
// digit, or a sign or point before a digit): a header of such cells may
// well be a row of data.
func looksNumeric(cell []byte) bool {
	cell = unquote(cell)
	if isNumber(cell) {
		return true
	}
	for len(cell) > 0 && (cell[0] == '+' || cell[0] == '-' || cell[0] == '.') {
		cell = cell[1:]
	}
	return len(cell) > 0 && isDigit(cell[0])
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
