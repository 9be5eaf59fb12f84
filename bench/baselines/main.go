// Command baselines prints the reference log-likelihoods of the toy sets
// that the recipe study (bench/study.sh, README "Recipes") compares with:
// a single Gaussian fitted to 100 000 training points (seed 1, as
// training draws them) and, where the density is known in closed form
// (pipeline/quality.ExactDensity), the true density, both on the 10 000
// held-out points bench/study scores (seed 99), in nats per example.
//
// Usage:
//
//	go run ./bench/baselines
package main

import (
	"fmt"
	"log"

	"github.com/ebmpipe/ebmpipe/pipeline/evaluate"
	"github.com/ebmpipe/ebmpipe/pipeline/quality"
	"github.com/ebmpipe/ebmpipe/train/data"
)

func main() {
	fmt.Println("data,gaussian_ll,exact_ll")
	for _, name := range data.ToyNames() {
		trainSet, err := data.LoadData("toy:"+name, 100000, 1)
		if err != nil {
			log.Fatal(err)
		}
		test, err := data.LoadData("toy:"+name, 10000, 99)
		if err != nil {
			log.Fatal(err)
		}
		exact := "NaN"
		if d, ok := quality.ExactDensity(name); ok {
			m, err := quality.MeanLogDensity(d, test.Raw())
			if err != nil {
				log.Fatalf("%s: %v", name, err)
			}
			exact = fmt.Sprintf("%.4f", m)
		}
		g := evaluate.GaussianLogLik(trainSet.Raw(), test)
		fmt.Printf("%s,%.4f,%s\n", name, g.Mean, exact)
	}
}
