package mlp

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/internal/fielderr"
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
	sizes, act, err := SplitSpec(rest, "layer width", Activations)
	if err != nil {
		return Spec{}, fmt.Errorf("MLP spec %q: %w", spec, err)
	}
	s := Spec{Sizes: sizes, Activation: act}
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

// MaxWidth bounds every number of a built-in spec.
const MaxWidth = 1 << 20

// SplitSpec reads the body of a built-in spec, "N-N-...[:ACT]" after its
// prefix: whole numbers from 1 to MaxWidth (errors call one a noun) and
// an activation among activations, case-insensitive (the first if none is
// named).
func SplitSpec(body, noun string, activations []string) (nums []int, act string, err error) {
	widths, act, hasAct := strings.Cut(body, ":")
	if !hasAct {
		act = activations[0]
	}
	act = strings.ToLower(act)
	if !slices.Contains(activations, act) {
		return nil, "", fmt.Errorf("unknown activation %q (known: %s)", act, strings.Join(activations, ", "))
	}
	for _, w := range strings.Split(widths, "-") {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 || n > MaxWidth {
			return nil, "", fmt.Errorf("%s %q is not a whole number from 1 to %d", noun, w, MaxWidth)
		}
		nums = append(nums, n)
	}
	return nums, act, nil
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

// DefaultOptions returns the options whose zero values stand for them:
// seed 0, no BatchNorm, input "x", output "y", graph "mlp".
func DefaultOptions() Options { return Options{Input: "x", Output: "y", Name: "mlp"} }

// names returns the input, output and graph names, defaults filled in.
func (opt *Options) names() (in, out, name string) {
	return cmp.Or(opt.Input, "x"), cmp.Or(opt.Output, "y"), cmp.Or(opt.Name, "mlp")
}

// Check reports every invalid option: the input and the output must have
// different names.
func (opt *Options) Check() error {
	var errs []error
	if in, out, _ := opt.names(); in == out {
		errs = append(errs, fielderr.Errorf("{Input} and {Output} are both named %q", in))
	}
	return errors.Join(errs...)
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
	if err := opt.Check(); err != nil {
		return nil, fmt.Errorf("MLP %s: %w", spec, err)
	}
	in, out, name := opt.names()
	// The stream's name since before the move: same seed, same weights.
	b := NewBuilder(name, "export.MLP", opt.Seed)
	cur := in
	layers := len(s.Sizes) - 1
	for k := range layers {
		fanIn, fanOut := s.Sizes[k], s.Sizes[k+1]
		next := fmt.Sprintf("fc%d", k)
		if k == layers-1 {
			next = out
		}
		cur = b.Linear(fmt.Sprintf("fc%d", k), cur, next, fanIn, fanOut, 1)
		if k == layers-1 {
			break
		}
		if opt.BatchNorm {
			bn := fmt.Sprintf("bn%d", k)
			b.Init(bn+".weight", []int{fanOut}, full(fanOut, 1))
			b.Init(bn+".bias", []int{fanOut}, full(fanOut, 0))
			b.Init(bn+".running_mean", []int{fanOut}, full(fanOut, 0))
			b.Init(bn+".running_var", []int{fanOut}, full(fanOut, 1))
			b.Node("BatchNormalization", bn,
				[]string{cur, bn + ".weight", bn + ".bias", bn + ".running_mean", bn + ".running_var"}, bn,
				onnx.NewAttrFloat("epsilon", 1e-5), onnx.NewAttrFloat("momentum", 0.9))
			cur = bn
		}
		cur = b.Activation(s.Activation, fmt.Sprintf("act%d", k), cur)
	}
	m, err := b.Model(in, out, s.In(), s.Out(), s.String())
	if err != nil {
		return nil, fmt.Errorf("MLP %s: %w", spec, err)
	}
	return m, nil
}

// A Builder adds nodes and initializers to a graph, drawing initial
// weights from a seeded stream: the building blocks of the models of New
// and of other built-in specs.
type Builder struct {
	G *onnx.GraphProto
	r *rand.Rand
}

// NewBuilder returns a Builder of an empty graph called name whose
// weights come from the PCG stream of seed and the stream name stream.
func NewBuilder(name, stream string, seed uint64) *Builder {
	h := fnv.New64a()
	h.Write([]byte(stream))
	return &Builder{G: &onnx.GraphProto{Name: proto.String(name)}, r: rand.New(rand.NewPCG(seed, h.Sum64()))}
}

// Node adds a node of type op called nodeName with one output.
func (b *Builder) Node(op, nodeName string, ins []string, outName string, attrs ...*onnx.AttributeProto) {
	b.G.Node = append(b.G.Node, &onnx.NodeProto{
		Name: proto.String(nodeName), OpType: proto.String(op),
		Input: ins, Output: []string{outName}, Attribute: attrs,
	})
}

// Init adds a FLOAT initializer.
func (b *Builder) Init(name string, shape []int, data []float32) {
	b.G.Initializer = append(b.G.Initializer, onnx.NewTensorFloat32(name, shape, data))
}

// Uniform draws n values uniformly in (−bound, bound).
func (b *Builder) Uniform(n int, bound float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((2*b.r.Float64() - 1) * bound)
	}
	return v
}

