package importers

import (
	"fmt"
	"maps"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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
	return CopyIn(ps.Nodes[i], data)
}

// CopyIn copies data into the value a leaf node (a Variable or an Input
// already bound) holds, in place, converting to its element type. An Input
// without a value gets a new tensor of its shape, bound with G.Let.
func CopyIn(n *G.Node, data []float64) error {
	if n == nil {
		return fmt.Errorf("CopyIn: nil node")
	}
	if want := size(n.Shape()); len(data) != want {
		return fmt.Errorf("CopyIn: %d values for node %q of shape %v", len(data), n.Name(), n.Shape())
	}
	d, ok := n.Value().(*tensor.Dense)
	if !ok || d == nil {
		if n.Shape().IsScalar() {
			return fmt.Errorf("CopyIn: node %q is a scalar without a tensor value", n.Name())
		}
		d = toDense(newArray(n.Dtype(), n.Shape()))
		if err := G.Let(n, d); err != nil {
			return fmt.Errorf("CopyIn: %q: %w", n.Name(), err)
		}
	}
	switch x := d.Data().(type) {
	case []float64:
		copy(x, data)
	case []float32:
		for i, v := range data {
			x[i] = float32(v)
		}
	default:
		return fmt.Errorf("CopyIn: node %q holds %T, not floats", n.Name(), d.Data())
	}
	return nil
}

// CopyOut appends the values of n after a run, converted to float64, to
// dst[:0] and returns it.
func CopyOut(dst []float64, n *G.Node) ([]float64, error) {
	if n == nil || n.Value() == nil {
		return nil, fmt.Errorf("CopyOut: node has no value")
	}
	a, err := fromValue(n.Value())
	if err != nil {
		return nil, fmt.Errorf("CopyOut: %q: %w", n.Name(), err)
	}
	dst = dst[:0]
	for k := range a.len() {
		dst = append(dst, a.at(k))
	}
	return dst, nil
}

// NewParamsPrefixed is NewParams with every leaf named prefix+name, so
// that several networks with the same parameter names (two MLPs' "fc0.weight")
// can share one tape, whose leaf names must be unique. ByName keeps the
// model's names.
func (n *Network) NewParamsPrefixed(t *Tape, prefix string) *ParamSet {
	ps := &ParamSet{ByName: make(map[string]*G.Node, len(n.params))}
	for _, p := range n.params {
		a := newArray(t.Dtype(), p.Shape)
		for i, v := range p.Data {
			a.set(i, v)
		}
		node := t.Variable(prefix+p.Name, toDense(a))
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
func (ps *ParamSet) With(i int, n *G.Node) *ParamSet {
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
