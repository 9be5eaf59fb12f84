package rows_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/ebmpipe/ebmpipe/internal/rows"
)

func ExampleOpenReader() {
	// testdata/points.csv:
	//
	//	x,y
	//	0.5,-1.2
	//	1.5,abc
	//	2,4e-3
	//
	//	-7,8
	r, err := rows.OpenReader("testdata/points.csv", rows.ReadOptions{
		SkipBadRows: true,
		Reject: func(b rows.BadRow) {
			fmt.Println("skipped:", b.Err)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	fmt.Println("columns:", r.Columns())

	// Read two rows at a time.
	buf := make([]float64, 2*r.Width())
	for {
		n, err := r.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		for i := range n {
			fmt.Println(buf[i*r.Width() : (i+1)*r.Width()])
		}
	}
	// Output:
	// columns: [x y]
	// skipped: testdata/points.csv:3: column 2: "abc" is not a number
	// [0.5 -1.2]
	// [2 0.004]
	// [-7 8]
}

func ExampleCreateWriter() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "scores.jsonl")

	w, err := rows.CreateWriter(path, []string{"energy", "log_density"})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Abort() // does nothing once committed
	if err := w.Write([]float64{-1.2, 0.3, 0.25, -2}); err != nil {
		log.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		log.Fatal(err)
	}

	out, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output:
	// {"energy": -1.2, "log_density": 0.3}
	// {"energy": 0.25, "log_density": -2}
}

// Workers decode the lines of a large CSV or JSONL file side by side; Read
// returns the same rows, and Reject gets the same bad rows, in the same
// order, as without them.
func ExampleReadOptions_workers() {
	r, err := rows.OpenReader("testdata/points.csv", rows.ReadOptions{
		SkipBadRows: true,
		Reject: func(b rows.BadRow) {
			fmt.Println("skipped:", b.Err)
		},
		Workers: 4,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close() // stops the workers
	buf := make([]float64, 1024*r.Width())
	for {
		n, err := r.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(n, "rows:", buf[:n*r.Width()])
	}
	// Output:
	// skipped: testdata/points.csv:3: column 2: "abc" is not a number
	// 3 rows: [0.5 -1.2 2 0.004 -7 8]
}

func ExampleNewReader() {
	src := strings.NewReader("[1, 2]\n{\"x\": 3}\n[4, 5]\n")
	r, err := rows.NewReader(src, "stdin.jsonl", rows.ReadOptions{SkipBadRows: true})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	buf := make([]float64, 8*r.Width())
	n, err := r.Read(buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "rows:", buf[:n*r.Width()])
	// Output:
	// 2 rows: [1 2 4 5]
}
