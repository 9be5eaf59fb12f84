package cli

import (
	"testing"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/train"
)

// TestImportanceFlags checks that the flags of the importance-weighted
// negatives and their run-file keys set the train options, off by default.
func TestImportanceFlags(t *testing.T) {
	o := train.DefaultOptions()
	fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
	TrainFlags(fs, &o)
	if o.ImportanceNegatives != 0 || o.ImportanceFrom != 0 {
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
