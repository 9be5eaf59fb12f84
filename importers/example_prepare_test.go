package importers_test

import (
	"fmt"
	"log"

	"github.com/ebmpipe/ebmpipe/importers"
)

// ExampleLoad imports torch 1.13's DCGAN generator: the BatchNorm
// statistics torch aliased to the weight and bias through Identity nodes
// are parameters of their own, and the output declared
// [batch, 1, Tanhx_dim_2, Tanhx_dim_3] is found to be 28×28.
func ExampleLoad() {
	net, err := importers.Load("../testdata/torchquirks/generator_dcgan28.onnx")
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range net.Params() {
		if p.Name == "c.2.running_mean" || p.Name == "c.2.running_var" {
			fmt.Println(p.Name, p.Shape, "trainable:", p.Trainable)
		}
	}
	fmt.Println("output", net.Outputs()[0].Dims)
	// Output:
	// c.2.running_var [32] trainable: false
	// c.2.running_mean [32] trainable: false
	// output [batch 1 28 28]
}
