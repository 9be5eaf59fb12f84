package rows

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
)

type csvDecoder struct {
	name string
	lookahead
	columns []string
	width   int
	header  int // line number of the header, 0 if none
	// nonFinite is ReadOptions.NonFinite.
	nonFinite bool
	// float32 is ReadOptions.Float32.
	float32 bool
}

// newCSVDecoder reads ahead to the first data line. A first line that is
// not all numbers is a header, whose names set the width; the first data
// line must then have as many values. opt.Notice hears of a header that
// holds numbers, which may be a row of data in another syntax.
func newCSVDecoder(name string, src io.Reader, opt ReadOptions) (*csvDecoder, error) {
	d := &csvDecoder{name: name, lookahead: lookahead{lines: newLineReader(name, src, opt.Width)}}
	line, err := d.nextNonBlank()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: no data rows", name)
	}
	if err != nil {
		return nil, err
	}
	if isCut(line) {
		return nil, fmt.Errorf("%s:%d: has more than %d columns, want %d", name, d.lines.n, opt.Width, opt.Width)
	}
	cells, header := headerCells(line)
	if !header {
		d.width = bytes.Count(line, []byte(",")) + 1
		d.pending = append([]byte(nil), line...)
		d.pendingNo = d.lines.n
		return d, nil
	}
	d.columns, d.width, d.header = cells, len(cells), d.lines.n
	if opt.Notice != nil && slices.ContainsFunc(cells, func(c string) bool { return looksNumeric([]byte(c)) }) {
		i := slices.IndexFunc(cells, func(c string) bool { return c != "" && !isNumber([]byte(c)) })
		opt.Notice(fmt.Sprintf("%s: line %d, %s, is read as a header of column names, not as data: %s is not a decimal number",
			name, d.header, quote(line), quote([]byte(cells[i]))))
	}
	line, err = d.nextNonBlank()
	if err == io.EOF {
		return d, nil // no rows: Read returns io.EOF
	}
	if err != nil {
		return nil, err
	}
	if n := bytes.Count(line, []byte(",")) + 1; n != d.width || isCut(line) {
		return nil, fmt.Errorf("%s:%d: %s", name, d.lines.n, d.widthError(line))
	}
	d.pending = append([]byte(nil), line...)
	d.pendingNo = d.lines.n
	return d, nil
}

// nextNonBlank returns the next line that is not blank.
func (d *csvDecoder) nextNonBlank() ([]byte, error) {
	for {
		line, err := d.lines.next()
		if err != nil || !isBlank(line) {
			return line, err
		}
	}
}

// widthError tells how line, whose number of values is not the width,
// differs from the header or the first row.
func (d *csvDecoder) widthError(line []byte) error {
	has := fmt.Sprintf("has %d columns", bytes.Count(line, []byte(","))+1)
	if isCut(line) {
		has = fmt.Sprintf("has more than %d columns", d.width)
	}
	if d.header > 0 {
		return fmt.Errorf("%s, but the header (line %d) names %d", has, d.header, d.width)
	}
	return fmt.Errorf("%s, want %d", has, d.width)
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
	line, no, err := d.nextLine()
	if err != nil {
		return err
	}
	return d.parse(line, no, dst)
}

// parse parses the line numbered no into dst.
func (d *csvDecoder) parse(line []byte, no int, dst []float64) error {
	w := len(dst)
	if n := bytes.Count(line, []byte(",")) + 1; n != w || isCut(line) {
		return d.bad(line, no, d.widthError(line))
	}
	rest := line
	for c := range w {
		cell := rest
		if c < w-1 {
			i := bytes.IndexByte(rest, ',')
			cell, rest = rest[:i], rest[i+1:]
		}
		v, err := parseAny(cell, d.nonFinite, d.float32)
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

// A lookahead is the lines of a text decoder with one line read ahead
// (to learn the width) and handed out again first.
type lookahead struct {
	lines     *lineReader
	pending   []byte // the line read ahead, or nil
	pendingNo int
}

// nextLine returns the next line that is not blank, and its number.
func (l *lookahead) nextLine() (line []byte, no int, err error) {
	for {
		if l.pending != nil {
			line, no = l.pending, l.pendingNo
			l.pending = nil
		} else {
			if line, err = l.lines.next(); err != nil {
				return nil, 0, err
			}
			no = l.lines.n
		}
		if !isBlank(line) {
			return line, no, nil
		}
	}
}
