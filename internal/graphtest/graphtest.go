package graphtest

import (
	"fmt"
	"testing"
)

// A Machine runs a graph (an *autodiff.Machine).
type Machine interface {
	Run() error
	Reset()
}

// A Node is a node whose float64 values can be read after a run (an
// *autodiff.Node).
type Node interface {
	Float64s() []float64
	String() string
}

// Run runs every node of m once and resets it for the next run, failing tb
// on error.
func Run(tb testing.TB, m Machine) {
	tb.Helper()
	if err := m.Run(); err != nil {
		tb.Fatal(err)
	}
	m.Reset()
}

// Scalar returns the value of a float64 node holding one number.
func Scalar(n Node) float64 {
	v := n.Float64s()
	if len(v) == 0 {
		panic(fmt.Sprintf("node %v: not a float64 scalar", n))
	}
	return v[0]
}

// Values returns a copy of the values of a float64 node.
func Values(n Node) []float64 {
	v := n.Float64s()
	if v == nil {
		panic(fmt.Sprintf("node %v: no float64 value", n))
	}
	return append([]float64(nil), v...)
}
