package evaluate

import (
	"context"
	"strings"
	"testing"
)

// TestBoundsFixedBatchNotice checks that EvaluateBounds tells its Notice,
// once, that a model of fixed batch runs in chunks of it, and says
// nothing of models of dynamic batch.
func TestBoundsFixedBatchNotice(t *testing.T) {
	cases := []struct {
		energy string
		want   []string // the notices, each by a part of its text
	}{
		{"../../testdata/torchquirks/energy_mlp_fixed.onnx", []string{`energy ../../testdata/torchquirks/energy_mlp_fixed.onnx: input "x" fixes the batch at 7 rows`}},
		{"mlp:2-8-1", nil},
	}
	for _, c := range cases {
		t.Run(c.energy, func(t *testing.T) {
			o := DefaultBoundsOptions()
			o.Energy, o.Generator, o.Data = c.energy, "mlp:2-2", "toy:8gaussians"
			o.DataRows, o.Samples, o.BatchSize = 200, 20, 10
			var notes []string
			o.Notice = func(msg string) { notes = append(notes, msg) }
			if _, err := EvaluateBounds(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			if len(notes) != len(c.want) {
				t.Fatalf("notices %q, want %d", notes, len(c.want))
			}
			for i, w := range c.want {
				if !strings.Contains(notes[i], w) {
					t.Errorf("notice %q does not hold %q", notes[i], w)
				}
			}
		})
	}
}
