package engine

import (
	"errors"
	"sync"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/internal/ortlib"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Engine names, for Choice.Engine.
const (
	Auto = "auto" // ONNX Runtime if its library loads, else Go
	ORT  = "ort"  // ONNX Runtime
	Go   = "go"   // the pure-Go Gorgonia graph
)

// A Choice names the engine to run a model on and its settings.
type Choice struct {
	Engine    string // Auto, ORT or Go
	BatchSize int    // rows per run
	Device    string // for ONNX Runtime: "", "cpu" or "cuda"
	ORTLib    string // the ONNX Runtime library, as for ortlib.ResolveLib
	// Notice, if not nil, is told of choices made on the user's behalf,
	// such as falling back to the Go engine, in notices naming fields as
	// fielderr.Note does.
	Notice func(msg string)
}

// Check reports every invalid setting of c, joined, by the names of its
// fields (Engine, BatchSize, Device), which options structs holding a
// Choice's settings share.
func (c Choice) Check() error {
	var errs []error
	switch c.Engine {
	case Auto, ORT, Go:
	default:
		errs = append(errs, fielderr.Errorf("{Engine} %q: want auto, ort or go", c.Engine))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fielderr.Errorf("{BatchSize} %d: must be at least 1", c.BatchSize))
	}
	if err := checkDevice(c.Device); err != nil {
		errs = append(errs, err)
	} else if c.Device == "cuda" && c.Engine == Go {
		errs = append(errs, fielderr.Errorf("{Device} cuda: the go engine runs on the CPU only; use {Engine} ort"))
	}
	return errors.Join(errs...)
}

// Choose returns a constructor of the engines o asks for, for the model m
// whose encoding is data, run by workers goroutines, and the engine's name.
// With Auto it picks ONNX Runtime if the library loads, else the Go
// engine, telling o.Notice why.
func Choose(o Choice, m *onnx.ModelProto, data []byte, workers int) (func() (Engine, error), string, error) {
	name := o.Engine
	if name == Auto || name == ORT {
		err := ortlib.Init(o.ORTLib)
		switch {
		case err == nil:
			name = ORT
		case name == ORT || o.Device == "cuda":
			return nil, "", fielderr.Errorf("{Engine} %s: %w", name, err)
		default:
			if o.Notice != nil {
				o.Notice(fielderr.Notef("{Engine} auto: %w; using the go engine instead", err))
			}
			name = Go
		}
	}
	if name == Go {
		return noteOnce(m, o.Notice, func() (Engine, error) { return NewGoEngine(m, o.BatchSize) }), name, nil
	}
	opt := ORTOptions{Lib: o.ORTLib, Device: o.Device}
	if err := CheckORTDevice(opt); err != nil {
		return nil, "", err
	}
	if workers > 1 {
		// Side-by-side sessions, one thread each, rather than threads
		// competing for the cores.
		opt.Threads = 1
	}
	return noteOnce(m, o.Notice, func() (Engine, error) { return NewORTEngine(data, o.BatchSize, opt) }), name, nil
}

// noteOnce returns newEngine, telling notice of a fixed batch of m
// (NoteFixedBatch) after the first engine is made: a model refused makes
// one line of error, not a notice before it.
func noteOnce(m *onnx.ModelProto, notice func(string), newEngine func() (Engine, error)) func() (Engine, error) {
	var once sync.Once
	return func() (Engine, error) {
		e, err := newEngine()
		if err == nil {
			once.Do(func() { NoteFixedBatch(m, notice) })
		}
		return e, err
	}
}

// FixedBatch returns the name of the input of model m and the batch size
// it fixes, as torch.onnx.export writes without dynamic_axes, or 0 if its
// batch is dynamic (or m has not one input). The engines run such a model
// in chunks of that batch, whatever the batch size they are given.
func FixedBatch(m *onnx.ModelProto) (string, int) {
	g := m.GetGraph()
	inits := onnx.InitializerNames(g)
	var ins []*onnx.ValueInfoProto
	for _, v := range g.GetInput() {
		if !inits[v.GetName()] {
			ins = append(ins, v)
		}
	}
	if len(ins) != 1 {
		return "", 0
	}
	dims, _, err := onnx.ValueInfoShape(ins[0])
	if err != nil || len(dims) == 0 || dims[0].Value <= 0 {
		return "", 0
	}
	return ins[0].GetName(), int(dims[0].Value)
}

// NoteFixedBatch tells notice, if not nil, that the engines run model m in
// chunks of the batch its input fixes, if it fixes one.
func NoteFixedBatch(m *onnx.ModelProto, notice func(msg string)) {
	if in, b := FixedBatch(m); b > 0 && notice != nil {
		notice(importers.FixedBatchNote(in, b))
	}
}
