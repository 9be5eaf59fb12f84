package rows

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecimalOnly checks that a cell is a number only in decimal: Go's
// other spellings are not numbers, and NaN and ±Inf are numbers refused
// as not finite.
func TestDecimalOnly(t *testing.T) {
	tests := []struct {
		cell string
		want string // the error, or "" for a number
	}{
		{"1", ""}, {"-0", ""}, {"+1.5e-3", ""}, {".5", ""}, {"7.", ""}, {"2E+2", ""}, {` "3" `, ""},
		{"0x10", `"0x10" is not a number`},
		{"1_000", `"1_000" is not a number`},
		{"0x1p-2", `"0x1p-2" is not a number`},
		{"0b101", `"0b101" is not a number`},
		{"0o17", `"0o17" is not a number`},
		{"1e", `"1e" is not a number`},
		{".", `"." is not a number`},
		{"+", `"+" is not a number`},
		{"1e+", `"1e+" is not a number`},
		{"--1", `"--1" is not a number`},
		{"1e999", `"1e999" is out of range`},
		{"NaN", "NaN is not allowed"},
		{"nan", "NaN is not allowed"},
		{"-Inf", "-Inf is not allowed"},
		{"infinity", "+Inf is not allowed"},
	}
	for _, tt := range tests {
		_, err := parseValue([]byte(tt.cell))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("parseValue(%q): error %q, want %q", tt.cell, got, tt.want)
		}
	}
}

// TestHeaderNotice checks that a first line holding numbers, or cells
// that start like numbers, is read as a header with a notice, and a line
// of names without one; and that a header's width is reported as the
// header's.
func TestHeaderNotice(t *testing.T) {
	tests := []struct {
		name, content string
		notice        string // "" for none
		err           string // error of OpenReader, "" for none
		rows          int
	}{
		{"hex", "0x10,0\n1,2\n", `x.csv: line 1, "0x10,0", is read as a header of column names, not as data: "0x10" is not a decimal number`, "", 1},
		{"underscore", "1_000,2\n1,2\n", `"1_000" is not a decimal number`, "", 1},
		{"names", "x0,x1\n1,2\n", "", "", 1},
		{"no-header", "1,2\n3,4\n", "", "", 2},
		{"header-wider", "a,b,c\n1,2\n", "", "x.csv:2: has 2 columns, but the header (line 1) names 3", 0},
		{"header-narrower", "a\n\n1,2\n", "", "x.csv:3: has 2 columns, but the header (line 1) names 1", 0},
	}
	for _, tt := range tests {
		forEachConfig(t, tt.name, func(t *testing.T, workers int) {
			path := writeFile(t, "x.csv", tt.content)
			var notices []string
			r, err := OpenReader(path, ReadOptions{Workers: workers, Notice: func(m string) { notices = append(notices, m) }})
			if msg := rebase(err, filepath.Dir(path)); msg != tt.err {
				t.Fatalf("error %q, want %q", msg, tt.err)
			}
			if err != nil {
				return
			}
			defer r.Close()
			got, err := readAll(r, 3)
			if err != nil || len(got) != tt.rows*r.Width() {
				t.Errorf("read %v, %v; want %d rows", got, err, tt.rows)
			}
			switch {
			case tt.notice == "" && len(notices) > 0:
				t.Errorf("notices %q, want none", notices)
			case tt.notice != "" && (len(notices) != 1 || !strings.Contains(rebase(fmt.Errorf("%s", notices[0]), filepath.Dir(path)), tt.notice)):
				t.Errorf("notices %q, want one holding %q", notices, tt.notice)
			}
		})
	}
}

// TestWidthCut checks that with ReadOptions.Width a line of many more
// values is read only up to the width: a bad row that holds no more than
// a buffer's worth of the line in memory, after which reading goes on.
func TestWidthCut(t *testing.T) {
	long := strings.Repeat("1,", 500_000) + "1" // 1 MB, 500 001 values
	for _, tt := range []struct{ file, content, bad, open string }{
		{"x.csv", "a,b\n1,2\n" + long + "\n3,4\n", "x.csv:3: has more than 2 columns, but the header (line 1) names 2", ""},
		{"x.csv", "1,2\n" + long + "\n3,4\n", "x.csv:2: has more than 2 columns, want 2", ""},
		{"x.jsonl", "[1,2]\n[" + long + "]\n[3,4]\n", "x.jsonl:2: has more than 2 values, want 2", ""},
		{"x.csv", long + "\n1,2\n", "", "x.csv:1: has more than 2 columns, want 2"},
		{"x.jsonl", "[" + long + "]\n", "", "x.jsonl:1: has more than 2 values, want 2"},
	} {
		forEachConfig(t, tt.file, func(t *testing.T, workers int) {
			path := writeFile(t, tt.file, tt.content)
			var rejected []string
			r, err := OpenReader(path, ReadOptions{Workers: workers, Width: 2, SkipBadRows: true, Reject: func(b BadRow) {
				rejected = append(rejected, rebase(b.Err, filepath.Dir(path)))
				if len(b.Text) > 70<<10 {
					t.Errorf("the bad row's text holds %d bytes", len(b.Text))
				}
			}})
			if msg := rebase(err, filepath.Dir(path)); msg != tt.open {
				t.Fatalf("OpenReader: error %q, want %q", msg, tt.open)
			}
			if err != nil {
				return
			}
			defer r.Close()
			got, err := readAll(r, 2)
			if err != nil || len(got) != 4 {
				t.Errorf("read %v, %v; want the rows 1,2 and 3,4", got, err)
			}
			if len(rejected) != 1 || rejected[0] != tt.bad {
				t.Errorf("rejected %q, want %q", rejected, tt.bad)
			}
		})
	}
}

// TestFormatFor checks how the format of a path is chosen: by its
// extension, else by the format named, else CSV for standard input or
// output.
func TestFormatFor(t *testing.T) {
	tests := []struct {
		path, name string
		want       format
		err        string
	}{
		{"a.csv", "", formatCSV, ""},
		{"a.NPY", "jsonl", formatNPY, ""}, // the extension decides
		{"-", "", formatCSV, ""},
		{"-", "jsonl", formatJSONL, ""},
		{"-", "npy", formatNPY, ""},
		{"rows", "npy", formatNPY, ""},
		{"rows", "", 0, "rows: no file extension to tell the format"},
		{"-", "xlsx", 0, `-: unknown format "xlsx"`},
		{"a.txt", "csv", 0, `a.txt: unsupported file extension ".txt"`},
	}
	for _, tt := range tests {
		got, err := formatFor(tt.path, tt.name)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("formatFor(%q, %q) = %v, %v; want %v, %q", tt.path, tt.name, got, err, tt.want, tt.err)
		}
	}
	if _, err := CreateWriterFormat(Stdio, "npy", nil, 2); err == nil {
		t.Error("NPY to standard output: no error")
	}
}
