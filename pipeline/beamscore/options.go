package beamscore

import (
	"errors"
	"fmt"

	"github.com/ebmpipe/ebmpipe/pipeline/engine"
)

// Runner names for Options.Runner.
const (
	RunnerPrism     = "prism"     // Beam's Go runner, in this process
	RunnerUniversal = "universal" // a portable job server, such as Flink's or Spark's
	RunnerDataflow  = "dataflow"  // Google Cloud Dataflow
)

// Options are the settings of a Beam scoring run. Runner-specific
// settings (a job server's endpoint, a Dataflow project) are Beam's own
// pipeline options, set through its flags; see SetBeamOption.
type Options struct {
	// Runner runs the pipeline: RunnerPrism, RunnerUniversal or
	// RunnerDataflow.
	Runner string
	// Model is the ONNX energy model: a local path or a path on a Beam
	// filesystem (gs://...). It is read once, here, and shipped to the
	// workers inside the pipeline.
	Model string
	// Inputs are file patterns of row files (.csv, .jsonl, .npy):
	// local globs such as dir/*.csv, or gs://bucket/dir/*.csv.
	Inputs []string
	// Output is the prefix of the files written: Output-00000-of-000NN.csv
	// (one per input file) and, with bad rows, Output.rejects.
	Output string
	// Engine is engine.Auto, EngineORT or EngineGo.
	Engine string
	// BatchSize is the number of rows per model run.
	BatchSize int
	// Device is "cpu" or "cuda", for the ONNX Runtime engine.
	Device string
	// SkipBadRows writes bad rows to Output.rejects and goes on; without
	// it, a bad row fails the run, which names the first one.
	SkipBadRows bool
	// ORTLib is the ONNX Runtime library, resolved as ortlib.ResolveLib
	// does: empty means $EBMPIPE_ORT_LIB, then the default location.
	ORTLib string
	// Notice, if not nil, is told of choices made on the user's behalf,
	// such as falling back to the Go engine.
	Notice func(msg string)
}

// DefaultOptions returns the defaults: prism, the auto engine, batches of
// 1024 rows on the CPU.
func DefaultOptions() Options {
	return Options{Runner: RunnerPrism, Engine: engine.Auto, BatchSize: 1024, Device: "cpu"}
}

// Check reports every missing or invalid option, joined.
func (o Options) Check() error {
	var errs []error
	switch o.Runner {
	case RunnerPrism, RunnerUniversal, RunnerDataflow:
	default:
		errs = append(errs, fmt.Errorf("runner %q: want %s, %s or %s", o.Runner, RunnerPrism, RunnerUniversal, RunnerDataflow))
	}
	if o.Model == "" {
		errs = append(errs, errors.New("model: no model file given"))
	}
	if len(o.Inputs) == 0 {
		errs = append(errs, errors.New("inputs: no input pattern given"))
	}
	for _, in := range o.Inputs {
		if in == "" {
			errs = append(errs, errors.New("inputs: empty pattern"))
		}
	}
	if o.Output == "" {
		errs = append(errs, errors.New("output: no output prefix given"))
	}
	if err := (engine.Choice{Engine: o.Engine, BatchSize: o.BatchSize, Device: o.Device}).Check(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Stats are the results of a run.
type Stats struct {
	Rows     int64    // rows scored, from Beam's metrics
	Rejected int64    // bad rows, from Beam's metrics
	Engine   string   // the engine used: "ort" or "go"
	Inputs   []string // the input files, in shard order
	Shards   []string // the output files written, one per input
	Rejects  string   // the rejects file written, or "" if none
}
