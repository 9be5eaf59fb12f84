package rows

import (
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
