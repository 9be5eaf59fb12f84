package rows

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestReadOptionsCheck(t *testing.T) {
	cases := []struct {
		name string
		opt  ReadOptions
		want string // the error's text, lines joined by "; "
	}{
		{"default", DefaultReadOptions(), ""},
		{"set", ReadOptions{Workers: 4, Width: 2, Format: "jsonl"}, ""},
		{"bad", ReadOptions{Workers: -1, Width: -2, Format: "xls"}, `Workers -1: must be at least 0; Width -2: must be at least 0; Format "xls": want csv, jsonl or npy`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ""
			if err := c.opt.Check(); err != nil {
				got = strings.ReplaceAll(err.Error(), "\n", "; ")
			}
			if got != c.want {
				t.Errorf("Check = %q, want %q", got, c.want)
			}
			if c.want == "" {
				return
			}
			if _, err := NewReader(strings.NewReader("1,2\n"), "x.csv", c.opt); err == nil || !strings.Contains(err.Error(), "must be at least 0") {
				t.Errorf("NewReader with bad options: error %v", err)
			}
		})
	}
}

// TestReadFloat32 checks that with Float32 a row holding a value beyond
// float32's range is bad, reported by its file line, and that without it
// the value is read.
func TestReadFloat32(t *testing.T) {
	cases := []struct {
		name, text string
		float32    bool
		want       string // the bad row's line and error, or the values read
	}{
		{"a.csv", "x,y\n1,2\n\n1e39,0\n", true, `4: a.csv:4: column 1: 1e+39 is beyond the range of float32, the model's input type`},
		{"a.csv", "x,y\n1,2\n\n1e39,0\n", false, "[1 2 1e+39 0]"},
		{"a.jsonl", "[1,2]\n[0,-1e39]\n", true, `2: a.jsonl:2: column 2: -1e+39 is beyond the range of float32, the model's input type`},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.name, c.float32), func(t *testing.T) {
			var bad []string
			opt := ReadOptions{Float32: c.float32, SkipBadRows: true, Reject: func(b BadRow) { bad = append(bad, fmt.Sprintf("%d: %v", b.Line, b.Err)) }}
			r, err := NewReader(strings.NewReader(c.text), c.name, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			dst := make([]float64, 8)
			n, err := r.Read(dst)
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			got := strings.Join(bad, "; ")
			if !c.float32 {
				got = fmt.Sprint(dst[:2*n])
			}
			if got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}
