package rows

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// writeFile writes content to a file called name in a new temporary
// directory and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll reads all rows of r, perRead rows per Read call.
func readAll(r *Reader, perRead int) ([]float64, error) {
	buf := make([]float64, perRead*r.Width())
	var all []float64
	for {
		n, err := r.Read(buf)
		if err == io.EOF {
			return all, nil
		}
		if err != nil {
			return all, err
		}
		if n == 0 || n > perRead {
			return all, fmt.Errorf("Read returned n = %d with a buffer of %d rows", n, perRead)
		}
		all = append(all, buf[:n*r.Width()]...)
	}
}

// sameBits reports whether a and b hold the same float64 bits.
func sameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// rebase returns err's message with dir/ removed, so that messages naming
// files in a temporary directory can be compared.
func rebase(err error, dir string) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
}

func TestReadNPYGolden(t *testing.T) {
	// Written by testdata/gen_npy.py, with the values it wrote in NAME.json.
	for _, name := range []string{"f4_5x2", "f8_7", "f8_3x1x2x2", "be_f8_4x3", "i8_4x2", "f8_0x3"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				Shape  []int
				Values []float64
			}
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			wantRow := want.Shape[1:]
			if len(wantRow) == 0 {
				wantRow = []int{1}
			}

			r, err := OpenReader(filepath.Join("testdata", name+".npy"), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.RowShape(); !reflect.DeepEqual(got, wantRow) {
				t.Errorf("RowShape() = %v, want %v", got, wantRow)
			}
			if got := r.Rows(); got != want.Shape[0] {
				t.Errorf("Rows() = %d, want %d", got, want.Shape[0])
			}
			width := 1
			for _, n := range wantRow {
				width *= n
			}
			if got := r.Width(); got != width {
				t.Errorf("Width() = %d, want %d", got, width)
			}
			if got := r.Columns(); got != nil {
				t.Errorf("Columns() = %q, want nil", got)
			}
			got, err := readAll(r, 2)
			if err != nil {
				t.Fatal(err)
			}
			if want.Values == nil {
				want.Values = []float64{}
			}
			if got == nil {
				got = []float64{}
			}
			if !sameBits(got, want.Values) {
				t.Errorf("values\n got %v\nwant %v", got, want.Values)
			}
		})
	}
}

func TestReadNPYErrors(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "f8_7.npy"))
	if err != nil {
		t.Fatal(err)
	}
	// header returns an NPY v1.0 file with the given header dictionary.
	header := func(dict string) string {
		b := []byte("\x93NUMPY\x01\x00")
		dict += "\n"
		b = append(b, byte(len(dict)), byte(len(dict)>>8))
		return string(append(b, dict...))
	}
	tests := []struct {
		name    string
		path    string // a golden file, or
		content string // the file's content
		want    string
	}{
		{name: "complex", path: "testdata/c8_3.npy", want: "testdata/c8_3.npy: unsupported dtype <c8"},
		{name: "fortran", path: "testdata/fortran_3x2.npy", want: "testdata/fortran_3x2.npy: Fortran-order arrays are not supported"},
		{name: "truncated", content: string(golden[:len(golden)-9]), want: "x.npy: truncated: header says 7 rows, file holds 5"},
		{name: "truncated header", content: string(golden[:50]), want: "x.npy: truncated NPY header"},
		{name: "empty", content: "", want: "x.npy: truncated NPY header"},
		{name: "not npy", content: "x,y\n1,2\n3,4\n", want: "x.npy: not an NPY file"},
		{name: "version 3", content: "\x93NUMPY\x03\x00\x00\x00\x00\x00", want: "x.npy: unsupported NPY format version 3.0"},
		{name: "huge v2 header", content: "\x93NUMPY\x02\x00\xff\xff\xff\xff", want: "x.npy: NPY header of 4294967295 bytes is too long"},
		{name: "scalar", content: header("{'descr': '<f8', 'fortran_order': False, 'shape': (), }") + "\x00\x00\x00\x00\x00\x00\x00\x00", want: "x.npy: holds a scalar"},
		{name: "bool", content: header("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }") + "\x00\x01", want: "x.npy: unsupported dtype |b1"},
		{name: "string", content: header("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }") + strings.Repeat("\x00", 12), want: "x.npy: unsupported dtype <U3"},
		{name: "empty rows", content: header("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 0), }"), want: "x.npy: rows of shape [0] hold no values"},
		{name: "huge rows", content: header("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 4000000000), }"), want: "x.npy: rows of shape [4000000000] are too large"},
		{name: "negative shape", content: header("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 2), }"), want: "x.npy: bad NPY header: negative shape"},
		{name: "no newline", content: "\x93NUMPY\x01\x00\x04\x00abcd", want: "x.npy: bad NPY header: cannot parse \"abcd\""},
		{name: "keys out of order", content: header("{'shape': (2,), 'fortran_order': False, 'descr': '<f8', }") + strings.Repeat("\x00", 16), want: "x.npy: bad NPY header"},
		{name: "bad dict", content: header("{}"), want: "x.npy: bad NPY header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = writeFile(t, "x.npy", tt.content)
			}
			r, err := OpenReader(path, ReadOptions{SkipBadRows: true})
			if err == nil {
				r.Close()
				t.Fatalf("OpenReader succeeded, want error %q", tt.want)
			}
			got := err.Error()
			if tt.path == "" {
				got = rebase(err, filepath.Dir(path))
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("error %q, want it to start with %q", got, tt.want)
			}
		})
	}
}

