package train

import (
	"context"
	"github.com/ebmpipe/ebmpipe/train/metrics"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestBracketEvery checks that --bracket-every logs the certified
// bracket's lower limit to metrics.csv at its iterations only. The
// generator is linear: an MLP generator may fold, and the bracket is then
// not available (empty cells).
func TestBracketEvery(t *testing.T) {
	o := tinyOptions(t)
	o.Energy, o.Generator = "mlp:2-16-16-1:softplus", "mlp:2-2"
	o.Steps, o.LogEvery, o.BracketEvery, o.BracketSamples = 20, 5, 10, 200
	mustRun(t, o, Hooks{})
	b, err := os.ReadFile(filepath.Join(o.Out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	header := strings.Split(lines[0], ",")
	lo := slices.Index(header, metrics.ColBracketLower)
	if lo < 0 || slices.Index(header, metrics.ColBracketUpper) < 0 {
		t.Fatalf("metrics.csv header %q lacks the bracket columns", lines[0])
	}
	for _, line := range lines[1:] {
		f := strings.Split(line, ",")
		step, _ := strconv.Atoi(f[0])
		v, err := strconv.ParseFloat(f[lo], 64)
		if step%o.BracketEvery == 0 {
			if err != nil || math.IsNaN(v) {
				t.Errorf("step %d: bracket_lower %q, want a number", step, f[lo])
			}
		} else if f[lo] != "" {
			t.Errorf("step %d: bracket_lower %q between measurements, want empty", step, f[lo])
		}
	}
	o2 := tinyOptions(t)
	o2.Generator, o2.BracketEvery = "mlp:3-16-16-2", 10
	if _, err := NewTrainer(context.Background(), o2, Hooks{}); err == nil || !strings.Contains(err.Error(), "latent") {
		t.Errorf("--bracket-every with d ≠ D: %v, want an error naming the dimensions", err)
	}
}

// TestBatchNormGeneratorBounds trains a batch-normalised generator against
// the real upper bounds, which see it in inference mode (running
// statistics), where its per-row Jacobian is defined.
func TestBatchNormGeneratorBounds(t *testing.T) {
	for _, upper := range []string{"gp", "diffusion"} {
		o := tinyOptions(t)
		o.GeneratorBatchNorm, o.Steps, o.Upper = true, 3, upper
		mustRun(t, o, Hooks{})
	}
}
