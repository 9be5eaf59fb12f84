package importers

import (
	"fmt"
	"math"
	"strings"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// An Evaluator runs a Network forward on rows of float64 inputs, for
// scoring. For a model of float32 outputs it takes float32 values, as
// ONNX Runtime does: inputs are rounded to float32 and must be within its
// range, and outputs are rounded to float32 (an energy beyond float32's
// range becomes ±Inf). It computes in float64 in between, so that a row's
// result does not depend on the rows batched with it. It builds one tape and
// machine per distinct number of rows it is given (usually the batch size
// and the smaller last batch) and keeps them; a model of fixed batch runs
// in chunks of that batch (see ApplyRows). An integer input is read when
// the graph is built, so a model of one is built again for every run. An
// Evaluator is not safe for concurrent use.
type Evaluator struct {
	net     *Network
	rowSize int
	float32 bool // round inputs and outputs to float32
	progs   map[int]*evalProg
}

type evalProg struct {
	in   *autodiff.Node
	outs []*autodiff.Node
	vm   *autodiff.Machine
}

// NewEvaluator returns an Evaluator for a network with one input whose
// dimensions after the first are fixed, and builds its machine for
// batches of the given number of rows.
func (n *Network) NewEvaluator(batch int) (*Evaluator, error) {
	if len(n.inputs) != 1 {
		return nil, fmt.Errorf("NewEvaluator: the network has %d inputs, want 1", len(n.inputs))
	}
	p := n.inputs[0]
	if len(p.Dims) == 0 {
		return nil, fmt.Errorf("NewEvaluator: input %q has no batch axis (dims %v)", p.Name, p.Dims)
	}
	switch p.Elem {
	case onnx.TensorProto_FLOAT, onnx.TensorProto_DOUBLE, onnx.TensorProto_FLOAT16, onnx.TensorProto_INT64:
	default:
		return nil, fmt.Errorf("input %q holds %s values; the go engine runs models of float or int64 input", p.Name, strings.ToLower(p.Elem.String()))
	}
	rowSize := 1
	for k, d := range p.Dims[1:] {
		if d.Value <= 0 {
			return nil, fmt.Errorf("NewEvaluator: input %q: dimension %d (%s) is not fixed", p.Name, k+1, d)
		}
		rowSize *= int(d.Value)
	}
	e := &Evaluator{net: n, rowSize: rowSize, float32: n.float32Outputs(), progs: make(map[int]*evalProg)}
	if p.Elem == onnx.TensorProto_INT64 {
		return e, nil // built on each run
	}
	if _, err := e.prog(batch, nil); err != nil {
		return nil, err
	}
	return e, nil
}

// float32Outputs reports whether every output of the model is float32.
func (n *Network) float32Outputs() bool {
	for _, p := range n.outputs {
		if p.Elem != onnx.TensorProto_FLOAT {
			return false
		}
	}
	return true
}

// RowSize returns the number of values in one input row.
func (e *Evaluator) RowSize() int { return e.rowSize }

// Float32 reports whether the Evaluator rounds inputs and outputs to
// float32, the model's element type.
func (e *Evaluator) Float32() bool { return e.float32 }

// prog returns the program for rows rows: built once and kept, or, for an
// integer input, built for the values x.
func (e *Evaluator) prog(rows int, x []float64) (*evalProg, error) {
	if p, ok := e.progs[rows]; ok {
		return p, nil
	}
	if rows < 1 {
		return nil, fmt.Errorf("evaluator: %d rows", rows)
	}
	port := e.net.inputs[0]
	shape := []int{rows}
	for _, d := range port.Dims[1:] {
		shape = append(shape, int(d.Value))
	}
	t := autodiff.NewTape(autodiff.Float64)
	var in *autodiff.Node
	if port.Elem == onnx.TensorProto_INT64 {
		in = t.Variable(port.Name, autodiff.FromFloat64s(autodiff.Int64, shape, x))
	} else {
		in = t.Input(port.Name, shape...)
	}
	outs, err := e.net.ApplyRows(t, e.net.NewParams(t), ApplyOptions{}, in)
	if err != nil {
		return nil, err
	}
	p := &evalProg{in: in, outs: outs, vm: autodiff.NewMachine(t)}
	if x == nil {
		e.progs[rows] = p
	}
	return p, nil
}

// Run evaluates rows inputs given flat and row-major in x (rows ×
// RowSize values) and returns each output, flattened. The values of an
// integer input must be integers; for a float32 model, they must be
// within float32's range.
func (e *Evaluator) Run(x []float64, rows int) ([][]float64, error) {
	if rows < 1 || len(x) != rows*e.rowSize {
		return nil, fmt.Errorf("evaluator: %d values for %d rows of %d", len(x), rows, e.rowSize)
	}
	port := e.net.inputs[0]
	intIn := port.Elem == onnx.TensorProto_INT64
	round := e.float32 && !intIn
	if err := checkInputValues(port.Name, x, e.rowSize, intIn, round); err != nil {
		return nil, err
	}
	if round {
		x = toFloat32(x)
	}
	var p *evalProg
	var err error
	if intIn {
		p, err = e.prog(rows, x)
	} else {
		p, err = e.prog(rows, nil)
		if err == nil {
			err = autodiff.Let(p.in, autodiff.FromFloat64s(p.in.Dtype(), p.in.Shape(), x))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("evaluator: %w", err)
	}
	defer p.vm.Reset()
	if err := p.vm.Run(); err != nil {
		return nil, fmt.Errorf("evaluator: %w", err)
	}
	out := make([][]float64, len(p.outs))
	for i, o := range p.outs {
		v, err := autodiff.CopyOut(nil, o)
		if err != nil {
			return nil, fmt.Errorf("evaluator: output %q: %w", e.net.outputs[i].Name, err)
		}
		if e.float32 {
			for k, y := range v {
				v[k] = float64(float32(y))
			}
		}
		out[i] = v
	}
	return out, nil
}

// toFloat32 returns the values of x rounded to float32.
func toFloat32(x []float64) []float64 {
	r := make([]float64, len(x))
	for i, v := range x {
		r[i] = float64(float32(v))
	}
	return r
}

// A ValueError reports an input value the model's input type cannot hold.
type ValueError struct {
	Input string
	Row   int // 0-based row of the batch
	Value float64
	Want  string // "an integer", "a float32"
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("input %q, row %d of the batch: %g is not %s", e.Input, e.Row+1, e.Value, e.Want)
}

// checkInputValues checks that the values of x, rows of width values, are
// integers (integer) or within float32's range (float32).
func checkInputValues(name string, x []float64, width int, integer, float32 bool) error {
	for i, v := range x {
		switch {
		case integer && (v != math.Trunc(v) || math.Abs(v) > 1<<53):
			return &ValueError{Input: name, Row: i / width, Value: v, Want: "an integer"}
		case float32 && math.Abs(v) > math.MaxFloat32:
			return &ValueError{Input: name, Row: i / width, Value: v, Want: "within float32's range (the model's element type)"}
		}
	}
	return nil
}
