package cli

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/pipeline/sample"
)

func TestCheckLimits(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-n", "10", "--batch-size", "65536"}, ""},
		{[]string{"-n", "1099511627777"}, "-n 1099511627777: at most 1099511627776"},
		{[]string{"--batch-size", "65537", "-n", "2000000000000"}, "--batch-size 65537: at most 65536\n-n 2000000000000: at most 1099511627776"},
	}
	for _, tt := range tests {
		fs := pflag.NewFlagSet("sample", pflag.ContinueOnError)
		o := sample.DefaultOptions()
		SampleFlags(fs, &o)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		got := ""
		if err := CheckLimits(fs); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%q: error %q, want %q", tt.args, got, tt.want)
		}
		if u := fs.Lookup("batch-size").Usage; strings.Count(u, "(at most 65536)") != 1 {
			t.Errorf("--batch-size help %q does not state its limit once", u)
		}
	}
}
