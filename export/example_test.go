package export_test

import (
	"fmt"
	"log"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// ExampleModel exports PyTorch's opset-9 MLP energy with new output-layer
// biases, a normalisation and an estimate of log Z, then scores a raw row
// with the export.
func ExampleModel() {
	m, err := onnx.Load("../testdata/torch/energy_mlp_opset9.onnx")
	if err != nil {
		log.Fatal(err)
	}
	exp, err := export.Model(m, map[string][]float64{"2.bias": {0.5}}, export.Meta{
		Kind:     export.KindEnergy,
		LogZ:     &export.LogZ{Value: 1.25, StdErr: 0.01, Method: "ais"},
		Shift:    []float64{10, 20},
		Scale:    []float64{2, 4},
		Features: []string{"u", "v"},
	})
	if err != nil {
		log.Fatal(err)
	}
	meta, err := export.ReadMeta(exp)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("opset", onnx.OpsetVersion(exp, ""), "producer", exp.GetProducerName())
	fmt.Println("kind", meta.Kind, "log Z", meta.LogZ, "features", meta.Features)

	// The export takes raw rows: (10, 20) is the origin of the data the
	// network was trained on.
	energy := func(m *onnx.ModelProto, x ...float64) float64 {
		net, err := importers.New(m)
		if err != nil {
			log.Fatal(err)
		}
		ev, err := net.NewEvaluator(1)
		if err != nil {
			log.Fatal(err)
		}
		e, err := ev.Run(x, 1)
		if err != nil {
			log.Fatal(err)
		}
		return e[0][0]
	}
	src, err := export.Model(m, map[string][]float64{"2.bias": {0.5}}, export.Meta{Kind: export.KindEnergy})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("energy at raw (10, 20): %.6f\n", energy(exp, 10, 20))
	fmt.Printf("unnormalised at (0, 0): %.6f\n", energy(src, 0, 0))
	fmt.Printf("log density at (10, 20): %.6f\n", -energy(exp, 10, 20)-meta.LogZ.Value)
	// Output:
	// opset 17 producer ebmpipe
	// kind energy log Z 1.25 ± 0.01 (ais) features [u v]
	// energy at raw (10, 20): 0.387682
	// unnormalised at (0, 0): 0.387682
	// log density at (10, 20): -1.637682
}

// ExampleModelWith exports a dynamo-style opset 20 energy, with Gelu, at
// opset 23 and at opset 18, where Gelu is written with Erf.
func ExampleModelWith() {
	m, err := onnx.Load("../testdata/opset/energy_mlp_gelu_o20.onnx")
	if err != nil {
		log.Fatal(err)
	}
	for _, opset := range []int64{23, 18} {
		exp, err := export.ModelWith(m, nil, export.Meta{Kind: export.KindEnergy}, export.Options{Opset: opset})
		if err != nil {
			log.Fatal(err)
		}
		gelu, erf := 0, 0
		for _, n := range exp.GetGraph().GetNode() {
			switch n.GetOpType() {
			case "Gelu":
				gelu++
			case "Erf":
				erf++
			}
		}
		fmt.Printf("opset %d (IR %d): %d Gelu, %d Erf\n", onnx.OpsetVersion(exp, ""), exp.GetIrVersion(), gelu, erf)
	}
	// Output:
	// opset 23 (IR 11): 2 Gelu, 0 Erf
	// opset 18 (IR 8): 0 Gelu, 2 Erf
}
