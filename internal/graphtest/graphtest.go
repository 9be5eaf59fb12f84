// Package graphtest holds helpers that tests of Gorgonia graphs share:
// running a machine and reading float64 values out of nodes.
package graphtest

import (
	"fmt"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Run runs every node of m once and resets it for the next run, failing tb
// on error.
func Run(tb testing.TB, m G.VM) {
	tb.Helper()
	if err := m.RunAll(); err != nil {
		tb.Fatal(err)
	}
	m.Reset()
}

// Scalar returns the value of a float64 node holding one number.
func Scalar(n *G.Node) float64 {
	switch v := n.Value().(type) {
	case *G.F64:
		return float64(*v)
	case *tensor.Dense:
		return v.Data().([]float64)[0]
	}
	panic(fmt.Sprintf("node %v: not a float64 scalar: %T", n, n.Value()))
}

// Values returns a copy of the values of a float64 node.
func Values(n *G.Node) []float64 {
	if v, ok := n.Value().(*G.F64); ok {
		return []float64{float64(*v)}
	}
	return append([]float64(nil), n.Value().(*tensor.Dense).Data().([]float64)...)
}
