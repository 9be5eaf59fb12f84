package importers

import (
	"fmt"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// FixedBatch returns the batch size a model of one input fixes, as
// torch.onnx.export writes without dynamic_axes (input [7, 2]): the first
// dimension of its input when it is a number, else 0.
func (n *Network) FixedBatch() int {
	if len(n.inputs) != 1 || len(n.inputs[0].Dims) == 0 {
		return 0
	}
	return int(max(n.inputs[0].Dims[0].Value, 0))
}

// FixedBatchNote returns the notice a program gives when it runs a model
// whose input fixes the batch at batch rows in chunks (see ApplyRows).
func FixedBatchNote(input string, batch int) string {
	return fmt.Sprintf("input %q fixes the batch at %d rows: running the model on batches of %d, the last padded with zeros that are dropped from the outputs",
		input, batch, batch)
}

// ApplyRows is Apply for a network of one input, on any number of rows x
// holds along its first axis, even if the model fixes its batch
// (FixedBatch B > 0): x is then cut into chunks of B rows, the last padded
// with zeros, the network is applied to each, and the rows of each output
// are joined, the padding dropped. Every output must then have the batch
// as its first axis. BatchNormalization in training mode takes the
// statistics of each chunk, padding included.
func (n *Network) ApplyRows(t *autodiff.Tape, ps *ParamSet, opt ApplyOptions, x *autodiff.Node) ([]*autodiff.Node, error) {
	b := n.FixedBatch()
	if x == nil || b == 0 || len(x.Shape()) == 0 || x.Shape()[0] == b {
		return n.Apply(t, ps, opt, x)
	}
	shape := []int(x.Shape())
	rows := shape[0]
	var parts [][]*autodiff.Node // outputs of each chunk
	for first := 0; first < rows; first += b {
		k := min(b, rows-first)
		chunk, err := n.chunk(t, x, first, k, b)
		if err != nil {
			return nil, err
		}
		outs, err := n.Apply(t, ps, opt, chunk)
		if err != nil {
			return nil, err
		}
		if k < b {
			for i, y := range outs {
				ys := []int(y.Shape())
				if len(ys) == 0 || ys[0] != b {
					return nil, fmt.Errorf("output %q has shape %v; a model of fixed batch %d needs the batch first in every output", n.outputs[i].Name, ys, b)
				}
				outs[i] = t.Gather(y, autodiff.SliceMap(ys, []int{0}, []int{0}, []int{k}, []int{1}))
			}
		}
		parts = append(parts, outs)
	}
	outs := make([]*autodiff.Node, len(parts[0]))
	for i := range outs {
		col := make([]*autodiff.Node, len(parts))
		for c, p := range parts {
			col[c] = p[i]
		}
		outs[i] = col[0]
		if len(col) > 1 {
			outs[i] = t.Concat(0, col...)
		}
	}
	return outs, t.Err()
}

// chunk returns rows first to first+k of x, padded with zeros to b rows.
// An integer input, read when the graph is built, becomes a variable
// holding the chunk's values.
func (n *Network) chunk(t *autodiff.Tape, x *autodiff.Node, first, k, b int) (*autodiff.Node, error) {
	shape := []int(x.Shape())
	width := autodiff.Size(shape[1:])
	padded := append([]int{b}, shape[1:]...)
	if x.Dtype() == autodiff.Int64 {
		v := x.Int64s()
		if v == nil {
			return nil, fmt.Errorf("input %q: an integer input needs a value when the graph is built", n.inputs[0].Name)
		}
		data := make([]float64, b*width)
		for i, e := range v[first*width : (first+k)*width] {
			data[i] = float64(e)
		}
		return t.Variable(n.inputs[0].Name, autodiff.FromFloat64s(autodiff.Int64, padded, data)), nil
	}
	c := t.Gather(x, autodiff.SliceMap(shape, []int{0}, []int{first}, []int{first + k}, []int{1}))
	if k < b {
		c = t.Concat(0, c, t.Full(0, append([]int{b - k}, shape[1:]...)...))
	}
	return c, t.Err()
}
