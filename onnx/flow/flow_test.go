package flow_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/onnx/flow"
)

func TestParse(t *testing.T) {
	cases := []struct {
		spec          string
		dim, layers   int
		hidden        []int
		act, errMatch string
	}{
		{spec: "flow:2-8-64", dim: 2, layers: 8, hidden: []int{64}, act: "tanh"},
		{spec: "flow:3-4-32-16:SiLU", dim: 3, layers: 4, hidden: []int{32, 16}, act: "silu"},
		{spec: "flow:2-1-1:softplus", dim: 2, layers: 1, hidden: []int{1}, act: "softplus"},
		{spec: "flow:1-4-8", errMatch: "at least 2"},
		{spec: "flow:2-4", errMatch: "at least one hidden width"},
		{spec: "flow:2-0-8", errMatch: `number "0" is not`},
		{spec: "flow:2-4-x", errMatch: `number "x" is not`},
		{spec: "flow:2-4-8:prelu", errMatch: `unknown activation "prelu"`},
		{spec: "mlp:2-4-2", errMatch: "want flow:"},
	}
	for _, c := range cases {
		s, err := flow.Parse(c.spec)
		if c.errMatch != "" {
			if err == nil || !strings.Contains(err.Error(), c.errMatch) {
				t.Errorf("Parse(%q) error %v, want one containing %q", c.spec, err, c.errMatch)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", c.spec, err)
			continue
		}
		if s.Dim != c.dim || s.Layers != c.layers || !slices.Equal(s.Hidden, c.hidden) || s.Activation != c.act {
			t.Errorf("Parse(%q) = %+v", c.spec, s)
		}
		if again, err := flow.Parse(s.String()); err != nil || !slices.Equal(again.Hidden, s.Hidden) || again.String() != s.String() {
			t.Errorf("Parse(%q) does not read back String() = %q", c.spec, s.String())
		}
		if !flow.IsSpec(c.spec) {
			t.Errorf("IsSpec(%q) = false", c.spec)
		}
	}
	if flow.IsSpec("mlp:2-2") || flow.IsSpec("flow.onnx") {
		t.Error("IsSpec accepts a non-flow spec")
	}
}
