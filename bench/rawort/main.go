package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"syscall"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/ebmpipe/ebmpipe/internal/ortlib"
	"github.com/ebmpipe/ebmpipe/internal/rows"
)

func main() {
	model := flag.String("model", "", "ONNX `FILE` with one float32 input and one output")
	input := flag.String("input", "", "NPY `FILE` of rows")
	batch := flag.Int("batch", 1024, "rows per run")
	reps := flag.Int("reps", 3, "passes over the input; the best is reported")
	threads := flag.Int("threads", 0, "intra-op threads of the session; 0 leaves it to ONNX Runtime")
	cpu := flag.Bool("cpu", false, "also print rows per CPU second (user+system time of the process, best pass)")
	lib := flag.String("ort-lib", "", "ONNX Runtime library (default as ebmpipe)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("rawort: ")
	if err := ortlib.Init(*lib); err != nil {
		log.Fatal(err)
	}
	ins, outs, err := ort.GetInputOutputInfo(*model)
	if err != nil {
		log.Fatal(err)
	}
	if len(ins) != 1 || len(outs) != 1 {
		log.Fatalf("%s: want one input and one output", *model)
	}

	// Read every row into tensors of batch rows; the last may be smaller.
	r, err := rows.OpenReader(*input, rows.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	width := r.Width()
	var xs, ys []ort.Value
	buf := make([]float64, *batch*width)
	rows := 0
	for {
		n, err := r.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		data := make([]float32, n*width)
		for i := range data {
			data[i] = float32(buf[i])
		}
		x, err := ort.NewTensor(ort.NewShape(int64(n), int64(width)), data)
		if err != nil {
			log.Fatal(err)
		}
		outShape := ort.Shape{int64(n)}
		for _, d := range outs[0].Dimensions[1:] {
			outShape = append(outShape, d)
		}
		y, err := ort.NewEmptyTensor[float32](outShape)
		if err != nil {
			log.Fatal(err)
		}
		xs, ys = append(xs, x), append(ys, y)
		rows += n
	}
	r.Close()

	so, err := ort.NewSessionOptions()
	if err != nil {
		log.Fatal(err)
	}
	defer so.Destroy()
	if *threads > 0 {
		if err := so.SetIntraOpNumThreads(*threads); err != nil {
			log.Fatal(err)
		}
	}
	s, err := ort.NewDynamicAdvancedSession(*model, []string{ins[0].Name}, []string{outs[0].Name}, so)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Destroy()
	best, bestCPU := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range *reps {
		start, startCPU := time.Now(), cpuTime()
		for i := range xs {
			if err := s.Run(xs[i:i+1], ys[i:i+1]); err != nil {
				log.Fatal(err)
			}
		}
		best = min(best, time.Since(start))
		bestCPU = min(bestCPU, cpuTime()-startCPU)
	}
	if *cpu {
		fmt.Printf("%.0f %.0f\n", float64(rows)/best.Seconds(), float64(rows)/bestCPU.Seconds())
		return
	}
	fmt.Printf("%.0f\n", float64(rows)/best.Seconds())
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
