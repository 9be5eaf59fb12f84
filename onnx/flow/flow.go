package flow

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/onnx/mlp"
)

// Activations lists the hidden-layer activations of the coupling networks
// a flow spec may name (smooth ones: the bounds differentiate the
// generator's log-determinant); the first is the default.
var Activations = []string{"tanh", "silu", "softplus"}

// DefaultClamp is the default bound on each log-scale of a coupling layer.
const DefaultClamp = 2

// headScale scales PyTorch's initialisation bound for the layers giving
// the log-scales and shifts, so that a new flow is close to the identity.
const headScale = 0.01

// A Spec is a parsed "flow:D-K-H[-H...][:act]" specification.
type Spec struct {
	// Dim is the width D of the input and of the output.
	Dim int
	// Layers is the number K of affine coupling layers.
	Layers int
	// Hidden are the widths of the hidden layers of each coupling
	// layer's network.
	Hidden []int
	// Activation is the hidden layers' activation.
	Activation string
}

// String returns the spec in the form Parse reads.
func (s Spec) String() string {
	parts := []string{strconv.Itoa(s.Dim), strconv.Itoa(s.Layers)}
	for _, h := range s.Hidden {
		parts = append(parts, strconv.Itoa(h))
	}
	return "flow:" + strings.Join(parts, "-") + ":" + s.Activation
}

// IsSpec reports whether spec names a built-in flow rather than a file.
func IsSpec(spec string) bool { return strings.HasPrefix(spec, "flow:") }

// Parse parses "flow:D-K-H[-H...][:ACT]": the width D ≥ 2, the number of
// coupling layers K ≥ 1, at least one hidden width H ≥ 1 of the coupling
// networks, ACT one of Activations (default "tanh").
func Parse(spec string) (Spec, error) {
	rest, ok := strings.CutPrefix(spec, "flow:")
	if !ok {
		return Spec{}, fmt.Errorf("flow spec %q: want flow:DIM-LAYERS-HIDDEN[-HIDDEN...][:ACTIVATION]", spec)
	}
	ns, act, err := mlp.SplitSpec(rest, "number", Activations)
	if err != nil {
		return Spec{}, fmt.Errorf("flow spec %q: %w", spec, err)
	}
	s := Spec{Activation: act}
	if len(ns) < 3 {
		return Spec{}, fmt.Errorf("flow spec %q: need a width, a number of coupling layers and at least one hidden width", spec)
	}
	s.Dim, s.Layers, s.Hidden = ns[0], ns[1], ns[2:]
	if s.Dim < 2 {
		return Spec{}, fmt.Errorf("flow spec %q: width %d; a coupling layer splits the input in two, so the width must be at least 2", spec, s.Dim)
	}
	return s, nil
}

// Options tune the model New builds.
type Options struct {
	// Seed draws the initial weights: the same spec, options and seed
	// always give the same model.
	Seed uint64
	// Clamp bounds every log-scale of a coupling layer to (−Clamp, Clamp)
	// (0: DefaultClamp).
	Clamp float64
	// Input and Output name the graph's input and output ("z" and "x" if
	// empty).
	Input, Output string
	// Name is the graph's name ("flow" if empty).
	Name string
}

func (o *Options) defaults() {
	if o.Input == "" {
		o.Input = "z"
	}
	if o.Output == "" {
		o.Output = "x"
	}
	if o.Name == "" {
		o.Name = "flow"
	}
	if o.Clamp == 0 {
		o.Clamp = DefaultClamp
	}
}

