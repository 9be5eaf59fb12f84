package importers

import (
	"fmt"
	"maps"
	"slices"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// TrainableIndices returns the positions, in Network.Params order, of the
// trainable parameters: Trainable()[k] is Nodes[TrainableIndices()[k]].
func (ps *ParamSet) TrainableIndices() []int {
	var out []int
	for i, tr := range ps.trainable {
		if tr {
			out = append(out, i)
		}
	}
	return out
}

// SetData copies data into the value of parameter i (in Network.Params
// order), converting to the tape's element type. The next run of a machine
// over the tape sees the new values.
func (ps *ParamSet) SetData(i int, data []float64) error {
	if i < 0 || i >= len(ps.Nodes) {
		return fmt.Errorf("SetData: parameter %d of %d", i, len(ps.Nodes))
	}
	return autodiff.CopyIn(ps.Nodes[i], data)
}

// NewParamsPrefixed is NewParams with every leaf named prefix+name, so
// that several networks with the same parameter names (two MLPs' "fc0.weight")
// can share one tape, whose leaf names must be unique. ByName keeps the
// model's names.
func (n *Network) NewParamsPrefixed(t *autodiff.Tape, prefix string) *ParamSet {
	ps := &ParamSet{ByName: make(map[string]*autodiff.Node, len(n.params))}
	for _, p := range n.params {
		node := t.Variable(prefix+p.Name, autodiff.FromFloat64s(t.Dtype(), p.Shape, p.Data))
		ps.Nodes = append(ps.Nodes, node)
		ps.ByName[p.Name] = node
		ps.trainable = append(ps.trainable, p.Trainable)
	}
	return ps
}

// With returns a copy of ps in which parameter i is the node n instead of
// its leaf: a function of the leaves, such as a weight divided by its
// spectral norm. Apply with the copy uses n; train and set the leaves
// through ps (the copy's Trainable and SetData see n).
func (ps *ParamSet) With(i int, n *autodiff.Node) *ParamSet {
	c := &ParamSet{
		Nodes:     slices.Clone(ps.Nodes),
		ByName:    maps.Clone(ps.ByName),
		trainable: ps.trainable,
	}
	for name, leaf := range ps.ByName {
		if leaf == ps.Nodes[i] {
			c.ByName[name] = n
		}
	}
	c.Nodes[i] = n
	return c
}
