package engine

import (
	"fmt"
	"strings"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// A Port is an input or output of a scoring engine.
type Port struct {
	Name string
	// Shape is the shape of one row: the model's dimensions after the
	// batch axis.
	Shape []int
	// Width is the number of values in one row, the product of Shape.
	Width int
	// Float32 is set on an input whose values the engine rounds to
	// float32, the model's element type: values beyond float32's range
	// cannot be given.
	Float32 bool
}

// An Engine runs a model forward on batches of rows. The model has one input,
// whose first axis is the batch; every output also has the batch first.
// An Engine is not safe for concurrent use: give each worker its own.
type Engine interface {
	Input() Port
	Outputs() []Port
	// Run runs the model on rows rows of x, given row after row, and
	// returns each output's values for those rows, row after row.
	// rows must not exceed the batch size the engine was made for.
	Run(x []float64, rows int) ([][]float64, error)
	Close() error
}

// A Float32Engine is an Engine that also runs on float32 rows, the element
// type of its model, with no float64 stage in between. Callers holding
// float32 rows look for it with a type assertion, as io.Copy looks for an
// io.WriterTo.
type Float32Engine interface {
	Engine
	// Run32 is Run on float32 values: it returns the same outputs as
	// Run, before their conversion to float64. The returned slices are
	// the engine's and valid until its next run.
	Run32(x []float32, rows int) ([][]float32, error)
}

// goEngine runs a model through the importer's Gorgonia graph.
type goEngine struct {
	in   Port
	outs []Port
	ev   *importers.Evaluator
}

// NewGoEngine returns a pure-Go Engine for m that takes up to batch rows per
// run.
func NewGoEngine(m *onnx.ModelProto, batch int) (Engine, error) {
	net, err := importers.New(m)
	if err != nil {
		return nil, err
	}
	ins := net.Inputs()
	if len(ins) != 1 {
		return nil, fmt.Errorf("the model has %d inputs; ebmpipe runs models of exactly one input", len(ins))
	}
	in, err := RowPort(ins[0])
	if err != nil {
		return nil, err
	}
	ev, err := net.NewEvaluator(batch)
	if err != nil {
		return nil, err
	}
	in.Float32 = ev.Float32() && ins[0].Elem != onnx.TensorProto_INT64
	e := &goEngine{in: in, ev: ev}
	for _, p := range net.Outputs() {
		// Output shapes are known only after a run for dynamic dims;
		// the width is then found from the data.
		q := Port{Name: p.Name}
		if r, err := RowPort(p); err == nil {
			q = r
		}
		e.outs = append(e.outs, q)
	}
	return e, nil
}

// RowPort turns a model port with a leading batch axis into the Port of one
// row. Every dimension after the first must be fixed.
func RowPort(p importers.Port) (Port, error) {
	if len(p.Dims) < 1 {
		return Port{}, fmt.Errorf("%s %q: rank unknown or 0; want a leading batch axis", "port", p.Name)
	}
	shape, err := onnx.RowShape(p.Dims)
	if err != nil {
		return Port{}, fmt.Errorf("%q has shape %v: only the first (batch) axis may be dynamic", p.Name, p.Dims)
	}
	q := Port{Name: p.Name, Shape: shape, Width: onnx.ShapeSize(shape)}
	return q, nil
}

func (e *goEngine) Input() Port     { return e.in }
func (e *goEngine) Outputs() []Port { return e.outs }
func (e *goEngine) Close() error    { return nil }

func (e *goEngine) Run(x []float64, rows int) ([][]float64, error) {
	return e.ev.Run(x, rows)
}

// DescribePorts lists ports for messages, such as `2 outputs (energy, aux)`.
func DescribePorts(ps []Port) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
		if p.Width > 1 {
			names[i] += fmt.Sprintf(" of %d values", p.Width)
		}
	}
	s := fmt.Sprintf("%d outputs", len(ps))
	if len(ps) == 1 {
		s = "1 output"
	}
	if len(ps) > 0 {
		s += " (" + strings.Join(names, ", ") + ")"
	}
	return s
}
