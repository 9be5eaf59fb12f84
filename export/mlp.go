package export

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

// MLPActivations lists the hidden-layer activations an MLP spec may name;
// the first is the default.
var MLPActivations = []string{"prelu", "silu", "softplus", "leakyrelu", "tanh", "elu", "relu"}

// LeakyReLUSlope is the negative slope of the "leakyrelu" activation, the
// value of the paper's image networks.
const LeakyReLUSlope = 0.1

// An MLPSpec is a parsed "mlp:2-128-128-1[:act]" specification: the widths
// of the layers from input to output and the hidden activation.
type MLPSpec struct {
	Sizes      []int
	Activation string
}

// In returns the input width.
func (s MLPSpec) In() int { return s.Sizes[0] }

// Out returns the output width.
func (s MLPSpec) Out() int { return s.Sizes[len(s.Sizes)-1] }

// String returns the spec in the form ParseMLP reads.
func (s MLPSpec) String() string {
	parts := make([]string, len(s.Sizes))
	for i, n := range s.Sizes {
		parts[i] = strconv.Itoa(n)
	}
	return "mlp:" + strings.Join(parts, "-") + ":" + s.Activation
}

// IsMLP reports whether spec names a built-in MLP rather than a file.
func IsMLP(spec string) bool { return strings.HasPrefix(spec, "mlp:") }

// ParseMLP parses "mlp:W0-W1-...-Wn" or "mlp:W0-...-Wn:ACT": at least an
// input and an output width, every width at least 1, ACT one of
// MLPActivations (default "prelu").
func ParseMLP(spec string) (MLPSpec, error) {
	rest, ok := strings.CutPrefix(spec, "mlp:")
	if !ok {
		return MLPSpec{}, fmt.Errorf("MLP spec %q: want mlp:IN-HIDDEN-...-OUT[:ACTIVATION]", spec)
	}
	widths, act, hasAct := strings.Cut(rest, ":")
	s := MLPSpec{Activation: MLPActivations[0]}
	if hasAct {
		act = strings.ToLower(act)
		known := false
		for _, a := range MLPActivations {
			known = known || a == act
		}
		if !known {
			return MLPSpec{}, fmt.Errorf("MLP spec %q: unknown activation %q (known: %s)", spec, act, strings.Join(MLPActivations, ", "))
		}
		s.Activation = act
	}
	for _, w := range strings.Split(widths, "-") {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 || n > 1<<20 {
			return MLPSpec{}, fmt.Errorf("MLP spec %q: layer width %q is not a whole number from 1 to %d", spec, w, 1<<20)
		}
		s.Sizes = append(s.Sizes, n)
	}
	if len(s.Sizes) < 2 {
		return MLPSpec{}, fmt.Errorf("MLP spec %q: need at least an input and an output width", spec)
	}
	return s, nil
}

// MLPOptions tune the model MLP builds.
type MLPOptions struct {
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

// MLP builds the ONNX model (IR 8, opset 13, FLOAT) of a multilayer
// perceptron described by spec (see ParseMLP), with a dynamic batch
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
func MLP(spec string, opt MLPOptions) (*onnx.ModelProto, error) {
	s, err := ParseMLP(spec)
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
	h.Write([]byte("export.MLP"))
	r := rand.New(rand.NewPCG(opt.Seed, h.Sum64()))

	g := &onnx.GraphProto{Name: proto.String(name)}
	node := func(op, nodeName string, ins []string, outName string, attrs ...*onnx.AttributeProto) {
		g.Node = append(g.Node, &onnx.NodeProto{
			Name: proto.String(nodeName), OpType: proto.String(op),
			Input: ins, Output: []string{outName}, Attribute: attrs,
		})
	}
	init := func(name string, shape []int, data []float32) {
		g.Initializer = append(g.Initializer, onnx.NewTensorFloat32(name, shape, data))
	}
	uniform := func(n int, bound float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((2*r.Float64() - 1) * bound)
		}
		return v
	}
	full := func(n int, x float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = x
		}
		return v
	}

	cur := in
	layers := len(s.Sizes) - 1
	for k := range layers {
		fanIn, fanOut := s.Sizes[k], s.Sizes[k+1]
		fc := fmt.Sprintf("fc%d", k)
		bound := 1 / math.Sqrt(float64(fanIn))
		init(fc+".weight", []int{fanOut, fanIn}, uniform(fanOut*fanIn, bound))
		init(fc+".bias", []int{fanOut}, uniform(fanOut, bound))
		next := fc
		if k == layers-1 {
			next = out
		}
		node("Gemm", fc, []string{cur, fc + ".weight", fc + ".bias"}, next, intAttr("transB", 1))
		cur = next
		if k == layers-1 {
			break
		}
		if opt.BatchNorm {
			bn := fmt.Sprintf("bn%d", k)
			init(bn+".weight", []int{fanOut}, full(fanOut, 1))
			init(bn+".bias", []int{fanOut}, full(fanOut, 0))
			init(bn+".running_mean", []int{fanOut}, full(fanOut, 0))
			init(bn+".running_var", []int{fanOut}, full(fanOut, 1))
			node("BatchNormalization", bn,
				[]string{cur, bn + ".weight", bn + ".bias", bn + ".running_mean", bn + ".running_var"}, bn,
				floatAttr("epsilon", 1e-5), floatAttr("momentum", 0.9))
			cur = bn
		}
		act := fmt.Sprintf("act%d", k)
		switch s.Activation {
		case "prelu":
			init(act+".slope", []int{1}, []float32{0.25})
			node("PRelu", act, []string{cur, act + ".slope"}, act)
		case "silu":
			node("Sigmoid", act+".sigmoid", []string{cur}, act+".sigmoid")
			node("Mul", act, []string{cur, act + ".sigmoid"}, act)
		case "leakyrelu":
			node("LeakyRelu", act, []string{cur}, act, floatAttr("alpha", LeakyReLUSlope))
		case "softplus":
			node("Softplus", act, []string{cur}, act)
		case "tanh":
			node("Tanh", act, []string{cur}, act)
		case "elu":
			node("Elu", act, []string{cur}, act, floatAttr("alpha", 1))
		case "relu":
			node("Relu", act, []string{cur}, act)
		}
		cur = act
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

func intAttr(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func floatAttr(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}
