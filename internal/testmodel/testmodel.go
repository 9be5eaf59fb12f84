package testmodel

import (
	"math"
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/onnx"
)

// Energy describes a separable energy model of input width len(mu):
//
//	quadratic: E(x) = ½ Σ ((x_j − mu_j) / sigma_j)², log Z = Σ log(√(2π) sigma_j)
//	laplace:   E(x) = Σ |x_j − mu_j| / sigma_j,     log Z = Σ log(2 sigma_j)
type Energy struct {
	Mu, Sigma []float64
	Laplace   bool
	ExtraOut  bool // add a second output, as a model that is not an energy
}

// LogZ returns the exact log Z of the energy.
func (te Energy) LogZ() float64 {
	z := 0.0
	for _, s := range te.Sigma {
		if te.Laplace {
			z += math.Log(2 * s)
		} else {
			z += math.Log(math.Sqrt(2*math.Pi) * s)
		}
	}
	return z
}

// Sample draws n rows from the energy's density.
func (te Energy) Sample(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 99))
	d := len(te.Mu)
	x := make([]float64, n*d)
	for i := range x {
		j := i % d
		v := r.NormFloat64()
		if te.Laplace {
			v = r.ExpFloat64()
			if r.IntN(2) == 0 {
				v = -v
			}
		}
		x[i] = te.Mu[j] + te.Sigma[j]*v
	}
	return x
}

// float32s returns f of every value of x, as float32.
func float32s(x []float64, f func(float64) float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(f(v))
	}
	return out
}

// Model returns the energy as an ONNX model with input x and output energy.
func (te Energy) Model() *onnx.ModelProto {
	d := len(te.Mu)
	batch := onnx.Dim{Param: "batch"}
	node := func(op string, in []string, out string) *onnx.NodeProto {
		return &onnx.NodeProto{Name: proto.String(out), OpType: proto.String(op), Input: in, Output: []string{out}}
	}
	g := &onnx.GraphProto{
		Name:  proto.String("energy"),
		Input: []*onnx.ValueInfoProto{onnx.NewValueInfo("x", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: int64(d)})},
		Initializer: []*onnx.TensorProto{
			onnx.NewTensorFloat32("mu", []int{d}, float32s(te.Mu, func(v float64) float64 { return v })),
			onnx.NewTensorFloat32("inv", []int{d}, float32s(te.Sigma, func(v float64) float64 { return 1 / v })),
			onnx.NewTensorFloat32("half", nil, []float32{0.5}),
			onnx.NewTensorInt64("axes", []int{1}, []int64{1}),
		},
		Node: []*onnx.NodeProto{
			node("Sub", []string{"x", "mu"}, "c"),
			node("Mul", []string{"c", "inv"}, "s"),
		},
		Output: []*onnx.ValueInfoProto{onnx.NewValueInfo("energy", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: 1})},
	}
	if te.Laplace {
		g.Node = append(g.Node,
			node("Abs", []string{"s"}, "q"),
			node("ReduceSum", []string{"q", "axes"}, "energy"))
	} else {
		g.Node = append(g.Node,
			node("Mul", []string{"s", "s"}, "q"),
			node("ReduceSum", []string{"q", "axes"}, "r"),
			node("Mul", []string{"r", "half"}, "energy"))
	}
	if te.ExtraOut {
		g.Output = append(g.Output, onnx.NewValueInfo("s", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: int64(d)}))
	}
	return &onnx.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph:       g,
	}
}

// Generator returns the generator x = mu + sigma ⊙ z, whose samples
// follow the quadratic Energy with the same mu and sigma.
func Generator(mu, sigma []float64) *onnx.ModelProto {
	d := len(mu)
	batch := onnx.Dim{Param: "batch"}
	return &onnx.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph: &onnx.GraphProto{
			Name:  proto.String("generator"),
			Input: []*onnx.ValueInfoProto{onnx.NewValueInfo("z", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: int64(d)})},
			Initializer: []*onnx.TensorProto{
				onnx.NewTensorFloat32("mu", []int{d}, float32s(mu, func(v float64) float64 { return v })),
				onnx.NewTensorFloat32("sigma", []int{d}, float32s(sigma, func(v float64) float64 { return v })),
			},
			Node: []*onnx.NodeProto{
				{Name: proto.String("mul"), OpType: proto.String("Mul"), Input: []string{"z", "sigma"}, Output: []string{"a"}},
				{Name: proto.String("add"), OpType: proto.String("Add"), Input: []string{"a", "mu"}, Output: []string{"x"}},
			},
			Output: []*onnx.ValueInfoProto{onnx.NewValueInfo("x", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: int64(d)})},
		},
	}
}

// ULALaw returns the mean and variance, in one coordinate, of K steps of
// x ← x − (η/2)(x − μ)/σ² + s√η ξ from x₀ ~ N(m0, s0²): with
// a = 1 − η/(2σ²), x_K ~ N(μ + aᴷ(m0 − μ), a²ᴷ s0² + s²η (1 − a²ᴷ)/(1 − a²)).
func ULALaw(mu, sigma, m0, s0, eta, s float64, k int) (mean, variance float64) {
	a := 1 - eta/(2*sigma*sigma)
	ak := math.Pow(a, float64(k))
	return mu + ak*(m0-mu), ak*ak*s0*s0 + s*s*eta*(1-ak*ak)/(1-a*a)
}
