package score

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebmpipe/ebmpipe/pipeline/engine"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/ebmpipe/ebmpipe/internal/ortlib"
	"github.com/ebmpipe/ebmpipe/internal/rows"
	"github.com/ebmpipe/ebmpipe/internal/testutil"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// benchModel is the model the scoring benchmarks run: a 2-32-32-1 SiLU MLP
// exported from PyTorch.
const benchModel = "../../testdata/torch/energy_silu.onnx"

// benchRows is the number of rows of the benchmark input files.
const benchRows = 200_000

// writeBenchInput writes n standard normal 2-D points, seeded, to a new
// file called name (.csv or .npy) in dir and returns its path. The values
// are float64, or float32 for an NPY file if f32 (NPY dtype float32, as
// bench/gen writes).
func writeBenchInput(tb testing.TB, dir, name string, n int, f32 bool) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	rng := rand.New(rand.NewPCG(1, 2))
	if f32 {
		x := make([]float32, 2*n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		testutil.WriteNPY32(tb, path, x, 2)
		return path
	}
	w, err := rows.CreateWriter(path, []string{"x0", "x1"})
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Abort()
	buf := make([]float64, 0, 2*4096)
	for i := 0; i < n; i += 4096 {
		buf = buf[:0]
		for range min(4096, n-i) {
			buf = append(buf, rng.NormFloat64(), rng.NormFloat64())
		}
		if err := w.Write(buf); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// benchInputs are BenchmarkScore's inputs: format and whether the values
// are float32 (npy32: an NPY file of dtype float32, which the ort engine
// scores on its float32 path).
var benchInputs = []struct {
	format string
	f32    bool
}{{"csv", false}, {"npy", false}, {"npy32", true}}

// BenchmarkScore runs ScoreContext end to end: read, score, write.
func BenchmarkScore(b *testing.B) {
	dir := b.TempDir()
	for _, bi := range benchInputs {
		format := strings.TrimSuffix(bi.format, "32")
		in := writeBenchInput(b, dir, bi.format+"."+format, benchRows, bi.f32)
		for _, eng := range []string{engine.ORT, engine.Go} {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/workers=%d", bi.format, eng, workers), func(b *testing.B) {
					if eng == engine.ORT {
						if err := ortlib.Init(""); err != nil {
							b.Skip(err)
						}
					}
					o := Options{
						Model: benchModel, Input: in, Output: filepath.Join(dir, "out."+format),
						Engine: eng, BatchSize: 1024, Workers: workers,
					}
					cpu0 := cpuTime(b)
					for b.Loop() {
						st, err := Score(context.Background(), o)
						if err != nil {
							b.Fatal(err)
						}
						if st.Rows != benchRows {
							b.Fatalf("scored %d rows, want %d", st.Rows, benchRows)
						}
					}
					b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
					reportCPU(b, cpu0, benchRows*b.N)
				})
			}
		}
	}
}

// BenchmarkScorePerRow measures what a row costs in a Score call, in CPU
// time, without the fixed cost of the call (BenchmarkScoreFixed): every
// iteration scores a file of 20 k rows and one of 2 M, side by side, and
// the extra CPU time of the large one over its extra rows is reported, as
// cpu-ns/row and rows/cpu-s, comparable with BenchmarkORTSession/dynamic1.
func BenchmarkScorePerRow(b *testing.B) {
	if err := ortlib.Init(""); err != nil {
		b.Skip(err)
	}
	dir := b.TempDir()
	const small, large = 20_000, 2_000_000
	for _, bi := range benchInputs {
		format := strings.TrimSuffix(bi.format, "32")
		b.Run(bi.format+"/ort/workers=2", func(b *testing.B) {
			ins := []string{
				writeBenchInput(b, dir, "small."+bi.format+"."+format, small, bi.f32),
				writeBenchInput(b, dir, "large."+bi.format+"."+format, large, bi.f32),
			}
			var cpu [2]time.Duration
			for b.Loop() {
				for k, in := range ins {
					o := Options{Model: benchModel, Input: in, Output: filepath.Join(dir, "out."+format), Engine: engine.ORT, BatchSize: 1024, Workers: 2}
					c0 := cpuTime(b)
					if _, err := Score(context.Background(), o); err != nil {
						b.Fatal(err)
					}
					cpu[k] += cpuTime(b) - c0
				}
			}
			perRow := float64((cpu[1] - cpu[0]).Nanoseconds()) / float64(b.N) / (large - small)
			b.ReportMetric(perRow, "cpu-ns/row")
			b.ReportMetric(1e9/perRow, "rows/cpu-s")
		})
	}
}

