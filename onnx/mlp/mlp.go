package mlp

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/onnx"
)

// Activations lists the hidden-layer activations an MLP spec may name;
// the first is the default.
var Activations = []string{"prelu", "silu", "softplus", "leakyrelu", "tanh", "elu", "relu"}

// LeakyReLUSlope is the negative slope of the "leakyrelu" activation, the
// value of the paper's image networks.
const LeakyReLUSlope = 0.1

// A Spec is a parsed "mlp:2-128-128-1[:act]" specification: the widths
// of the layers from input to output and the hidden activation.
type Spec struct {
	Sizes      []int
	Activation string
}

// In returns the input width.
func (s Spec) In() int { return s.Sizes[0] }

// Out returns the output width.
func (s Spec) Out() int { return s.Sizes[len(s.Sizes)-1] }

// String returns the spec in the form Parse reads.
func (s Spec) String() string {
	parts := make([]string, len(s.Sizes))
	for i, n := range s.Sizes {
		parts[i] = strconv.Itoa(n)
	}
	return "mlp:" + strings.Join(parts, "-") + ":" + s.Activation
}

// IsSpec reports whether spec names a built-in MLP rather than a file.
func IsSpec(spec string) bool { return strings.HasPrefix(spec, "mlp:") }

// Parse parses "mlp:W0-W1-...-Wn" or "mlp:W0-...-Wn:ACT": at least an
// input and an output width, every width at least 1, ACT one of
// Activations (default "prelu").
func Parse(spec string) (Spec, error) {
	rest, ok := strings.CutPrefix(spec, "mlp:")
	if !ok {
		return Spec{}, fmt.Errorf("MLP spec %q: want mlp:IN-HIDDEN-...-OUT[:ACTIVATION]", spec)
	}
	widths, act, hasAct := strings.Cut(rest, ":")
	s := Spec{Activation: Activations[0]}
	if hasAct {
		act = strings.ToLower(act)
		known := false
		for _, a := range Activations {
			known = known || a == act
		}
		if !known {
			return Spec{}, fmt.Errorf("MLP spec %q: unknown activation %q (known: %s)", spec, act, strings.Join(Activations, ", "))
		}
		s.Activation = act
	}
	for _, w := range strings.Split(widths, "-") {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 || n > 1<<20 {
			return Spec{}, fmt.Errorf("MLP spec %q: layer width %q is not a whole number from 1 to %d", spec, w, 1<<20)
		}
		s.Sizes = append(s.Sizes, n)
	}
	if len(s.Sizes) < 2 {
		return Spec{}, fmt.Errorf("MLP spec %q: need at least an input and an output width", spec)
	}
	params := 0
	for k := 1; k < len(s.Sizes); k++ {
		params += (s.Sizes[k-1] + 1) * s.Sizes[k]
	}
	if params > MaxParams {
		return Spec{}, fmt.Errorf("MLP spec %q: %d parameters, over the limit of %d", spec, params, MaxParams)
	}
	return s, nil
}

// MaxParams bounds the weights and biases of an MLP spec, so that a typo
// in a width cannot exhaust memory: training holds several copies of each
// parameter (values, gradients, Adam's moments) besides the activations.
const MaxParams = 1 << 24

// Options tune the model New builds.
type Options struct {
	// Seed draws the initial weights: the same spec, options and seed
	// always give the same model.
	Seed uint64
	// BatchNorm adds a BatchNormalization after every hidden layer's Gemm,
	// before its activation, as in the paper's toy generator.
	BatchNorm bool
	// Input and Output name the graph's input and output ("x" and "y" if
	// empty).
	Input, Output string
	// Name is the graph's name ("mlp" if empty).
	Name string
}

