package train

import (
	"fmt"
	"slices"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/onnx/flow"
	"github.com/ebmpipe/ebmpipe/onnx/mlp"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// A network is one of the trained networks: its model, its parameter
// values (which the trainer owns and Adam updates) and its optimizer.
type network struct {
	role    bounds.Role
	name    string // "energy", "generator", "encoder"
	field   string // the field of the options naming it, for messages
	spec    string
	model   *onnx.ModelProto
	net     *importers.Network
	params  []importers.Param // names and shapes
	values  [][]float64       // current values, in params order
	train   []int             // indices of the trainable params
	sn      []int             // indices of the spectrally normalised params
	snCache map[int]*snEntry  // u vᵀ of the params of sn, by index
	opt     *Adam
	inRow   []int // shape of one input row
	outRow  []int // shape of one output row
	inWidth int   // values in an input row
	outWid  int   // values in an output row
}

// loadNetwork reads the network spec of the option field (such as
// "Energy"): an ONNX file or a built-in network (see buildOrLoad),
// initialised from seed, with batch normalisation if bn. Errors are
// *fielderr.Error naming field.
func loadNetwork(role bounds.Role, name, field, spec string, seed uint64, bn bool) (*network, error) {
	m, err := buildOrLoad(role, name, field, spec, seed, bn)
	if err != nil {
		return nil, err
	}
	net, err := importers.New(m)
	if err != nil {
		return nil, fielderr.Errorf("{"+field+"} %s: %w", spec, err)
	}
	n := &network{role: role, name: name, field: field, spec: spec, model: m, net: net, params: net.Params()}
	ins, outs := net.Inputs(), net.Outputs()
	if len(ins) != 1 || len(outs) < 1 {
		return nil, fielderr.Errorf("{"+field+"} %s: the model has %s and %s; want one input and one output", spec, plural(len(ins), "input"), plural(len(outs), "output"))
	}
	if n.inRow, err = rowShape(ins[0]); err != nil {
		return nil, fielderr.Errorf("{"+field+"} %s: input %w", spec, err)
	}
	if n.outRow, err = rowShape(outs[0]); err != nil {
		return nil, fielderr.Errorf("{"+field+"} %s: output %w", spec, err)
	}
	n.inWidth, n.outWid = onnx.ShapeSize(n.inRow), onnx.ShapeSize(n.outRow)
	for i, p := range n.params {
		n.values = append(n.values, slices.Clone(p.Data))
		if p.Trainable {
			n.train = append(n.train, i)
		}
	}
	if len(n.train) == 0 {
		return nil, fielderr.Errorf("{"+field+"} %s: the model has no trainable parameters", spec)
	}
	return n, nil
}

// rowShape returns the fixed dimensions of a port after the batch axis:
// none for a port of dims (batch,), one value per row, as PyTorch energies
// map (B, ...) to (B,).
func rowShape(p importers.Port) ([]int, error) {
	if len(p.Dims) < 1 {
		return nil, fmt.Errorf("%q has dims %v; want (batch,) or (batch, features...)", p.Name, p.Dims)
	}
	row, err := onnx.RowShape(p.Dims)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", p.Name, err)
	}
	return row, nil
}

// trainValues returns the slices of the trainable values, for Adam.
func (n *network) trainValues() [][]float64 {
	out := make([][]float64, len(n.train))
	for k, i := range n.train {
		out[k] = n.values[i]
	}
	return out
}

// paramMap returns the current values by parameter name (shared slices).
func (n *network) paramMap() map[string][]float64 {
	m := make(map[string][]float64, len(n.params))
	values := n.snValues()
	for i, p := range n.params {
		m[p.Name] = values[i]
	}
	return m
}

// apply returns a bounds.Net placing n on t with the parameters ps: it
// reshapes flat rows (rows × width) to the model's input shape and the
// output back to flat rows — (rows) for an energy, (rows × width)
// otherwise.
func (n *network) apply(t *autodiff.Tape, ps *importers.ParamSet, training bool) bounds.Net {
	return func(x *autodiff.Node) (*autodiff.Node, error) {
		if x == nil {
			return nil, fmt.Errorf("%s: nil input", n.name)
		}
		s := x.Shape()
		if len(s) != 2 || s[1] != n.inWidth {
			return nil, fmt.Errorf("%s %s: input of shape %v, want (rows, %d)", n.name, n.spec, s, n.inWidth)
		}
		rows := s[0]
		in := x
		if len(n.inRow) != 1 {
			in = t.Reshape(x, append([]int{rows}, n.inRow...))
		}
		outs, err := n.net.ApplyRows(t, ps, importers.ApplyOptions{Training: training}, in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", n.name, n.spec, err)
		}
		y := outs[0]
		want := []int{rows, n.outWid}
		if n.role == bounds.Energy {
			want = []int{rows}
		}
		if !slices.Equal([]int(y.Shape()), want) {
			y = t.Reshape(y, want)
		}
		return y, t.Err()
	}
}

// buildOrLoad builds the built-in network spec describes, an MLP ("mlp:",
// any role) or an invertible flow ("flow:", generators only), or loads
// the ONNX file it names.
func buildOrLoad(role bounds.Role, name, field, spec string, seed uint64, bn bool) (*onnx.ModelProto, error) {
	in := "x"
	if role == bounds.Generator {
		in = "z"
	}
	init := data.NewRNG(seed, "init/"+name).Uint64()
	var m *onnx.ModelProto
	var err error
	switch {
	case mlp.IsSpec(spec):
		m, err = mlp.New(spec, mlp.Options{Seed: init, BatchNorm: bn, Input: in, Output: name, Name: name})
	case flow.IsSpec(spec) && role != bounds.Generator:
		err = fmt.Errorf("%s: a flow is an invertible map of R^D onto itself, for generators; the %s maps data rows to %s", spec, name,
			map[bounds.Role]string{bounds.Energy: "one energy each", bounds.Encoder: "a latent mean and log-variance"}[role])
	case flow.IsSpec(spec) && bn:
		return nil, fielderr.Errorf("{GeneratorBatchNorm}: the flow generator %s takes no BatchNormalization: batch statistics would couple the rows, and its density needs each row mapped on its own", spec)
	case flow.IsSpec(spec):
		m, err = flow.New(spec, flow.Options{Seed: init, Input: in, Output: name, Name: name})
	default:
		m, err = loadKind(role, spec, field)
	}
	if err != nil {
		return nil, fielderr.Errorf("{"+field+"}: %w", err)
	}
	return m, nil
}

// loadKind loads the ONNX file of an energy or a generator, checking the
// kind an exported model records; an encoder has no kind to check.
func loadKind(role bounds.Role, path, field string) (*onnx.ModelProto, error) {
	switch role {
	case bounds.Energy:
		return export.LoadKind(path, export.KindEnergy, field)
	case bounds.Generator:
		return export.LoadKind(path, export.KindGenerator, field)
	}
	return onnx.Load(path)
}

// plural returns "1 input", "2 inputs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// batchNorm reports whether the network has a BatchNormalization layer.
func (n *network) batchNorm() bool {
	for _, nd := range n.model.GetGraph().GetNode() {
		if nd.GetOpType() == "BatchNormalization" {
			return true
		}
	}
	return false
}
