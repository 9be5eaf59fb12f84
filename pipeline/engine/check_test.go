package engine

import (
	"strings"
	"testing"
)

func TestChecks(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string // the error's text, lines joined by "; "
	}{
		{"ort-default", DefaultORTOptions().Check(), ""},
		{"ort-cuda", ORTOptions{Device: "cuda", Threads: 1}.Check(), ""},
		{"ort-bad", ORTOptions{Device: "tpu", Threads: -1}.Check(), `Device "tpu": want cpu or cuda; Threads -1: must be at least 0`},
		{"choice-ok", Choice{Engine: Auto, BatchSize: 1, Device: "cuda"}.Check(), ""},
		{"choice-bad", Choice{Engine: "gpu", BatchSize: 0, Device: "tpu"}.Check(), `Engine "gpu": want auto, ort or go; BatchSize 0: must be at least 1; Device "tpu": want cpu or cuda`},
		{"choice-go-cuda", Choice{Engine: Go, BatchSize: 8, Device: "cuda"}.Check(), "Device cuda: the go engine runs on the CPU only; use Engine ort"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ""
			if c.err != nil {
				got = strings.ReplaceAll(c.err.Error(), "\n", "; ")
			}
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
