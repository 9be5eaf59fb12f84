//go:build ignore

// Command expect writes the expected output of each test model of a
// manifest, as computed by ONNX Runtime.
//
// From the repository root, after gen.py:
//
//	go run testdata/opset/expect.go [-lib PATH] [DIR]
//
// DIR (default testdata/opset) holds manifest.json, which lists for every
// model its file, its input .npy, the .npy to write, and the names of its
// only input and output. Each model is opened from its file (not from
// memory), so that ONNX Runtime resolves external data relative to it. The
// output is written as float32 .npy, in the shape ONNX Runtime returns.
// The command stops at the first model ONNX Runtime rejects.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	ort "github.com/yalue/onnxruntime_go"
)

// ortVersion is the ONNX Runtime release whose outputs are recorded.
const ortVersion = "1.24.3"

type entry struct {
	Name       string `json:"name"`
	Model      string `json:"model"`
	Input      string `json:"input"`
	Output     string `json:"output"`
	InputName  string `json:"input_name"`
	OutputName string `json:"output_name"`
}

func main() {
	home, _ := os.UserHomeDir()
	lib := flag.String("lib", filepath.Join(home, ".cache", "ebmpipe", "onnxruntime-"+ortVersion, "libonnxruntime.so.1"), "ONNX Runtime shared library")
	flag.Parse()
	dir := "testdata/opset"
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	if err := run(*lib, dir); err != nil {
		fmt.Fprintln(os.Stderr, "expect:", err)
		os.Exit(1)
	}
}

func run(lib, dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return err
	}
	var entries []entry
	if err := json.Unmarshal(data, &entries); err != nil {
		return fmt.Errorf("manifest.json: %w", err)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(); err != nil {
		return fmt.Errorf("ONNX Runtime %s: %w", lib, err)
	}
	defer ort.DestroyEnvironment()
	for _, e := range entries {
		shape, err := expect(dir, e)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		fmt.Printf("%-28s output %v\n", e.Name, shape)
	}
	return nil
}

// expect runs one model on its input and writes its output.
func expect(dir string, e entry) ([]int64, error) {
	x, xShape, err := readNPY(filepath.Join(dir, e.Input))
	if err != nil {
		return nil, err
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		return nil, err
	}
	s, err := ort.NewDynamicAdvancedSession(filepath.Join(dir, e.Model), []string{e.InputName}, []string{e.OutputName}, opts)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	defer s.Destroy()
	xt, err := ort.NewTensor(ort.NewShape(xShape...), x)
	if err != nil {
		return nil, err
	}
	defer xt.Destroy()
	outs := []ort.Value{nil}
	if err := s.Run([]ort.Value{xt}, outs); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	defer outs[0].Destroy()
	yt, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("output is %T, want a float32 tensor", outs[0])
	}
	shape := yt.GetShape()
	dims := make([]int, len(shape))
	for i, d := range shape {
		dims[i] = int(d)
	}
	return shape, writeNPY(filepath.Join(dir, e.Output), dims, yt.GetData())
}

// writeNPY writes x, of the given shape, as a little-endian float32 .npy
// file (format version 1.0, as numpy.save writes it).
func writeNPY(path string, shape []int, x []float32) error {
	dims := ""
	for _, d := range shape {
		dims += strconv.Itoa(d) + ", "
	}
	if len(shape) > 1 {
		dims = dims[:len(dims)-2]
	} else {
		dims = dims[:len(dims)-1]
	}
	header := "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }"
	// numpy pads the header with spaces so that the data starts at a
	// multiple of 64 bytes, and ends it with a newline.
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	buf := []byte("\x93NUMPY\x01\x00")
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(header)))
	buf = append(buf, header...)
	for _, v := range x {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	return os.WriteFile(path, buf, 0o644)
}

// readNPY reads a float32 .npy array and its shape.
func readNPY(path string) ([]float32, []int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var x []float32
	if err := r.Read(&x); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	shape := make([]int64, len(r.Header.Descr.Shape))
	for i, d := range r.Header.Descr.Shape {
		shape[i] = int64(d)
	}
	return x, shape, nil
}
