package train_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/metrics"
)

func ExampleRun() {
	dir, err := os.MkdirTemp("", "ebm")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	o := train.DefaultOptions() // the paper's toy networks, the default recipe
	// Smooth networks: the diffusion bound is then a bound (given C).
	o.Energy, o.Generator = "mlp:2-32-32-1:softplus", "mlp:2-32-32-2:softplus"
	o.Steps, o.LogEvery, o.CheckpointEvery = 20, 10, 10
	o.Out = dir
	res, err := train.Run(context.Background(), o, train.Hooks{})
	if err != nil {
		log.Fatal(err)
	}
	m := res.Metrics
	fmt.Println("iterations:", res.Steps)
	fmt.Println("bracket ordered:", m.Get(metrics.ColLower) <= m.Get(metrics.ColUpper))
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	// Output:
	// iterations: 20
	// bracket ordered: true
	// checkpoint
	// energy.onnx
	// generator.onnx
	// metrics.csv
}