// TestReadNPYTruncatedStream checks truncation found while reading, as
// with a pipe, whose size is not known up front.
func TestReadNPYTruncatedStream(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "f8_7.npy"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := newReader("x.npy", bytes.NewReader(golden[:len(golden)-12]), -1, formatNPY, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(r, 4)
	const want = "x.npy: truncated: header says 7 rows, file holds 5"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if len(got) != 5 {
		t.Errorf("read %d rows before the error, want 5", len(got))
	}
}

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name    string
		content string
		columns []string
		width   int // if no columns
		want    []float64
	}{
		{name: "header", content: "x,y\n1,2\n3,4\n", columns: []string{"x", "y"}, want: []float64{1, 2, 3, 4}},
		{name: "no header", content: "1,2\n3,4\n", width: 2, want: []float64{1, 2, 3, 4}},
		{name: "no final newline", content: "1,2\n3,4", width: 2, want: []float64{1, 2, 3, 4}},
		{name: "blank lines", content: "\n1,2\n\n  \n3,4\n\n\n", width: 2, want: []float64{1, 2, 3, 4}},
		{name: "crlf and bom", content: "\ufeffa,b\r\n1,2\r\n3,4\r\n", columns: []string{"a", "b"}, want: []float64{1, 2, 3, 4}},
		{name: "spaces and quotes", content: `"a", "b,c"` + "\n 1 ,\t\"2\"\n", columns: []string{"a", "b,c"}, want: []float64{1, 2}},
		{name: "one column", content: "e\n-1.5\n2e3\n", columns: []string{"e"}, want: []float64{-1.5, 2000}},
		{name: "header with empty name", content: ",x\n0,1\n", columns: []string{"", "x"}, want: []float64{0, 1}},
		{name: "numeric forms", content: "-0,+1.5e-3,2.5E+2,.5,7.\n", width: 5, want: []float64{math.Copysign(0, -1), 0.0015, 250, 0.5, 7}},
		{name: "header only", content: "x,y\n", columns: []string{"x", "y"}},
	}
	for _, tt := range tests {
		forEachConfig(t, tt.name, func(t *testing.T, workers int) {
			r, err := OpenReader(writeFile(t, "x.csv", tt.content), ReadOptions{Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Columns(); !reflect.DeepEqual(got, tt.columns) {
				t.Errorf("Columns() = %q, want %q", got, tt.columns)
			}
			width := tt.width
			if tt.columns != nil {
				width = len(tt.columns)
			}
			if got := r.RowShape(); !reflect.DeepEqual(got, []int{width}) {
				t.Errorf("RowShape() = %v, want [%d]", got, width)
			}
			if got := r.Rows(); got != -1 {
				t.Errorf("Rows() = %d, want -1", got)
			}
			got, err := readAll(r, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !sameBits(got, tt.want) {
				t.Errorf("values %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadJSONL(t *testing.T) {
	tests := []struct {
		name    string
		content string
		columns []string
		want    []float64
	}{
		{name: "arrays", content: "[0.5, -1.2]\n[3,4]\n", want: []float64{0.5, -1.2, 3, 4}},
		{name: "blank lines", content: "\n[1]\n  \n[2]\n\n", want: []float64{1, 2}},
		{name: "crlf and spaces", content: " [ 1 , 2 ] \r\n[3,4]\r\n", want: []float64{1, 2, 3, 4}},
		{name: "objects", content: `{"energy": -1.2, "log_density": 0.3}` + "\n" + `{"log_density": 4, "energy": 5}` + "\n",
			columns: []string{"energy", "log_density"}, want: []float64{-1.2, 0.3, 5, 4}},
		{name: "escaped keys", content: `{"a\"b": 1, "\u00e9": 2}` + "\n" + `{"\u00e9": 3, "a\"b": 4}` + "\n",
			columns: []string{`a"b`, "é"}, want: []float64{1, 2, 4, 3}},
		{name: "big numbers", content: "[1e308, -2.5e-308, 12345678901234567890]\n", want: []float64{1e308, -2.5e-308, 12345678901234567890}},
	}
	for _, tt := range tests {
		forEachConfig(t, tt.name, func(t *testing.T, workers int) {
			r, err := OpenReader(writeFile(t, "x.JSONL", tt.content), ReadOptions{Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Columns(); !reflect.DeepEqual(got, tt.columns) {
				t.Errorf("Columns() = %q, want %q", got, tt.columns)
			}
			got, err := readAll(r, 3)
			if err != nil {
				t.Fatal(err)
			}
			if !sameBits(got, tt.want) {
				t.Errorf("values %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadBadRows(t *testing.T) {
	type bad struct {
		line int
		text string
		err  string
	}
	tests := []struct {
		name    string
		file    string
		content string
		bad     []bad     // in order; the first one is the error without SkipBadRows
		want    []float64 // the good rows
	}{
		{
			name: "csv", file: "data.csv",
			content: "a,b\n1,2\n3,abc\n\n5,6,7\n7\nNaN,8\n9,-inf\n1e999,1\n10,\n\"x\",1\n11,12\n",
			bad: []bad{
				{3, "3,abc", `data.csv:3: column 2: "abc" is not a number`},
				{5, "5,6,7", "data.csv:5: has 3 columns, but the header (line 1) names 2"},
				{6, "7", "data.csv:6: has 1 columns, but the header (line 1) names 2"},
				{7, "NaN,8", "data.csv:7: column 1: NaN is not allowed"},
				{8, "9,-inf", "data.csv:8: column 2: -Inf is not allowed"},
				{9, "1e999,1", `data.csv:9: column 1: "1e999" is out of range`},
				{10, "10,", "data.csv:10: column 2: empty value"},
				{11, `"x",1`, `data.csv:11: column 1: "x" is not a number`},
			},
			want: []float64{1, 2, 11, 12},
		},
		{
			name: "csv first row", file: "data.csv",
			content: "nan,1\n2,3\n",
			bad:     []bad{{1, "nan,1", "data.csv:1: column 1: NaN is not allowed"}},
			want:    []float64{2, 3},
		},
		{
			name: "jsonl arrays", file: "data.jsonl",
			content: "{oops\n[1, 2]\n[1, 2, 3]\n[\"a\", 2]\n[1, null]\n[[1], 2]\n{\"a\": 1}\n5\n[1e400, 0]\n[]\n[3, 4]\n[1, 2] [3]\n",
			bad: []bad{
				{1, "{oops", "data.jsonl:1: invalid JSON: invalid character 'o' looking for beginning of object key string"},
				{3, "[1, 2, 3]", "data.jsonl:3: has 3 columns, want 2"},
				{4, `["a", 2]`, "data.jsonl:4: column 1: a string is not a number"},
				{5, "[1, null]", "data.jsonl:5: column 2: null is not a number"},
				{6, "[[1], 2]", "data.jsonl:6: column 1: an array is not a number"},
				{7, `{"a": 1}`, "data.jsonl:7: got an object, want an array like line 2"},
				{8, "5", "data.jsonl:8: got a number, want an array like line 2"},
				{9, "[1e400, 0]", `data.jsonl:9: column 1: "1e400" is out of range`},
				{10, "[]", "data.jsonl:10: has 0 columns, want 2"},
				{12, "[1, 2] [3]", "data.jsonl:12: invalid JSON: invalid character '[' after top-level value"},
			},
			want: []float64{1, 2, 3, 4},
		},
		{
			name: "jsonl objects", file: "data.jsonl",
			content: `{"x": 1, "y": 2}` + "\n" + `{"x": 1}` + "\n" + `{"x": 1, "y": 2, "z": 3}` + "\n" +
				`{"x": 1, "x": 2, "y": 3}` + "\n" + `{"x": true, "y": 2}` + "\n" + "[1, 2]\n" + `{"y": 4, "x": 3}` + "\n",
			bad: []bad{
				{2, `{"x": 1}`, `data.jsonl:2: missing key "y"`},
				{3, `{"x": 1, "y": 2, "z": 3}`, `data.jsonl:3: unexpected key "z"`},
				{4, `{"x": 1, "x": 2, "y": 3}`, `data.jsonl:4: duplicate key "x"`},
				{5, `{"x": true, "y": 2}`, `data.jsonl:5: key "x": a boolean is not a number`},
				{6, "[1, 2]", "data.jsonl:6: got an array, want an object like line 1"},
			},
			want: []float64{1, 2, 3, 4},
		},
		{
			// Bad rows before the first good one are found by OpenReader.
			name: "jsonl bad first rows", file: "data.jsonl",
			content: "not json\n[]\n{}\n\"x\"\n[1]\n",
			bad: []bad{
				{1, "not json", "data.jsonl:1: invalid JSON: invalid character 'o' in literal null (expecting 'u')"},
				{2, "[]", "data.jsonl:2: empty array"},
				{3, "{}", "data.jsonl:3: empty object"},
				{4, `"x"`, "data.jsonl:4: want a JSON array or object"},
			},
			want: []float64{1},
		},
	}
	for _, tt := range tests {
		forEachConfig(t, tt.name, func(t *testing.T, workers int) {
			path := writeFile(t, tt.file, tt.content)
			dir := filepath.Dir(path)

			// Without SkipBadRows, the first bad row stops the Reader, after
			// the good rows before it.
			var got []float64
			r, err := OpenReader(path, ReadOptions{Workers: workers})
			if err == nil {
				got, err = readAll(r, 10)
				r.Close()
			}
			if msg := rebase(err, dir); msg != tt.bad[0].err {
				t.Errorf("without SkipBadRows: error %q, want %q", msg, tt.bad[0].err)
			}
			for i, b := range tt.bad[1:] {
				if b.line < tt.bad[0].line {
					t.Fatalf("bad rows out of order at %d", i)
				}
			}

			// With SkipBadRows, every bad row goes to Reject.
			var rejected []bad
			opt := ReadOptions{SkipBadRows: true, Workers: workers, Reject: func(b BadRow) {
				rejected = append(rejected, bad{b.Line, b.Text, rebase(b.Err, dir)})
			}}
			r, err = OpenReader(path, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err = readAll(r, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !sameBits(got, tt.want) {
				t.Errorf("good rows %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(rejected, tt.bad) {
				t.Errorf("rejected rows:\n%s\nwant:\n%s", fmtBad(rejected), fmtBad(tt.bad))
			}
		})
	}
}

func fmtBad[T any](rows []T) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "\t%+v\n", r)
	}
	return b.String()
}

func TestReadNPYBadRows(t *testing.T) {
	// f8 (2, 1, 2) with a NaN and an Inf, little-endian.
	nan, inf := math.NaN(), math.Inf(1)
	var content bytes.Buffer
	hdr := "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 2), }"
	content.WriteString("\x93NUMPY\x01\x00")
	content.WriteByte(byte(len(hdr) + 1))
	content.WriteByte(0)
	content.WriteString(hdr + "\n")
	for _, v := range []float32{1, 2, 3, float32(nan), float32(-inf), 6} {
		bits := math.Float32bits(v)
		content.Write([]byte{byte(bits), byte(bits >> 8), byte(bits >> 16), byte(bits >> 24)})
	}
	path := writeFile(t, "x.npy", content.String())
	dir := filepath.Dir(path)

	r, err := OpenReader(path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(r, 3)
	r.Close()
	const want = "x.npy: row 1: element [1, 0, 1]: NaN is not allowed"
	if msg := rebase(err, dir); msg != want {
		t.Errorf("error %q, want %q", msg, want)
	}
	if !sameBits(got, []float64{1, 2}) {
		t.Errorf("rows before the error %v, want [1 2]", got)
	}

	var rejected []BadRow
	r, err = OpenReader(path, ReadOptions{SkipBadRows: true, Reject: func(b BadRow) { rejected = append(rejected, b) }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err = readAll(r, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(got, []float64{1, 2}) {
		t.Errorf("good rows %v, want [1 2]", got)
	}
	if len(rejected) != 2 {
		t.Fatalf("rejected %d rows, want 2", len(rejected))
	}
	for i, w := range []struct {
		line int
		text string
		err  string
	}{
		{1, "3,NaN", "x.npy: row 1: element [1, 0, 1]: NaN is not allowed"},
		{2, "-Inf,6", "x.npy: row 2: element [2, 0, 0]: -Inf is not allowed"},
	} {
		b := rejected[i]
		if b.Line != w.line || b.Text != w.text || rebase(b.Err, dir) != w.err {
			t.Errorf("rejected[%d] = {%d %q %q}, want {%d %q %q}", i, b.Line, b.Text, rebase(b.Err, dir), w.line, w.text, w.err)
		}
	}
}

func TestOpenReaderErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"x.csv", "", "x.csv: no data rows"},
		{"x.csv", "\n \r\n\n", "x.csv: no data rows"},
		{"x.jsonl", "", "x.jsonl: no data rows"},
		{"x.jsonl", "\n\n", "x.jsonl: no data rows"},
		{"x.txt", "1,2\n", `x.txt: unsupported file extension ".txt" (supported: .csv, .jsonl, .npy)`},
		{"x", "1,2\n", "x: no file extension to tell the format (supported: .csv, .jsonl, .npy)"},
	}
	for _, tt := range tests {
		forEachConfig(t, tt.name, func(t *testing.T, workers int) {
			path := writeFile(t, tt.name, tt.content)
			r, err := OpenReader(path, ReadOptions{SkipBadRows: true, Workers: workers})
			if err == nil {
				r.Close()
				t.Fatalf("OpenReader succeeded, want error %q", tt.want)
			}
			if msg := rebase(err, filepath.Dir(path)); msg != tt.want {
				t.Errorf("error %q, want %q", msg, tt.want)
			}
		})
	}
	if _, err := OpenReader(filepath.Join(t.TempDir(), "missing.csv"), ReadOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v, want one that is os.ErrNotExist", err)
	}
}

func TestReadLongLines(t *testing.T) {
	defer func(n int) { maxLineBytes = n }(maxLineBytes)
	maxLineBytes = 200 << 10 // longer than the read buffer

	forEachConfig(t, "", func(t *testing.T, workers int) {
		// Lines longer than the read buffer but within the bound are read.
		long := strings.Repeat("1,", 50<<10) + "1\n"
		r, err := OpenReader(writeFile(t, "x.csv", long+long), ReadOptions{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(r, 1)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2*(50<<10+1) {
			t.Errorf("read %d values, want %d", len(got), 2*(50<<10+1))
		}

		// A longer line stops the Reader.
		path := writeFile(t, "x.jsonl", "[1]\n"+strings.Repeat(" ", maxLineBytes+1))
		r, err = OpenReader(path, ReadOptions{SkipBadRows: true, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		_, err = readAll(r, 4)
		want := fmt.Sprintf("x.jsonl:2: line longer than %d bytes", maxLineBytes)
		if msg := rebase(err, filepath.Dir(path)); msg != want {
			t.Errorf("error %q, want %q", msg, want)
		}
	})
}

func TestReadEmpty(t *testing.T) {
	forEachConfig(t, "", func(t *testing.T, workers int) {
		for _, path := range []string{
			writeFile(t, "x.csv", "x,y,z\n\n"),
			filepath.Join("testdata", "f8_0x3.npy"),
		} {
			r, err := OpenReader(path, ReadOptions{Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			if w := r.Width(); w != 3 {
				t.Errorf("%s: Width() = %d, want 3", path, w)
			}
			buf := make([]float64, 3)
			for range 2 {
				if n, err := r.Read(buf); n != 0 || err != io.EOF {
					t.Errorf("%s: Read = %d, %v, want 0, EOF", path, n, err)
				}
			}
			r.Close()
		}
	})
}

func TestReadMisuse(t *testing.T) {
	forEachConfig(t, "", func(t *testing.T, workers int) {
		r, err := OpenReader(writeFile(t, "x.csv", "1,2,3\n4,5,6\n"), ReadOptions{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := r.Read(make([]float64, 2)); n != 0 || err == nil {
			t.Errorf("Read into a buffer shorter than a row = %d, %v, want an error", n, err)
		}
		// A buffer of 7 values holds 2 rows of 3; the rest is unused.
		buf := make([]float64, 7)
		buf[6] = 42
		if n, err := r.Read(buf); n != 2 || err != nil || !sameBits(buf, []float64{1, 2, 3, 4, 5, 6, 42}) {
			t.Errorf("Read = %d, %v, %v, want 2, nil, [1 2 3 4 5 6 42]", n, err, buf)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(buf); err == nil || err == io.EOF {
			t.Errorf("Read after Close: error %v, want one", err)
		}
	})
}

// TestReadStreaming reads a large CSV file a few rows at a time.
func TestReadStreaming(t *testing.T) {
	const rows = 200_000
	path := filepath.Join(t.TempDir(), "big.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	fmt.Fprintln(bw, "i,x")
	for i := range rows {
		fmt.Fprintf(bw, "%d,%g\n", i, float64(i)*0.5-3)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	forEachConfig(t, "", func(t *testing.T, workers int) {
		r, err := OpenReader(path, ReadOptions{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		buf := make([]float64, 7*2)
		next := 0
		for {
			n, err := r.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for k := range n {
				i, x := buf[2*k], buf[2*k+1]
				if i != float64(next) || x != float64(next)*0.5-3 {
					t.Fatalf("row %d = [%g %g], want [%d %g]", next, i, x, next, float64(next)*0.5-3)
				}
				next++
			}
		}
		if next != rows {
			t.Errorf("read %d rows, want %d", next, rows)
		}
	})
}

// TestReadCSVAllocs checks that reading CSV rows does not allocate per row.
func TestReadCSVAllocs(t *testing.T) {
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, "%d,%g\n", i, float64(i)/7)
	}
	forEachConfig(t, "", func(t *testing.T, workers int) {
		r, err := newReader("x.csv", strings.NewReader(b.String()), -1, formatCSV, ReadOptions{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		// Warm up: workers grow the buffers of the chunks they reuse.
		if _, err := r.Read(make([]float64, 2*100)); err != nil {
			t.Fatal(err)
		}
		buf := make([]float64, 2*10)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := r.Read(buf); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 {
			t.Errorf("Read of 10 rows made %v allocations, want 0", allocs)
		}
	})
}

// benchFile writes a file of rows rows of cols columns, in the format its
// name tells.
func benchFile(b *testing.B, name string, rows, cols int) string {
	path := filepath.Join(b.TempDir(), name)
	columns := make([]string, cols)
	for j := range columns {
		columns[j] = fmt.Sprintf("x%d", j)
	}
	w, err := CreateWriter(path, columns)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Abort()
	row := make([]float64, cols)
	for i := range rows {
		for j := range row {
			row[j] = float64(i)*0.001 - 17 + 1/float64(i+j+1)
		}
		if err := w.Write(row); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchmarkRead reads files of 200,000 rows of 2 and 16 columns, in the
// format that ext tells, with each number of workers.
func benchmarkRead(b *testing.B, ext string, workers ...int) {
	const rows = 200_000
	for _, cols := range []int{2, 16} {
		path := benchFile(b, "bench"+ext, rows, cols)
		for _, nw := range workers {
			b.Run(fmt.Sprintf("cols=%d/workers=%d", cols, nw), func(b *testing.B) {
				buf := make([]float64, cols*1024)
				for b.Loop() {
					r, err := OpenReader(path, ReadOptions{Workers: nw})
					if err != nil {
						b.Fatal(err)
					}
					got := 0
					for {
						n, err := r.Read(buf)
						if err == io.EOF {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
						got += n
					}
					r.Close()
					if got != rows {
						b.Fatalf("read %d rows, want %d", got, rows)
					}
				}
				b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

func BenchmarkReadCSV(b *testing.B)   { benchmarkRead(b, ".csv", 1, 2, 4) }
func BenchmarkReadJSONL(b *testing.B) { benchmarkRead(b, ".jsonl", 1, 2, 4) }
func BenchmarkReadNPY(b *testing.B)   { benchmarkRead(b, ".npy", 1) }

// readEvents reads all of src as a file called name, Read by Read with a
// buffer of perRead rows, checks what it gets, and returns what happened,
// one event a string: the rows of each Read, each rejected row and the
// error that stopped reading, or the error of newReader. It checks that
// errors name the file, that Read returns between 1 and perRead rows and
// no NaN or ±Inf, and that the error that stops the Reader sticks.
func readEvents(t *testing.T, name string, ft format, src io.Reader, size int64, opt ReadOptions, perRead int) []string {
	var events []string
	opt.Reject = func(b BadRow) {
		if b.Err == nil || !strings.HasPrefix(b.Err.Error(), name) {
			t.Fatalf("bad row %d: error %v does not name the file", b.Line, b.Err)
		}
		events = append(events, fmt.Sprintf("reject %d %q: %v", b.Line, b.Text, b.Err))
	}
	r, err := newReader(name, src, size, ft, opt)
	if err != nil {
		if !strings.HasPrefix(err.Error(), name) {
			t.Fatalf("OpenReader error %q does not name the file", err)
		}
		return append(events, "open: "+err.Error())
	}
	defer r.Close()
	width := 1
	for _, n := range r.RowShape() {
		width *= n
	}
	if width != r.Width() || width < 1 {
		t.Fatalf("Width() = %d, RowShape() = %v", r.Width(), r.RowShape())
	}
	if width > 1<<16 {
		return append(events, "too wide") // a large buffer would slow fuzzing down
	}
	buf := make([]float64, perRead*width)
	total := 0
	for {
		n, err := r.Read(buf)
		if err != nil {
			if err != io.EOF && !strings.HasPrefix(err.Error(), name) {
				t.Fatalf("Read error %q does not name the file", err)
			}
			if n2, err2 := r.Read(buf); n2 != 0 || err2 != err {
				t.Fatalf("Read after error %q = %d, %v, want the same error", err, n2, err2)
			}
			events = append(events, "stop: "+err.Error())
			break
		}
		if n < 1 || n > perRead {
			t.Fatalf("Read returned %d rows into a buffer of %d", n, perRead)
		}
		for _, v := range buf[:n*width] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("Read returned %v", v)
			}
		}
		events = append(events, fmt.Sprintf("read %d: %v", n, buf[:n*width]))
		total += n
	}
	if r.Rows() >= 0 && total > r.Rows() {
		t.Fatalf("read %d rows, Rows() = %d", total, r.Rows())
	}
	return events
}

// fuzzRead reads all of content as a file called name, with and without
// SkipBadRows, serially and with workers decoding chunks of a few lines,
// and checks that both get the same.
func fuzzRead(t *testing.T, name string, ft format, content []byte) {
	defer func(n int) { chunkLines = n }(chunkLines)
	for _, skip := range []bool{false, true} {
		read := func(workers int) []string {
			opt := ReadOptions{SkipBadRows: skip, Workers: workers}
			return readEvents(t, name, ft, bytes.NewReader(content), int64(len(content)), opt, 3)
		}
		want := read(1)
		for _, lines := range []int{1, 2, 3, 4096} {
			chunkLines = lines
			if got := read(4); !slices.Equal(got, want) {
				t.Fatalf("SkipBadRows %v, chunks of %d lines: 4 workers read\n%s\nwant (1 worker)\n%s",
					skip, lines, fmtBad(got), fmtBad(want))
			}
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"x,y\n1,2\n3,4\n",
		"1,2\n3,4",
		"\ufeff\"a\",\"b,c\"\r\n1,2\r\n",
		"a,b\n1,NaN\n,\n1,2,3\n\n",
		"1e999,-0,0x1p3,inf\n",
		"a,b\n1,2\nx,3\n4,5\n\n6\n7,8\n\n9,nan\n10,11\n,\n12,13",
		"\"",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		fuzzRead(t, "x.csv", formatCSV, content)
	})
}

func FuzzReadJSONL(f *testing.F) {
	for _, s := range []string{
		"[0.5, -1.2]\n[3, 4]\n",
		`{"a": 1, "b": 2}` + "\n" + `{"b": 3, "a": 4}` + "\n",
		`{"a\"": 1, "\u00e9": [2]}` + "\n" + `{"a": 1}` + "\n[1]\n",
		"[1e400]\n[]\n{}\nnull\n[1, [2]]\n",
		"[1] [2]\n{\"a\":\n",
		"[1, 2]\n[x]\n\n[3, 4]\n[5]\n[6, 7]\n{}\n\n[8, 9]\n[1e999, 1]\n[10, 11]",
		`{"a": 1}` + "\n" + `{"b": 2}` + "\n" + `{"a": 3}` + "\n\n" + `{"a": 4, "a": 5}` + "\n" + `{"a": 6}`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		fuzzRead(t, "x.jsonl", formatJSONL, content)
	})
}

func FuzzReadNPY(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.npy"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range names {
		content, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(content)
	}
	hdr, err := npyHeader(2, 2)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append(hdr, make([]byte, 32)...))
	f.Add([]byte("\x93NUMPY\x01\x00\x04\x00abcd"))
	f.Add([]byte("\x93NUMPY\x02\x00\x10\x00\x00\x00{'descr': '<i2',"))
	f.Fuzz(func(t *testing.T, content []byte) {
		fuzzRead(t, "x.npy", formatNPY, content)
	})
}

// TestParseValueErrors pins the messages for bad values.
func TestParseValueErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"abc", `"abc" is not a number`},
		{"  ", "empty value"},
		{`""`, "empty value"},
		{"nan", "NaN is not allowed"},
		{"+Infinity", "+Inf is not allowed"},
		{"-1e309", `"-1e309" is out of range`},
		{strings.Repeat("9", 50) + "x", strconv.Quote(strings.Repeat("9", 40)) + "... is not a number"},
	} {
		_, err := parseValue([]byte(tt.in))
		if err == nil || err.Error() != tt.want {
			t.Errorf("parseValue(%q): error %v, want %q", tt.in, err, tt.want)
		}
	}
}
