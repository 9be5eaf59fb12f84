package onnx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// LoadExternalData reads the elements of every tensor of m stored in an
// external file (data_location EXTERNAL, as large models and the
// external-data option of onnx.save write them) and moves them into the
// tensor's raw_data, so that the tensor readers and Validate see an
// ordinary tensor. Load calls it with the model file's directory; call it
// after Decode when the model came from elsewhere.
//
// Every location is a file name relative to dir: absolute paths, paths
// leaving dir through "..", and symbolic links that lead out of dir are
// refused. The bytes at offset (default 0) and length (default: to the end
// of the file) must lie inside the file and hold exactly as many elements
// as the tensor's dims say; they are checked against the file's size before
// anything is allocated. Errors name the tensor and the file.
func LoadExternalData(m *ModelProto, dir string) error {
	if m == nil {
		return errors.New("onnx: load external data: nil model")
	}
	if err := loadExternalData(m, dir); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}

func loadExternalData(m *ModelProto, dir string) error {
	if !hasExternal(m) {
		return nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("external data: %w", err)
	}
	defer root.Close()
	return walkTensors(m, func(t *TensorProto) error {
		if t.GetDataLocation() != TensorProto_EXTERNAL {
			return nil
		}
		if err := loadExternal(root, t); err != nil {
			return fmt.Errorf("external data of tensor %q: %w", t.GetName(), err)
		}
		return nil
	})
}

// hasExternal reports whether any tensor of m keeps its data in a file.
func hasExternal(m *ModelProto) bool {
	found := errors.New("found")
	return walkTensors(m, func(t *TensorProto) error {
		if t.GetDataLocation() == TensorProto_EXTERNAL {
			return found
		}
		return nil
	}) == found
}

// externalRef is the parsed external_data of a tensor.
type externalRef struct {
	location       string
	offset, length int64
	hasLength      bool
}

func parseExternal(t *TensorProto) (externalRef, error) {
	var r externalRef
	for _, kv := range t.GetExternalData() {
		var err error
		switch kv.GetKey() {
		case "location":
			r.location = kv.GetValue()
		case "offset":
			r.offset, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "length":
			r.length, err = strconv.ParseInt(kv.GetValue(), 10, 64)
			r.hasLength = true
		}
		if err != nil || r.offset < 0 || r.length < 0 {
			return r, fmt.Errorf("%s %q is not a byte count", kv.GetKey(), kv.GetValue())
		}
	}
	switch {
	case r.location == "":
		return r, errors.New("external_data has no location")
	case filepath.IsAbs(r.location):
		return r, fmt.Errorf("location %q is an absolute path; it must be relative to the model's directory", r.location)
	case !filepath.IsLocal(r.location):
		return r, fmt.Errorf("location %q leaves the model's directory", r.location)
	}
	return r, nil
}

// loadExternal reads the data of one external tensor into its raw_data.
func loadExternal(root *os.Root, t *TensorProto) error {
	ref, err := parseExternal(t)
	if err != nil {
		return err
	}
	dt := DataType(t.GetDataType())
	size, ok := rawSize[dt]
	if !ok {
		return fmt.Errorf("data type %v cannot be stored externally", dt)
	}
	// Check the dims on a copy without the location: tensorShape refuses
	// external tensors.
	_, n, err := tensorShape(&TensorProto{Name: t.Name, Dims: t.Dims})
	if err != nil {
		return err
	}
	f, err := root.Open(ref.location)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("file %q does not exist", ref.location)
		}
		return fmt.Errorf("file %q: %w", ref.location, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("file %q: %w", ref.location, err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("file %q is not a regular file", ref.location)
	}
	fileSize := info.Size()
	if ref.offset > fileSize {
		return fmt.Errorf("file %q: offset %d is past its end (%d bytes)", ref.location, ref.offset, fileSize)
	}
	if !ref.hasLength {
		ref.length = fileSize - ref.offset
	}
	if ref.length > fileSize-ref.offset {
		return fmt.Errorf("file %q: %d bytes at offset %d run past its end (%d bytes)", ref.location, ref.length, ref.offset, fileSize)
	}
	if ref.length%int64(size) != 0 || ref.length/int64(size) != int64(n) {
		return fmt.Errorf("file %q: shape %v needs %d elements of %d bytes (%v), but %d bytes are given", ref.location, t.Dims, n, size, dt, ref.length)
	}
	raw := make([]byte, ref.length)
	if _, err := f.ReadAt(raw, ref.offset); err != nil {
		return fmt.Errorf("file %q: %w", ref.location, err)
	}
	t.RawData = raw
	t.DataLocation = nil
	t.ExternalData = nil
	return nil
}

// walkTensors calls fn on every tensor of m: the initializers, sparse
// initializers and tensor attributes of the main graph, of every subgraph,
// and of the nodes of the model-local functions. It stops at the first
// error fn returns.
func walkTensors(m *ModelProto, fn func(*TensorProto) error) error {
	if err := walkGraphTensors(m.GetGraph(), fn); err != nil {
		return err
	}
	for _, f := range m.GetFunctions() {
		if err := walkNodeTensors(f.GetNode(), fn); err != nil {
			return err
		}
	}
	return nil
}

func walkGraphTensors(g *GraphProto, fn func(*TensorProto) error) error {
	if g == nil {
		return nil
	}
	for _, t := range g.GetInitializer() {
		if err := fn(t); err != nil {
			return err
		}
	}
	for _, st := range g.GetSparseInitializer() {
		if err := walkSparse(st, fn); err != nil {
			return err
		}
	}
	return walkNodeTensors(g.GetNode(), fn)
}

func walkSparse(st *SparseTensorProto, fn func(*TensorProto) error) error {
	for _, t := range []*TensorProto{st.GetValues(), st.GetIndices()} {
		if t == nil {
			continue
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return nil
}

func walkNodeTensors(nodes []*NodeProto, fn func(*TensorProto) error) error {
	for _, n := range nodes {
		for _, a := range n.GetAttribute() {
			ts := a.GetTensors()
			if a.GetT() != nil {
				ts = append([]*TensorProto{a.GetT()}, ts...)
			}
			for _, t := range ts {
				if err := fn(t); err != nil {
					return err
				}
			}
			sparse := a.GetSparseTensors()
			if a.GetSparseTensor() != nil {
				sparse = append([]*SparseTensorProto{a.GetSparseTensor()}, sparse...)
			}
			for _, st := range sparse {
				if err := walkSparse(st, fn); err != nil {
					return err
				}
			}
			for _, g := range subgraphs(a) {
				if err := walkGraphTensors(g, fn); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
