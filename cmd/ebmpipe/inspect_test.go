package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectTrainable checks that inspect says "trainable: yes" only for
// models the importer builds: every op supported is not enough for a
// graph with a cycle, an undefined value or a size bomb.
func TestInspectTrainable(t *testing.T) {
	for _, c := range []struct{ model, want string }{
		{"../../testdata/opset/energy_mlp_gelu_o23.onnx", "trainable: yes"},
		{"../../testdata/hostile/cycle.onnx", "trainable: no — onnx: invalid model: graph \"hostile\": nodes form a cycle"},
		{"../../testdata/hostile/undefined_input.onnx", "trainable: no — onnx: invalid model"},
		{"../../testdata/hostile/tile_bomb.onnx", "trainable: no — node \"tile\""},
		{"../../testdata/hostile/fixed_batch_1e12.onnx", "trainable: no — input \"x\""},
		{"../../testdata/hostile/gemm_missing_input.onnx", "trainable: no — 1 unsupported"},
	} {
		t.Run(filepath.Base(c.model), func(t *testing.T) {
			var b strings.Builder
			if err := inspect(&b, c.model); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "\n"+c.want) {
				t.Errorf("inspect says\n%s\nwant a line starting %q", b.String(), c.want)
			}
		})
	}
}
