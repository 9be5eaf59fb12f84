package cli

import (
	"slices"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/train"
)

// TestImportanceFlags checks that the flags of the importance-weighted
// negatives and their run-file keys set the train options, α = 1 from
// iteration 10 000 by default.
func TestImportanceFlags(t *testing.T) {
	o := train.DefaultOptions()
	fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
	TrainFlags(fs, &o)
	if o.ImportanceNegatives != 1 || o.ImportanceFrom != 10000 {
		t.Errorf("defaults: α %v, from %d", o.ImportanceNegatives, o.ImportanceFrom)
	}
	if err := fs.Parse([]string{"--importance-negatives", "0.5", "--importance-from", "10000"}); err != nil {
		t.Fatal(err)
	}
	if o.ImportanceNegatives != 0.5 || o.ImportanceFrom != 10000 {
		t.Errorf("flags: α %v, from %d", o.ImportanceNegatives, o.ImportanceFrom)
	}
	c := NewRunConfig()
	for key, v := range map[string]string{"importance-negatives": "1", "importance-from": "300"} {
		if err := c.Set("train", key, v); err != nil {
			t.Fatal(err)
		}
	}
	if o := c.Options.Train; o.ImportanceNegatives != 1 || o.ImportanceFrom != 300 {
		t.Errorf("run file: α %v, from %d", o.ImportanceNegatives, o.ImportanceFrom)
	}
}

// TestLateFlags checks that the late stage's flags and run-file keys set
// the train options: noise levels 0.005–0.02 from iteration 5 000 by
// default.
func TestLateFlags(t *testing.T) {
	o := train.DefaultOptions()
	fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
	TrainFlags(fs, &o)
	if !slices.Equal(o.LateSigmas, []float64{0.005, 0.01, 0.015, 0.02}) || o.LateFrom != 5000 {
		t.Errorf("defaults: %v from %d", o.LateSigmas, o.LateFrom)
	}
	if err := fs.Parse([]string{"--late-sigmas", "0.01,0.02", "--late-from", "500"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.LateSigmas, []float64{0.01, 0.02}) || o.LateFrom != 500 {
		t.Errorf("flags: %v from %d", o.LateSigmas, o.LateFrom)
	}
	c := NewRunConfig()
	for key, v := range map[string]string{"late-sigmas": "0.03", "late-from": "300"} {
		if err := c.Set("train", key, v); err != nil {
			t.Fatal(err)
		}
	}
	if o := c.Options.Train; !slices.Equal(o.LateSigmas, []float64{0.03}) || o.LateFrom != 300 {
		t.Errorf("run file: %v from %d", o.LateSigmas, o.LateFrom)
	}
}
