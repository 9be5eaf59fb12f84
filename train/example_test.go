package train_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/data"
)

func ExampleAdam() {
	// Minimise f(x, y) = (x − 3)² + 10·(y + 1)².
	params := [][]float64{{0, 0}}
	grad := [][]float64{make([]float64, 2)}
	opt := train.NewAdam(0.05) // β1 = 0, β2 = 0.9, Eps = 1e-6
	for range 500 {
		x, y := params[0][0], params[0][1]
		grad[0][0], grad[0][1] = 2*(x-3), 20*(y+1)
		opt.Step(params, grad)
	}
	fmt.Printf("x = %.2f, y = %.2f after %d steps\n", params[0][0], params[0][1], opt.Steps())
	// Output:
	// x = 3.00, y = -1.00 after 500 steps
}

func ExampleSaveCheckpoint() {
	dir, err := os.MkdirTemp("", "ckpt")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dir = filepath.Join(dir, "checkpoint")

	opt := train.NewAdam(2e-4)
	params := [][]float64{{1, 2, 3, 4}}
	opt.Step(params, [][]float64{{0.1, 0.1, -0.1, 0}})
	z := data.NewRNG(1, "z")
	zState, _ := z.MarshalBinary()
	c := &train.Checkpoint{
		Step:       500,
		Params:     map[string]train.Tensor{"w": {Shape: []int{2, 2}, Data: params[0]}},
		Optimizers: map[string]train.AdamState{"w": opt.State()},
		RNG:        map[string][]byte{"z": zState},
		Meta:       map[string]string{"data": "toy:25gaussians"},
	}
	if err := train.SaveCheckpoint(dir, c); err != nil {
		log.Fatal(err)
	}

	c, err = train.LoadCheckpoint(dir)
	if err != nil {
		log.Fatal(err)
	}
	resumed := &train.Adam{}
	if err := resumed.SetState(c.Optimizers["w"], [][]float64{c.Params["w"].Data}); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("step %d params %.6g adam steps %d %s\n", c.Step, c.Params["w"].Data, resumed.Steps(), c.Meta["data"])
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		fmt.Println(f.Name())
	}
	// Output:
	// step 500 params [0.9998 1.9998 3.0002 4] adam steps 1 toy:25gaussians
	// latest
	// step-000500.ckpt
}

func ExampleOptions_ApplyRecipe() {
	o := train.DefaultOptions() // the default recipe
	fmt.Println(o.Upper, o.LREnergy, o.LRSchedule, o.EMA)
	if err := o.ApplyRecipe(train.RecipePaper); err != nil {
		log.Fatal(err)
	}
	o.LREnergy = 5e-4 // set after the recipe, a setting of its own wins
	fmt.Println(o.Upper, o.LREnergy, o.LRSchedule, o.EMA)
	fmt.Println(o.ApplyRecipe("fast"))
	// Output:
	// diffusion 0.003 cosine 0.999
	// gp 0.0005 constant 0
	// unknown recipe "fast": want default, paper or modes
}
