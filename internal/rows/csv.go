package rows

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

type csvDecoder struct {
	name    string
	lines   *lineReader
	columns []string
	width   int
	// nonFinite is ReadOptions.NonFinite.
	nonFinite bool

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
		v, err := parseAny(cell, d.nonFinite)
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
