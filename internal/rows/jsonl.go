package rows

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

type jsonlDecoder struct {
	name string
	lookahead
	columns []string // nil for a file of arrays
	width   int
	// nonFinite is ReadOptions.NonFinite.
	nonFinite bool
	// float32 is ReadOptions.Float32.
	float32 bool
	keys    map[string]int // column index by name, for a file of objects
	seen    []bool         // keys seen in the current object row
	first   int            // line number of the first row
}

// newJSONLDecoder reads ahead to the first row that tells the width. Bad
// rows before it go to skip, which returns an error to stop.
func newJSONLDecoder(name string, src io.Reader, width int, skip func(*rowError) error) (*jsonlDecoder, error) {
	d := &jsonlDecoder{name: name, lookahead: lookahead{lines: newLineReader(name, src, width)}}
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
		if isCut(line) {
			return nil, fmt.Errorf("%s:%d: has more than %d values, want %d", name, no, width, width)
		}
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
	line, no, err := d.nextLine()
	if err != nil {
		return err
	}
	if err := d.parse(line, dst, d.seen); err != nil {
		return d.bad(line, no, err)
	}
	return nil
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
	if isCut(line) {
		return fmt.Errorf("has more than %d values, want %d", len(dst), len(dst))
	}
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
		j := d.valueEnd(line, i)
		if j == i {
			return fmt.Errorf("column %d: %s is not a number", c+1, jsonKind(line[i]))
		}
		if c >= len(dst) {
			var values []json.RawMessage
			json.Unmarshal(line, &values)
			return fmt.Errorf("has %d columns, want %d", len(values), len(dst))
		}
		v, err := parseAny(line[i:j], d.nonFinite, d.float32)
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
		j = d.valueEnd(line, i)
		if j == i {
			return fmt.Errorf("key %q: %s is not a number", key, jsonKind(line[i]))
		}
		v, err := parseAny(line[i:j], d.nonFinite, d.float32)
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

// valueEnd returns the index just after the number that starts at line[i],
// or, with nonFinite, the string; i if there is none.
func (d *jsonlDecoder) valueEnd(line []byte, i int) int {
	if d.nonFinite && line[i] == '"' {
		return stringEnd(line, i)
	}
	return numberEnd(line, i)
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
