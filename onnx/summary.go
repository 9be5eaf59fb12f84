package onnx

import (
	"fmt"
	"sort"
)

// IsFloat reports whether dt is a floating-point element type: FLOAT,
// DOUBLE, FLOAT16 or BFLOAT16.
func IsFloat(dt DataType) bool {
	switch dt {
	case TensorProto_FLOAT, TensorProto_DOUBLE, TensorProto_FLOAT16, TensorProto_BFLOAT16:
		return true
	}
	return false
}

// ShapeSize returns the number of elements of a tensor of the given shape,
// the product of its sizes (1 for a scalar's empty shape).
func ShapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// RowShape returns the sizes of dims after the first (batch) axis, which
// must all be fixed.
func RowShape(dims []Dim) ([]int, error) {
	if len(dims) == 0 {
		return nil, fmt.Errorf("no batch axis")
	}
	shape := make([]int, len(dims)-1)
	for k, d := range dims[1:] {
		if d.Value <= 0 {
			return nil, fmt.Errorf("dimension %d (%s) is not fixed", k+1, d)
		}
		shape[k] = int(d.Value)
	}
	return shape, nil
}

// An OpCount is the number of nodes of one op type in a graph.
type OpCount struct {
	Op    string
	Nodes int
}

// A Summary describes a model's graph for people: its ops and parameters.
type Summary struct {
	Nodes        int       // nodes in the main graph
	Ops          []OpCount // nodes per op type, by op name
	Parameters   int       // values of the floating-point initializers
	Initializers int       // initializers of any type
}

// Summarize returns the summary of m's main graph.
func Summarize(m *ModelProto) Summary {
	g := m.GetGraph()
	s := Summary{Nodes: len(g.GetNode()), Initializers: len(g.GetInitializer())}
	for _, t := range g.GetInitializer() {
		if IsFloat(DataType(t.GetDataType())) {
			n := 1
			for _, d := range t.GetDims() {
				n *= int(d)
			}
			s.Parameters += n
		}
	}
	hist := make(map[string]int)
	for _, n := range g.GetNode() {
		hist[n.GetOpType()]++
	}
	for op, k := range hist {
		s.Ops = append(s.Ops, OpCount{op, k})
	}
	sort.Slice(s.Ops, func(i, j int) bool { return s.Ops[i].Op < s.Ops[j].Op })
	return s
}

// InitializerNames returns the set of the names of g's initializers, which
// old exporters also list among the graph's inputs.
func InitializerNames(g *GraphProto) map[string]bool {
	names := make(map[string]bool, len(g.GetInitializer()))
	for _, t := range g.GetInitializer() {
		names[t.GetName()] = true
	}
	return names
}
