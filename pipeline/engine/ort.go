package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/internal/ortlib"
	ort "github.com/yalue/onnxruntime_go"
)

// ORTOptions are the settings of an ONNX Runtime engine.
type ORTOptions struct {
	// Lib is the shared library: empty means $EBMPIPE_ORT_LIB, then
	// ortlib.DefaultLib.
	Lib string
	// Device is "cpu" (or empty) or "cuda". "cuda" appends ONNX Runtime's
	// CUDA execution provider, which needs a GPU build of the library.
	Device string
	// Threads is the number of intra-op threads of the session; 0 leaves
	// it to ONNX Runtime (one per core).
	Threads int
}

// DefaultORTOptions returns the defaults: the library ortlib.ResolveLib
// finds, on the CPU, with ONNX Runtime's own number of threads.
func DefaultORTOptions() ORTOptions { return ORTOptions{Device: "cpu"} }

// Check reports every invalid option, joined.
func (o ORTOptions) Check() error {
	var errs []error
	if err := checkDevice(o.Device); err != nil {
		errs = append(errs, err)
	}
	if o.Threads < 0 {
		errs = append(errs, fielderr.Errorf("{Threads} %d: must be at least 0", o.Threads))
	}
	return errors.Join(errs...)
}

// checkDevice reports whether device names one ebmpipe knows.
func checkDevice(device string) error {
	switch device {
	case "", "cpu", "cuda":
		return nil
	}
	return fielderr.Errorf("{Device} %q: want cpu or cuda", device)
}

// ortEngine runs a model on an ONNX Runtime session, with float32 tensors
// allocated once per batch size.
type ortEngine struct {
	in    Port
	outs  []Port
	sess  *ort.DynamicAdvancedSession
	batch int         // most rows per Run
	fixed int         // the batch the model fixes, or 0: runs in chunks of it, the last padded
	full  *ortTensors // for runs on batch rows, or fixed rows if fixed
	part  *ortTensors // for a smaller last batch, made when needed
	res   [][]float64 // what Run returns, reused
	res32 [][]float32 // what Run32 returns, reused
}

// ortTensors are the input and output tensors of runs on a number of rows.
type ortTensors struct {
	rows int
	x    *ort.Tensor[float32]
	in   []ort.Value
	// outs holds a preallocated tensor for each output of fixed row
	// shape, and nil for the others, which ONNX Runtime allocates.
	outs  []ort.Value
	fixed []bool // which outs are preallocated
}

// NewORTEngine returns an Engine that runs the ONNX model in data on ONNX
// Runtime, up to batch rows per run. The model must have one float32 input
// and float32 outputs, each with the batch as its first axis.
func NewORTEngine(data []byte, batch int, opt ORTOptions) (Engine, error) {
	if batch < 1 {
		return nil, fmt.Errorf("batch size %d: must be at least 1", batch)
	}
	if err := ortlib.Init(opt.Lib); err != nil {
		return nil, err
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime: %s", ortlib.OneLine(ortlib.Cause(err)))
	}
	if len(ins) != 1 {
		return nil, fmt.Errorf("the model has %d inputs; ebmpipe runs models of exactly one input", len(ins))
	}
	e := &ortEngine{batch: batch}
	var inBatch int64
	e.in, inBatch, err = ortPort(ins[0], "input")
	if err != nil {
		return nil, err
	}
	if err := checkORTSize("input", e.in, inBatch); err != nil {
		return nil, err
	}
	e.in.Float32 = true
	e.batch = batch
	if inBatch > 0 {
		// Exported without a dynamic batch axis: every session run has
		// inBatch rows, padded if fewer.
		e.fixed = int(inBatch)
	}
	var names []string
	for _, o := range outs {
		p, _, err := ortPort(o, "output")
		if err != nil && !errors.Is(err, errDynamicRow) {
			return nil, err
		}
		if err := checkORTSize("output", p, inBatch); err != nil {
			return nil, err
		}
		e.outs = append(e.outs, p)
		names = append(names, o.Name)
	}
	if len(e.outs) == 0 {
		return nil, errors.New("the model has no outputs")
	}

	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime session options: %s", ortlib.OneLine(err))
	}
	defer so.Destroy()
	if opt.Threads > 0 {
		if err := so.SetIntraOpNumThreads(opt.Threads); err != nil {
			return nil, fmt.Errorf("ONNX Runtime: %d threads: %s", opt.Threads, ortlib.OneLine(err))
		}
		if err := so.SetInterOpNumThreads(1); err != nil {
			return nil, fmt.Errorf("ONNX Runtime: inter-op threads: %s", ortlib.OneLine(err))
		}
	}
	if err := setDevice(so, opt); err != nil {
		return nil, err
	}
	e.sess, err = ort.NewDynamicAdvancedSessionWithONNXData(data, []string{e.in.Name}, names, so)
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime: %s", ortlib.OneLine(ortlib.Cause(err)))
	}
	full := e.batch
	if e.fixed > 0 {
		full = e.fixed
	}
	if e.full, err = e.newTensors(full); err != nil {
		e.Close()
		return nil, err
	}
	e.res = make([][]float64, len(e.outs))
	e.res32 = make([][]float32, len(e.outs))
	return e, nil
}

