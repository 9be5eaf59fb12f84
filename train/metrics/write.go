package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/ebmpipe/ebmpipe/internal/atomicfile"
)

// A File appends rows to metrics.csv, flushed after every row.
type File struct {
	path    string
	columns []string // after step, before wall_seconds
	f       *os.File
	w       *bufio.Writer
	last    *Row // the last row kept when resuming, or nil
}

// Open creates path with a header, or, when resuming, keeps its
// header and the rows up to step and appends after them. The columns of
// the file must be those given.
func Open(path string, columns []string, resume bool, step int) (*File, error) {
	header := strings.Join(append(append([]string{ColStep}, columns...), ColWall), ",")
	var keep, lastLine []byte
	if resume {
		b, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		lines := bytes.SplitAfter(b, []byte("\n"))
		if len(b) > 0 {
			if got := strings.TrimSpace(string(lines[0])); got != header {
				return nil, fmt.Errorf("metrics: %s has columns %q, this run writes %q", path, got, header)
			}
		}
		for i, line := range lines {
			if i == 0 || !bytes.HasSuffix(line, []byte("\n")) {
				continue // header, or an incomplete last line
			}
			field, _, _ := bytes.Cut(line, []byte(","))
			s, err := strconv.Atoi(string(field))
			if err != nil || s > step {
				break
			}
			keep = append(keep, line...)
			lastLine = line
		}
	}
	data := append([]byte(header+"\n"), keep...)
	if err := atomicfile.WriteFile(path, data); err != nil {
		return nil, fmt.Errorf("metrics: %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &File{path: path, columns: columns, f: f, w: bufio.NewWriter(f), last: parseRow(lastLine, columns)}, nil
}

// parseRow parses a row of metrics.csv with the given columns
// between step and wall_seconds, or returns nil if line is not one. Empty
// fields are NaN.
func parseRow(line []byte, columns []string) *Row {
	fields := strings.Split(strings.TrimSpace(string(line)), ",")
	if len(fields) != len(columns)+2 {
		return nil
	}
	step, err := strconv.Atoi(fields[0])
	if err != nil {
		return nil
	}
	m := &Row{Step: step, Names: columns, Values: make([]float64, len(columns))}
	for i, f := range fields[1 : len(fields)-1] {
		m.Values[i] = math.NaN()
		if f == "" {
			continue
		}
		if m.Values[i], err = strconv.ParseFloat(f, 64); err != nil {
			return nil
		}
	}
	return m
}

// Last returns the last row kept by Open when resuming, or nil.
func (m *File) Last() *Row { return m.last }

// Write appends row, whose values are those of the columns given to Open,
// and wall, the seconds of training so far.
func (m *File) Write(row *Row, wall float64) error {
	m.w.WriteString(strconv.Itoa(row.Step))
	for _, v := range row.Values {
		m.w.WriteByte(',')
		if !math.IsNaN(v) {
			m.w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	m.w.WriteByte(',')
	m.w.WriteString(strconv.FormatFloat(wall, 'f', 3, 64))
	m.w.WriteByte('\n')
	if err := m.w.Flush(); err != nil {
		return fmt.Errorf("metrics: %s: %w", m.path, err)
	}
	return nil
}

// Close flushes m and closes its file. A nil File closes without error.
func (m *File) Close() error {
	if m == nil || m.f == nil {
		return nil
	}
	err := m.w.Flush()
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	m.f = nil
	if err != nil {
		return fmt.Errorf("metrics: %s: %w", m.path, err)
	}
	return nil
}
