package data_test

import (
	"fmt"
	"log"

	"github.com/ebmpipe/ebmpipe/train/data"
)

func ExampleToy() {
	points, err := data.Toy("25gaussians", 1000, 1)
	if err != nil {
		log.Fatal(err)
	}
	for i := range 3 {
		fmt.Printf("(%.2f, %.2f)\n", points[2*i], points[2*i+1])
	}
	_, err = data.Toy("gaussians", 10, 1)
	fmt.Println(err)
	// Output:
	// (1.40, 0.71)
	// (0.02, 0.71)
	// (-0.02, 1.39)
	// unknown toy data set "gaussians" (known: 25gaussians, 2spirals, 8gaussians, checkerboard, moons, pinwheel, rings, swissroll)
}

func ExampleLoadData() {
	d, err := data.LoadData("toy:moons", 500, 7)
	if err != nil {
		log.Fatal(err)
	}
	d.Standardize()
	trainSet, testSet := d.Split(0.2, 7)
	fmt.Println(d.Source, d.Rows, "rows of", d.RowShape)
	fmt.Println(trainSet.Rows, "to train on,", testSet.Rows, "to test")

	s, err := data.NewSampler(trainSet, 7)
	if err != nil {
		log.Fatal(err)
	}
	batch := make([]float64, 200*trainSet.Width)
	for range 3 {
		s.Next(batch)
	}
	fmt.Println("600 rows drawn, now in epoch", s.Epoch())
	// Output:
	// toy:moons 500 rows of [2]
	// 400 to train on, 100 to test
	// 600 rows drawn, now in epoch 1
}