// New builds the ONNX model (IR 8, opset 13, FLOAT) of a multilayer
// perceptron described by spec (see Parse), with a dynamic batch
// dimension "batch": input (batch, In), output (batch, Out). Layer k is a
// Gemm with transB=1 and initializers "fcK.weight" (out × in, as PyTorch's
// Linear stores it) and "fcK.bias"; every layer but the last is followed,
// with BatchNorm, by a BatchNormalization "bnK" (weight, bias,
// running_mean, running_var; epsilon 1e-5, momentum 0.9 as ONNX counts it,
// i.e. PyTorch's 0.1), and by the activation: PRelu with one slope
// "actK.slope" (initially 0.25, as PyTorch's nn.PReLU()), SiLU as
// x·Sigmoid(x), LeakyRelu (slope LeakyReLUSlope), Softplus, Tanh, Elu
// (alpha 1) or Relu.
//
// Weights and biases start as PyTorch's default Linear initialisation
// does, uniformly in (−1/√in, 1/√in), drawn from a PCG stream seeded with
// opt.Seed.
func New(spec string, opt Options) (*onnx.ModelProto, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	in, out, name := opt.Input, opt.Output, opt.Name
	if in == "" {
		in = "x"
	}
	if out == "" {
		out = "y"
	}
	if name == "" {
		name = "mlp"
	}
	if in == out {
		return nil, fmt.Errorf("MLP %s: input and output are both named %q", spec, in)
	}
	h := fnv.New64a()
	h.Write([]byte("export.MLP")) // the stream's name since before the move: same seed, same weights
	r := rand.New(rand.NewPCG(opt.Seed, h.Sum64()))

	b := &builder{g: &onnx.GraphProto{Name: proto.String(name)}, r: r}
	g := b.g

	cur := in
	layers := len(s.Sizes) - 1
	for k := range layers {
		fanIn, fanOut := s.Sizes[k], s.Sizes[k+1]
		fc := fmt.Sprintf("fc%d", k)
		bound := 1 / math.Sqrt(float64(fanIn))
		b.init(fc+".weight", []int{fanOut, fanIn}, b.uniform(fanOut*fanIn, bound))
		b.init(fc+".bias", []int{fanOut}, b.uniform(fanOut, bound))
		next := fc
		if k == layers-1 {
			next = out
		}
		b.node("Gemm", fc, []string{cur, fc + ".weight", fc + ".bias"}, next, onnx.NewAttrInt("transB", 1))
		cur = next
		if k == layers-1 {
			break
		}
		if opt.BatchNorm {
			bn := fmt.Sprintf("bn%d", k)
			b.init(bn+".weight", []int{fanOut}, full(fanOut, 1))
			b.init(bn+".bias", []int{fanOut}, full(fanOut, 0))
			b.init(bn+".running_mean", []int{fanOut}, full(fanOut, 0))
			b.init(bn+".running_var", []int{fanOut}, full(fanOut, 1))
			b.node("BatchNormalization", bn,
				[]string{cur, bn + ".weight", bn + ".bias", bn + ".running_mean", bn + ".running_var"}, bn,
				onnx.NewAttrFloat("epsilon", 1e-5), onnx.NewAttrFloat("momentum", 0.9))
			cur = bn
		}
		cur = b.activation(s.Activation, fmt.Sprintf("act%d", k), cur)
	}
	g.Input = []*onnx.ValueInfoProto{
		onnx.NewValueInfo(in, onnx.TensorProto_FLOAT, onnx.Dim{Param: "batch"}, onnx.Dim{Value: int64(s.In())}),
	}
	g.Output = []*onnx.ValueInfoProto{
		onnx.NewValueInfo(out, onnx.TensorProto_FLOAT, onnx.Dim{Param: "batch"}, onnx.Dim{Value: int64(s.Out())}),
	}
	m := &onnx.ModelProto{
		IrVersion:       proto.Int64(8),
		OpsetImport:     []*onnx.OperatorSetIdProto{{Version: proto.Int64(13)}},
		ProducerName:    proto.String("ebmpipe"),
		DocString:       proto.String(s.String()),
		Graph:           g,
		ModelVersion:    proto.Int64(1),
		ProducerVersion: proto.String("1"),
	}
	if err := onnx.Validate(m); err != nil {
		return nil, fmt.Errorf("MLP %s: %w", spec, err)
	}
	return m, nil
}

// A builder adds the nodes and initializers of an MLP to a graph, drawing
// initial weights from r.
type builder struct {
	g *onnx.GraphProto
	r *rand.Rand
}

func (b *builder) node(op, nodeName string, ins []string, outName string, attrs ...*onnx.AttributeProto) {
	b.g.Node = append(b.g.Node, &onnx.NodeProto{
		Name: proto.String(nodeName), OpType: proto.String(op),
		Input: ins, Output: []string{outName}, Attribute: attrs,
	})
}

func (b *builder) init(name string, shape []int, data []float32) {
	b.g.Initializer = append(b.g.Initializer, onnx.NewTensorFloat32(name, shape, data))
}

// uniform draws n values uniformly in (−bound, bound).
func (b *builder) uniform(n int, bound float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((2*b.r.Float64() - 1) * bound)
	}
	return v
}

// full returns n copies of x.
func full(n int, x float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = x
	}
	return v
}

// activation adds the activation called activation of cur, as node act,
// and returns its output.
func (b *builder) activation(activation, act, cur string) string {
	switch activation {
	case "prelu":
		b.init(act+".slope", []int{1}, []float32{0.25})
		b.node("PRelu", act, []string{cur, act + ".slope"}, act)
	case "silu":
		b.node("Sigmoid", act+".sigmoid", []string{cur}, act+".sigmoid")
		b.node("Mul", act, []string{cur, act + ".sigmoid"}, act)
	case "leakyrelu":
		b.node("LeakyRelu", act, []string{cur}, act, onnx.NewAttrFloat("alpha", LeakyReLUSlope))
	case "softplus":
		b.node("Softplus", act, []string{cur}, act)
	case "tanh":
		b.node("Tanh", act, []string{cur}, act)
	case "elu":
		b.node("Elu", act, []string{cur}, act, onnx.NewAttrFloat("alpha", 1))
	case "relu":
		b.node("Relu", act, []string{cur}, act)
	}
	return act
}
