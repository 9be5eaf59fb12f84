// Command truth writes the true energy −log p(x) of a Gaussian-mixture toy
// set (25gaussians, 8gaussians) as an ONNX model, so that a generator can
// be trained against a fixed, known target (bench/generator.md).
//
// The model computes E(x) = −logsumexp_k(−‖x − c_k‖²/(2σ²)) + log K +
// (D/2)·log(2πσ²), exactly −log of quality.Mixture.LogDensity, so that
// log Z = 0. Its centres are initializers (the trainer wants at least one
// trainable parameter); train with a vanishing energy learning rate
// (--lr-energy 1e-300) and --upper none to keep them fixed.
//
// Usage:
//
//	go run ./bench/truth -data 25gaussians -out truth.onnx
//	go run ./bench/truth -data 25gaussians -sigma 0.1 -out wide.onnx
package main

import (
	"flag"
	"log"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/onnx/mlp"
	"github.com/ebmpipe/ebmpipe/pipeline/quality"
)

func main() {
	data := flag.String("data", "25gaussians", "toy `SET`: 25gaussians or 8gaussians")
	out := flag.String("out", "truth.onnx", "ONNX `FILE` to write")
	sigma := flag.Float64("sigma", 0, "replace the modes' standard deviation by `S` (0: the set's own), for targets that sharpen in stages")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("truth: ")
	m, ok := quality.ToyMixture(*data)
	if !ok {
		log.Fatalf("%q is not a Gaussian-mixture toy set", *data)
	}
	if *sigma < 0 {
		log.Fatalf("-sigma %v: want a positive value or 0", *sigma)
	}
	if *sigma > 0 {
		m.Sigma = *sigma
	}
	model, err := energyModel(m)
	if err != nil {
		log.Fatal(err)
	}
	if err := onnx.Save(*out, model); err != nil {
		log.Fatal(err)
	}
}

// energyModel builds x (batch, D) ↦ −log p(x) (batch, 1) for m.
func energyModel(m quality.Mixture) (*onnx.ModelProto, error) {
	k, dim := len(m.Centres), m.Dim()
	b := mlp.NewBuilder("truth", "bench.truth", 1)
	ct := make([]float32, dim*k) // centres, transposed (D, K)
	cc := make([]float32, k)     // ‖c_k‖²
	for j, c := range m.Centres {
		for i, v := range c {
			ct[i*k+j] = float32(v)
			cc[j] += float32(v * v)
		}
	}
	s2 := m.Sigma * m.Sigma
	b.Init("centres", []int{dim, k}, ct)
	b.Init("centres_sq", []int{1, k}, cc)
	b.Init("minus_two", []int{1}, []float32{-2})
	b.Init("scale", []int{1}, []float32{float32(-1 / (2 * s2))})
	b.Init("offset", []int{1}, []float32{float32(math.Log(float64(k)) + float64(dim)/2*math.Log(2*math.Pi*s2))})
	axis := &onnx.AttributeProto{Name: proto.String("axes"), Type: onnx.AttributeProto_INTS.Enum(), Ints: []int64{1}}
	b.Node("MatMul", "xc", []string{"x", "centres"}, "xc")
	b.Node("Mul", "xc2", []string{"xc", "minus_two"}, "xc2")
	b.Node("ReduceSumSquare", "xx", []string{"x"}, "xx", axis, onnx.NewAttrInt("keepdims", 1))
	b.Node("Add", "d2a", []string{"xc2", "xx"}, "d2a")
	b.Node("Add", "d2", []string{"d2a", "centres_sq"}, "d2")
	b.Node("Mul", "logits", []string{"d2", "scale"}, "logits")
	b.Node("ReduceLogSumExp", "lse", []string{"logits"}, "lse", proto.Clone(axis).(*onnx.AttributeProto), onnx.NewAttrInt("keepdims", 1))
	b.Node("Sub", "y", []string{"offset", "lse"}, "y")
	return b.Model("x", "y", dim, 1, "-log p of a Gaussian mixture")
}