// CheckORTDevice reports whether ONNX Runtime, loaded by ortlib.Init, can run
// sessions on opt.Device, without making one.
func CheckORTDevice(opt ORTOptions) error {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return fmt.Errorf("ONNX Runtime session options: %s", ortlib.OneLine(err))
	}
	defer so.Destroy()
	return setDevice(so, opt)
}

// setDevice sets so up to run on opt.Device.
func setDevice(so *ort.SessionOptions, opt ORTOptions) error {
	switch opt.Device {
	case "", "cpu":
		return nil
	case "cuda":
		// A GPU build of the library finds its CUDA provider library
		// (libonnxruntime_providers_cuda.so) next to itself.
		if err := appendCUDA(so); err != nil {
			lib, _ := ortlib.ResolveLib(opt.Lib)
			return fielderr.Errorf("{Device} cuda: the CUDA execution provider is not available with %s (%s); it needs the GPU build of ONNX Runtime %s, CUDA and a GPU",
				lib, err, ortlib.Version)
		}
		return nil
	}
	return checkDevice(opt.Device)
}

// appendCUDA appends the CUDA execution provider, on device 0, to so.
func appendCUDA(so *ort.SessionOptions) error {
	co, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return errors.New(ortlib.OneLine(err))
	}
	defer co.Destroy()
	if err := so.AppendExecutionProviderCUDA(co); err != nil {
		return errors.New(ortlib.OneLine(err))
	}
	return nil
}

// errDynamicRow marks an output whose row shape is not fixed; ONNX Runtime
// allocates it on each run.
var errDynamicRow = errors.New("dynamic row shape")

// ortPort returns the Port of one row of a model input or output, and the
// size of its batch axis: > 0 if fixed, else dynamic. For an output of
// dynamic row shape it returns a Port of width 0 and an error wrapping
// errDynamicRow.
func ortPort(info ort.InputOutputInfo, what string) (Port, int64, error) {
	p := Port{Name: info.Name}
	if info.OrtValueType != ort.ONNXTypeTensor {
		return p, 0, fmt.Errorf("%s %q is a %v; scoring takes tensors only", what, info.Name, info.OrtValueType)
	}
	if info.DataType != ort.TensorElementDataTypeFloat {
		return p, 0, fmt.Errorf("%s %q has element type %s; the ort engine takes float32 %ss only", what, info.Name, elemType(info.DataType), what)
	}
	dims := info.Dimensions
	if len(dims) < 1 {
		return p, 0, fmt.Errorf("%s %q is a scalar; want a leading batch axis", what, info.Name)
	}
	p.Width = 1
	for _, d := range dims[1:] {
		if d <= 0 {
			if what == "output" {
				return Port{Name: info.Name}, dims[0], fmt.Errorf("%s %q has shape %v: %w", what, info.Name, dims, errDynamicRow)
			}
			return p, 0, fmt.Errorf("%s %q has shape %v: only the first (batch) axis may be dynamic", what, info.Name, dims)
		}
		p.Shape = append(p.Shape, int(d))
		p.Width *= int(d)
	}
	return p, dims[0], nil
}

// elemType names a tensor element type as ONNX does: float, int64, ...
func elemType(t ort.TensorElementDataType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_"))
}

// newTensors allocates the tensors for runs on rows rows.
func (e *ortEngine) newTensors(rows int) (*ortTensors, error) {
	t := &ortTensors{rows: rows}
	shape := append(ort.Shape{int64(rows)}, toInt64s(e.in.Shape)...)
	var err error
	if t.x, err = ort.NewEmptyTensor[float32](shape); err != nil {
		return nil, fmt.Errorf("ONNX Runtime: input tensor of shape %v: %s", shape, ortlib.OneLine(err))
	}
	t.in = []ort.Value{t.x}
	t.outs = make([]ort.Value, len(e.outs))
	t.fixed = make([]bool, len(e.outs))
	for k, p := range e.outs {
		if p.Width == 0 {
			continue
		}
		shape := append(ort.Shape{int64(rows)}, toInt64s(p.Shape)...)
		y, err := ort.NewEmptyTensor[float32](shape)
		if err != nil {
			t.destroy()
			return nil, fmt.Errorf("ONNX Runtime: output tensor of shape %v: %s", shape, ortlib.OneLine(err))
		}
		t.outs[k], t.fixed[k] = y, true
	}
	return t, nil
}

