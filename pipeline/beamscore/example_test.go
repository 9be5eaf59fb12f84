package beamscore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ebmpipe/ebmpipe/pipeline/beamscore"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"
)

// Score two files on the prism runner, in this process. (A program calls
// beamscore.Init first in main; the package's tests do it in TestMain.)
func ExampleRun() {
	dir, err := os.MkdirTemp("", "beamscore-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("x0,x1\n0.5,1\n-1,2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.jsonl"), []byte("[0.1, 0.2]\n"), 0o644)

	o := beamscore.DefaultOptions()
	o.Model = "../../testdata/torch/energy_silu.onnx"
	o.Engine = engine.Go
	o.Inputs = []string{filepath.Join(dir, "*.csv"), filepath.Join(dir, "*.jsonl")}
	o.Output = filepath.Join(dir, "out", "scores")
	st, err := beamscore.Run(context.Background(), o)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Rows, "rows scored")
	for _, s := range st.Shards {
		fmt.Println(filepath.Base(s))
	}
	// Output:
	// 3 rows scored
	// scores-00000-of-00002.csv
	// scores-00001-of-00002.csv
}
