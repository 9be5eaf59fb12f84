package mlp_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/onnx/mlp"
)

func TestParse(t *testing.T) {
	cases := []struct {
		spec  string
		sizes []int
		act   string
		err   string
	}{
		{spec: "mlp:2-100-100-1", sizes: []int{2, 100, 100, 1}, act: "prelu"},
		{spec: "mlp:2-2:silu", sizes: []int{2, 2}, act: "silu"},
		{spec: "mlp:3-8-2:TANH", sizes: []int{3, 8, 2}, act: "tanh"},
		{spec: "mlp:2", err: "at least an input and an output"},
		{spec: "mlp:2-0-1", err: `width "0"`},
		{spec: "mlp:2-x-1", err: `width "x"`},
		{spec: "mlp:2--1", err: `width ""`},
		{spec: "mlp:2-4-1:swish", err: `unknown activation "swish"`},
		{spec: "net.onnx", err: "want mlp:"},
		{spec: "mlp:2-4000-4000-1", sizes: []int{2, 4000, 4000, 1}, act: "prelu"}, // 16 020 001 parameters
		{spec: "mlp:2-1048576-1048576-1", err: "1099516870657 parameters, over the limit of 16777216"},
		{spec: "mlp:2-4096-4096-1", err: "16797697 parameters, over the limit"},
	}
	for _, c := range cases {
		s, err := mlp.Parse(c.spec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseMLP(%q) error %v, want one containing %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseMLP(%q): %v", c.spec, err)
			continue
		}
		if !slices.Equal(s.Sizes, c.sizes) || s.Activation != c.act {
			t.Errorf("ParseMLP(%q) = %v %q, want %v %q", c.spec, s.Sizes, s.Activation, c.sizes, c.act)
		}
		if again, err := mlp.Parse(s.String()); err != nil || !slices.Equal(again.Sizes, s.Sizes) || again.Activation != s.Activation {
			t.Errorf("ParseMLP(%q) does not read back String() = %q", c.spec, s.String())
		}
	}
}

// TestOptionsCheck checks Check on the defaults and on clashing names,
// and that New refuses what Check refuses.
func TestOptionsCheck(t *testing.T) {
	cases := []struct {
		name string
		opt  mlp.Options
		err  string
	}{
		{"defaults", mlp.DefaultOptions(), ""},
		{"zero", mlp.Options{}, ""},
		{"same names", mlp.Options{Input: "v", Output: "v"}, `Input and Output are both named "v"`},
		{"output named like the default input", mlp.Options{Output: "x"}, `both named "x"`},
	}
	for _, c := range cases {
		err := c.opt.Check()
		_, newErr := mlp.New("mlp:2-2", c.opt)
		switch {
		case c.err == "" && (err != nil || newErr != nil):
			t.Errorf("%s: Check %v, New %v; want no error", c.name, err, newErr)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || newErr == nil || !strings.Contains(newErr.Error(), c.err)):
			t.Errorf("%s: Check %v, New %v; want %q", c.name, err, newErr, c.err)
		}
	}
}