func (t *ortTensors) destroy() {
	if t == nil {
		return
	}
	if t.x != nil {
		t.x.Destroy()
	}
	for k, v := range t.outs {
		if v != nil && t.fixed[k] {
			v.Destroy()
		}
	}
}

func toInt64s(s []int) []int64 {
	r := make([]int64, len(s))
	for i, v := range s {
		r[i] = int64(v)
	}
	return r
}

func (e *ortEngine) Input() Port     { return e.in }
func (e *ortEngine) Outputs() []Port { return e.outs }

func (e *ortEngine) Close() error {
	e.full.destroy()
	e.part.destroy()
	e.full, e.part = nil, nil
	if e.sess != nil {
		e.sess.Destroy()
		e.sess = nil
	}
	return nil
}

func (e *ortEngine) Run(x []float64, rows int) ([][]float64, error) {
	return runORT(e, x, rows, e.res)
}

func (e *ortEngine) Run32(x []float32, rows int) ([][]float32, error) {
	return runORT(e, x, rows, e.res32)
}

// runORT is Run and Run32: it runs e on rows rows of x and returns res, each
// output's values for those rows.
func runORT[T float32 | float64](e *ortEngine, x []T, rows int, res [][]T) ([][]T, error) {
	if rows < 1 || rows > e.batch {
		return nil, fmt.Errorf("run on %d rows: want 1 to %d", rows, e.batch)
	}
	if len(x) != rows*e.in.Width {
		return nil, fmt.Errorf("run on %d rows of %d values: got %d values", rows, e.in.Width, len(x))
	}
	for k := range res {
		res[k] = res[k][:0]
	}
	if e.fixed > 0 {
		for first := 0; first < rows; first += e.fixed {
			n := min(e.fixed, rows-first)
			if err := runOn(e, e.full, x[first*e.in.Width:(first+n)*e.in.Width], n, res); err != nil {
				return nil, err
			}
		}
		return res, nil
	}
	t := e.full
	if rows != e.batch {
		if e.part == nil || e.part.rows != rows {
			e.part.destroy()
			e.part = nil
			var err error
			if e.part, err = e.newTensors(rows); err != nil {
				return nil, err
			}
		}
		t = e.part
	}
	if err := runOn(e, t, x, rows, res); err != nil {
		return nil, err
	}
	return res, nil
}

// runOn runs the session on the tensors t for the rows rows of x, padded
// with zeros to t.rows, and appends the outputs' values for those rows to
// res.
func runOn[T float32 | float64](e *ortEngine, t *ortTensors, x []T, rows int, res [][]T) error {
	xs := t.x.GetData()
	copyConvert(xs, x)
	clear(xs[len(x):]) // padding of a fixed batch
	if err := e.sess.Run(t.in, t.outs); err != nil {
		return fmt.Errorf("ONNX Runtime: %s", ortlib.OneLine(ortlib.Cause(err)))
	}
	for k, v := range t.outs {
		y, ok := v.(*ort.Tensor[float32])
		if !t.fixed[k] {
			t.outs[k] = nil
			defer v.Destroy()
		}
		if !ok {
			return fmt.Errorf("ONNX Runtime: output %q is a %v, want float32", e.outs[k].Name, v.GetONNXType())
		}
		data := y.GetData()
		if shape := y.GetShape(); len(shape) == 0 || shape[0] != int64(t.rows) {
			return fmt.Errorf("output %q has shape %v, want %d rows first", e.outs[k].Name, shape, t.rows)
		}
		data = data[:len(data)/t.rows*rows]
		n := len(res[k])
		res[k] = slices.Grow(res[k], len(data))[:n+len(data)]
		copyConvert(res[k][n:], data)
	}
	return nil
}

// copyConvert sets dst[i] to src[i] converted, for every i in src, which
// dst must hold: a plain copy between slices of the same type.
func copyConvert[D, S float32 | float64](dst []D, src []S) {
	if d, ok := any(dst).([]S); ok {
		copy(d, src)
		return
	}
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = D(v)
	}
}

// checkORTSize checks that a tensor of port p, an input or output (what),'s declared shape, with the
// model's fixed batch, or one row if dynamic, stays within the importer's
// element budget, so that a hostile file cannot make the engine allocate
// terabytes (the batch size the user asks for is the user's to choose).
func checkORTSize(what string, p Port, fixed int64) error {
	shape := append([]int64{max(fixed, 1)}, toInt64s(p.Shape)...)
	return importers.CheckSize(fmt.Sprintf("%s %q: declared", what, p.Name), shape, importers.DefaultMaxElements)
}
