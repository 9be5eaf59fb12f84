package metrics

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// A Table is a metrics file read whole: its header and columns of values,
// NaN where a cell is empty.
type Table struct {
	Names []string    // the header: column names
	Cols  [][]float64 // parallel to Names, one value per row
}

// Read reads a metrics file, or any CSV file of numbers with a header line.
func Read(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file; want a header line and rows", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t := &Table{Names: header, Cols: make([][]float64, len(header))}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("%s:%d: %d cells, but the header names %d columns", path, line, len(rec), len(header))
		}
		for j, cell := range rec {
			v := math.NaN()
			if s := strings.TrimSpace(cell); s != "" {
				if v, err = strconv.ParseFloat(s, 64); err != nil {
					return nil, fmt.Errorf("%s:%d: column %q: %q is not a number", path, line, header[j], cell)
				}
			}
			t.Cols[j] = append(t.Cols[j], v)
		}
	}
	if len(t.Cols) == 0 || len(t.Cols[0]) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return t, nil
}

// Column returns the values of the column name, or nil if t has none.
func (t *Table) Column(name string) []float64 {
	for j, n := range t.Names {
		if n == name {
			return t.Cols[j]
		}
	}
	return nil
}