// BenchmarkScoreReadWorkers scores a CSV file with the rows decoded on one
// goroutine and on readWorkers, side by side.
func BenchmarkScoreReadWorkers(b *testing.B) {
	if err := ortlib.Init(""); err != nil {
		b.Skip(err)
	}
	dir := b.TempDir()
	in := writeBenchInput(b, dir, "in.csv", benchRows, false)
	defer func(n int) { readWorkers = n }(readWorkers)
	for _, n := range []int{1, min(runtime.NumCPU(), 4)} {
		b.Run(fmt.Sprintf("read=%d", n), func(b *testing.B) {
			readWorkers = n
			o := Options{Model: benchModel, Input: in, Output: filepath.Join(dir, "out.csv"), Engine: engine.ORT, BatchSize: 1024}
			for b.Loop() {
				if _, err := Score(context.Background(), o); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkORTSession runs a bare ONNX Runtime session on float32 tensors
// in memory, the bound on what the ort engine can do, comparing
// AdvancedSession (tensors bound when the session is made) with
// DynamicAdvancedSession (tensors passed to each run), which the ort engine
// uses so that a smaller last batch needs no second session, with ONNX
// Runtime's default threads and with one (dynamic1).
func BenchmarkORTSession(b *testing.B) {
	if err := ortlib.Init(""); err != nil {
		b.Skip(err)
	}
	data, err := os.ReadFile(benchModel)
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{256, 1024, 4096} {
		for _, kind := range []string{"advanced", "dynamic", "dynamic1"} {
			b.Run(fmt.Sprintf("%s/batch=%d", kind, batch), func(b *testing.B) {
				x, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(batch), 2))
				if err != nil {
					b.Fatal(err)
				}
				defer x.Destroy()
				y, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(batch), 1))
				if err != nil {
					b.Fatal(err)
				}
				defer y.Destroy()
				rng := rand.New(rand.NewPCG(1, 2))
				for i := range x.GetData() {
					x.GetData()[i] = float32(rng.NormFloat64())
				}
				var run func() error
				if kind == "advanced" {
					s, err := ort.NewAdvancedSessionWithONNXData(data, []string{"x"}, []string{"energy"}, []ort.Value{x}, []ort.Value{y}, nil)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Destroy()
					run = s.Run
				} else {
					// dynamic1: one intra-op thread, as each session of
					// `score --workers 2` has: the model's own CPU cost.
					var so *ort.SessionOptions
					if kind == "dynamic1" {
						if so, err = ort.NewSessionOptions(); err != nil {
							b.Fatal(err)
						}
						defer so.Destroy()
						if err := so.SetIntraOpNumThreads(1); err != nil {
							b.Fatal(err)
						}
					}
					s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"x"}, []string{"energy"}, so)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Destroy()
					in, out := []ort.Value{x}, []ort.Value{y}
					run = func() error { return s.Run(in, out) }
				}
				cpu0 := cpuTime(b)
				for b.Loop() {
					if err := run(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				reportCPU(b, cpu0, batch*b.N)
			})
		}
	}
}

// BenchmarkEngine runs each Engine on batches of float64 rows in memory:
// the ort engine adds the float64/float32 conversions to a bare session.
func BenchmarkEngine(b *testing.B) {
	m, err := loadModel(benchModel)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1024
	for _, eng := range []string{engine.ORT, engine.Go} {
		b.Run(eng, func(b *testing.B) {
			var e engine.Engine
			var err error
			if eng == engine.ORT {
				if err := ortlib.Init(""); err != nil {
					b.Skip(err)
				}
				e, err = engine.NewORTEngine(m.data, batch, engine.ORTOptions{})
			} else {
				e, err = engine.NewGoEngine(m.proto, batch)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			rng := rand.New(rand.NewPCG(1, 2))
			x := make([]float64, 2*batch)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			cpu0 := cpuTime(b)
			for b.Loop() {
				if _, err := e.Run(x, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			reportCPU(b, cpu0, batch*b.N)
		})
	}
}

// testModel is a model as both engines take it.
type testModel struct {
	data  []byte
	proto *onnx.ModelProto
}

func loadModel(path string) (testModel, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return testModel{}, err
	}
	m, err := onnx.Decode(data)
	return testModel{data, m}, err
}

// cpuTime returns the user and system CPU time of the process so far: on
// a shared, loaded machine, rows per CPU second vary less than rows per
// second of wall time.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports rows per CPU second (all threads, ONNX Runtime's
// included) since start, the CPU time at the start of the loop.
func reportCPU(b *testing.B, start time.Duration, rows int) {
	b.ReportMetric(float64(rows)/(cpuTime(b)-start).Seconds(), "rows/cpu-s")
}

// BenchmarkScoreFixed scores a one-row NPY file: the fixed cost of a Score
// call (loading the model, making the sessions, committing the output),
// which BenchmarkScore's figures include once per 200 k rows.
func BenchmarkScoreFixed(b *testing.B) {
	if err := ortlib.Init(""); err != nil {
		b.Skip(err)
	}
	dir := b.TempDir()
	in := writeBenchInput(b, dir, "in.npy", 1, true)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			o := Options{Model: benchModel, Input: in, Output: filepath.Join(dir, "out.npy"), Engine: engine.ORT, BatchSize: 1024, Workers: workers}
			cpu0 := cpuTime(b)
			for b.Loop() {
				if _, err := Score(context.Background(), o); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
