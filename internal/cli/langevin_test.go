package cli

import (
	"testing"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/train"
)

// TestNegativeLangevinFlags checks that the flags of the cooperative
// negatives and their run-file keys set the train options.
func TestNegativeLangevinFlags(t *testing.T) {
	o := train.DefaultOptions()
	fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
	TrainFlags(fs, &o)
	if o.NegativeLangevinSteps != 0 || o.NegativeStepSize != train.DefaultNegativeStepSize || o.NegativeNoiseScale != train.DefaultNegativeNoiseScale {
		t.Errorf("defaults: K %d, η %v, s %v", o.NegativeLangevinSteps, o.NegativeStepSize, o.NegativeNoiseScale)
	}
	if err := fs.Parse([]string{"--negative-langevin-steps", "7", "--negative-step-size", "2e-4", "--negative-noise-scale", "0.5"}); err != nil {
		t.Fatal(err)
	}
	if o.NegativeLangevinSteps != 7 || o.NegativeStepSize != 2e-4 || o.NegativeNoiseScale != 0.5 {
		t.Errorf("flags: K %d, η %v, s %v", o.NegativeLangevinSteps, o.NegativeStepSize, o.NegativeNoiseScale)
	}
	c := NewRunConfig()
	for key, v := range map[string]string{"negative-langevin-steps": "3", "negative-step-size": "5e-4", "negative-noise-scale": "0"} {
		if err := c.Set("train", key, v); err != nil {
			t.Fatal(err)
		}
	}
	if o := c.Options.Train; o.NegativeLangevinSteps != 3 || o.NegativeStepSize != 5e-4 || o.NegativeNoiseScale != 0 {
		t.Errorf("run file: K %d, η %v, s %v", o.NegativeLangevinSteps, o.NegativeStepSize, o.NegativeNoiseScale)
	}
}