// New builds the ONNX model (IR 8, opset 13, FLOAT) of the normalising
// flow described by spec (see Parse): a smooth bijection of R^D with
// input (batch, D) and output (batch, D), "batch" a dynamic dimension.
//
// With h = ⌊D/2⌋, coupling layer k (k = 0…K−1) splits its input y into
// a = y[:, :h] and b = y[:, h:] (Slice) and returns Concat(a, b'), with
//
//	b' = b ⊙ exp(s_k(a)) + t_k(a),   s_k(a) = c · tanh(u_k(a))
//
// where a network of Gemm layers "cK.fcJ" (the hidden widths, then the
// activation) feeds two Gemm heads "cK.scale" (u_k) and "cK.shift" (t_k),
// and c is Options.Clamp, so each log-scale lies in (−c, c): the node
// "cK.logscale" holds s_k. Between layers the coordinates are reversed
// (Gather with constant indices), so the layers alternate which half they
// transform; after the last layer the order is restored. A final
// elementwise affine layer gives x = y ⊙ exp(out.logscale) + out.shift.
// Hence
//
//	log |det ∂x/∂z| = Σ_k Σ_i s_k,i + Σ_i out.logscale_i  > −∞
//
// and det ∂x/∂z > 0 everywhere: the flow never folds. Each layer is
// inverted by b = (b' − t_k(a)) ⊙ exp(−s_k(a)), so the flow is onto R^D.
//
// The hidden layers start as PyTorch's default Linear initialisation, the
// heads at headScale (0.01) of it and the final layer at the identity, so
// a new flow is close to the identity map. Weights come from a PCG stream
// seeded with opt.Seed.
func New(spec string, opt Options) (*onnx.ModelProto, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	opt.defaults()
	if opt.Input == opt.Output {
		return nil, fmt.Errorf("flow %s: input and output are both named %q", spec, opt.Input)
	}
	if !(opt.Clamp > 0) || math.IsInf(opt.Clamp, 0) {
		return nil, fmt.Errorf("flow %s: clamp %v is not a positive number", spec, opt.Clamp)
	}
	b := mlp.NewBuilder(opt.Name, "onnx.flow", opt.Seed)
	fb := &builder{Builder: b, s: s}
	fb.constants(opt.Clamp)
	cur := opt.Input
	for k := range s.Layers {
		if k > 0 {
			cur = fb.reverse(fmt.Sprintf("rev%d", k), cur)
		}
		cur = fb.coupling(fmt.Sprintf("c%d", k), cur)
	}
	if (s.Layers-1)%2 == 1 {
		cur = fb.reverse("rev", cur)
	}
	zeros := make([]float32, s.Dim)
	b.Init("out.logscale", []int{s.Dim}, zeros)
	b.Init("out.shift", []int{s.Dim}, zeros)
	b.Node("Exp", "out.scale", []string{"out.logscale"}, "out.scale")
	b.Node("Mul", "out.mul", []string{cur, "out.scale"}, "out.mul")
	b.Node("Add", "out", []string{"out.mul", "out.shift"}, opt.Output)
	m, err := b.Model(opt.Input, opt.Output, s.Dim, s.Dim, s.String())
	if err != nil {
		return nil, fmt.Errorf("flow %s: %w", spec, err)
	}
	return m, nil
}

// LogScales returns the names of the graph values whose sum over the
// feature axis, plus the sum of "out.logscale", is log |det ∂x/∂z| of a
// model New built from a spec with the given number of layers: the
// log-scales "cK.logscale" (batch, D − ⌊D/2⌋).
func LogScales(layers int) []string {
	names := make([]string, layers)
	for k := range names {
		names[k] = fmt.Sprintf("c%d.logscale", k)
	}
	return names
}

// A builder adds the layers of a flow.
type builder struct {
	*mlp.Builder
	s Spec
}

// constants adds the constant inputs of the Slice, Gather and clamp nodes.
func (fb *builder) constants(clamp float64) {
	d, h := int64(fb.s.Dim), int64(fb.s.Dim/2)
	ints := []struct {
		name string
		v    []int64
	}{{"split.zero", []int64{0}}, {"split.half", []int64{h}}, {"split.end", []int64{d}}, {"split.axis", []int64{1}}}
	for _, c := range ints {
		fb.G.Initializer = append(fb.G.Initializer, onnx.NewTensorInt64(c.name, []int{1}, c.v))
	}
	rev := make([]int64, d)
	for i := range rev {
		rev[i] = d - 1 - int64(i)
	}
	fb.G.Initializer = append(fb.G.Initializer, onnx.NewTensorInt64("reverse.indices", []int{int(d)}, rev))
	// A Constant node, not an initializer: initializers are trained.
	fb.Node("Constant", "clamp", nil, "clamp", &onnx.AttributeProto{
		Name: proto.String("value"), Type: onnx.AttributeProto_TENSOR.Enum(),
		T: onnx.NewTensorFloat32("", []int{1}, []float32{float32(clamp)}),
	})
}

// reverse adds a Gather reversing the feature axis of cur.
func (fb *builder) reverse(name, cur string) string {
	fb.Node("Gather", name, []string{cur, "reverse.indices"}, name, onnx.NewAttrInt("axis", 1))
	return name
}

// coupling adds coupling layer c of input cur and returns its output.
func (fb *builder) coupling(c, cur string) string {
	s := fb.s
	h := s.Dim / 2
	a, bIn := c+".a", c+".b"
	fb.Node("Slice", a, []string{cur, "split.zero", "split.half", "split.axis"}, a)
	fb.Node("Slice", bIn, []string{cur, "split.half", "split.end", "split.axis"}, bIn)
	hid, width := a, h
	for j, w := range s.Hidden {
		fc := fmt.Sprintf("%s.fc%d", c, j)
		hid = fb.Activation(s.Activation, fc+".act", fb.Linear(fc, hid, fc, width, w, 1))
		width = w
	}
	out := s.Dim - h
	u := fb.Linear(c+".scale", hid, c+".scale", width, out, headScale)
	t := fb.Linear(c+".shift", hid, c+".shift", width, out, headScale)
	fb.Node("Tanh", c+".tanh", []string{u}, c+".tanh")
	fb.Node("Mul", c+".logscale", []string{c + ".tanh", "clamp"}, c+".logscale")
	fb.Node("Exp", c+".factor", []string{c + ".logscale"}, c+".factor")
	fb.Node("Mul", c+".bscaled", []string{bIn, c + ".factor"}, c+".bscaled")
	fb.Node("Add", c+".bout", []string{c + ".bscaled", t}, c+".bout")
	fb.Node("Concat", c, []string{a, c + ".bout"}, c, onnx.NewAttrInt("axis", 1))
	return c
}