// Linear adds the layer fc, a Gemm (transB=1) of in with initializers
// "fc.weight" (fanOut × fanIn) and "fc.bias" drawn as PyTorch's Linear
// draws them, times scale: uniformly in (−scale/√fanIn, scale/√fanIn).
// It returns out, the layer's output.
func (b *Builder) Linear(fc, in, out string, fanIn, fanOut int, scale float64) string {
	bound := scale / math.Sqrt(float64(fanIn))
	b.Init(fc+".weight", []int{fanOut, fanIn}, b.Uniform(fanOut*fanIn, bound))
	b.Init(fc+".bias", []int{fanOut}, b.Uniform(fanOut, bound))
	b.Node("Gemm", fc, []string{in, fc + ".weight", fc + ".bias"}, out, onnx.NewAttrInt("transB", 1))
	return out
}

// Model returns the validated model (IR 8, opset 13, FLOAT) of the graph,
// with input in (batch, inWidth), output out (batch, outWidth) and doc as
// its doc string.
func (b *Builder) Model(in, out string, inWidth, outWidth int, doc string) (*onnx.ModelProto, error) {
	b.G.Input = []*onnx.ValueInfoProto{
		onnx.NewValueInfo(in, onnx.TensorProto_FLOAT, onnx.Dim{Param: "batch"}, onnx.Dim{Value: int64(inWidth)}),
	}
	b.G.Output = []*onnx.ValueInfoProto{
		onnx.NewValueInfo(out, onnx.TensorProto_FLOAT, onnx.Dim{Param: "batch"}, onnx.Dim{Value: int64(outWidth)}),
	}
	m := &onnx.ModelProto{
		IrVersion:       proto.Int64(8),
		OpsetImport:     []*onnx.OperatorSetIdProto{{Version: proto.Int64(13)}},
		ProducerName:    proto.String("ebmpipe"),
		DocString:       proto.String(doc),
		Graph:           b.G,
		ModelVersion:    proto.Int64(1),
		ProducerVersion: proto.String("1"),
	}
	if err := onnx.Validate(m); err != nil {
		return nil, err
	}
	return m, nil
}

// full returns n copies of x.
func full(n int, x float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = x
	}
	return v
}

// Activation adds the activation called activation (one of Activations)
// of cur, as node act, and returns its output.
func (b *Builder) Activation(activation, act, cur string) string {
	switch activation {
	case "prelu":
		b.Init(act+".slope", []int{1}, []float32{0.25})
		b.Node("PRelu", act, []string{cur, act + ".slope"}, act)
	case "silu":
		b.Node("Sigmoid", act+".sigmoid", []string{cur}, act+".sigmoid")
		b.Node("Mul", act, []string{cur, act + ".sigmoid"}, act)
	case "leakyrelu":
		b.Node("LeakyRelu", act, []string{cur}, act, onnx.NewAttrFloat("alpha", LeakyReLUSlope))
	case "softplus":
		b.Node("Softplus", act, []string{cur}, act)
	case "tanh":
		b.Node("Tanh", act, []string{cur}, act)
	case "elu":
		b.Node("Elu", act, []string{cur}, act, onnx.NewAttrFloat("alpha", 1))
	case "relu":
		b.Node("Relu", act, []string{cur}, act)
	}
	return act
}
