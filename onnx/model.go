package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ebmpipe/ebmpipe/internal/atomicfile"

	"google.golang.org/protobuf/proto"
)

// Decode parses a serialized ModelProto.
//
// It rejects empty input, bytes that are not protobuf wire format (including
// most truncated files) and models without a graph. A file cut exactly
// between two top-level fields can still decode; Validate catches what such
// a model is then missing.
func Decode(data []byte) (*ModelProto, error) {
	m, err := decodeModel(data)
	if err != nil {
		return nil, fmt.Errorf("onnx: decode: %w", err)
	}
	return m, nil
}

func decodeModel(data []byte) (*ModelProto, error) {
	if len(data) == 0 {
		return nil, errors.New("empty input")
	}
	m := new(ModelProto)
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, wireError{"an ONNX model", err}
	}
	if m.Graph == nil {
		return nil, errors.New("model has no graph")
	}
	return m, nil
}

// Load reads and decodes the model file at path, and reads the data of
// tensors stored in external files from path's directory (see
// LoadExternalData).
func Load(path string) (*ModelProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: load: %w", err)
	}
	m, err := decodeModel(data)
	if err == nil {
		err = loadExternalData(m, filepath.Dir(path))
	}
	if err != nil {
		return nil, fmt.Errorf("onnx: load %s: %w", path, err)
	}
	return m, nil
}

// Encode serializes m.
func Encode(m *ModelProto) ([]byte, error) {
	data, err := encodeModel(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: encode: %w", err)
	}
	return data, nil
}

func encodeModel(m *ModelProto) ([]byte, error) {
	if m == nil {
		return nil, errors.New("nil model")
	}
	return proto.Marshal(m)
}

// Save encodes m and writes it to path atomically: the data goes to a
// temporary file in the same directory, which is renamed over path only once
// it is complete, so path never holds a partly written model.
func Save(path string, m *ModelProto) error {
	data, err := encodeModel(m)
	if err == nil {
		err = atomicfile.WriteFile(path, data)
	}
	if err != nil {
		return fmt.Errorf("onnx: save %s: %w", path, err)
	}
	return nil
}

// DecodeTensor parses a serialized TensorProto, the format of the
// input_N.pb and output_N.pb files in ONNX test data sets. It rejects empty
// input, invalid wire format and tensors without a data type.
func DecodeTensor(data []byte) (*TensorProto, error) {
	t, err := decodeTensor(data)
	if err != nil {
		return nil, fmt.Errorf("onnx: decode tensor: %w", err)
	}
	return t, nil
}

func decodeTensor(data []byte) (*TensorProto, error) {
	if len(data) == 0 {
		return nil, errors.New("empty input")
	}
	t := new(TensorProto)
	if err := proto.Unmarshal(data, t); err != nil {
		return nil, wireError{"an ONNX tensor", err}
	}
	if t.GetDataType() == int32(TensorProto_UNDEFINED) {
		return nil, errors.New("tensor has no data type")
	}
	return t, nil
}

// LoadTensor reads and decodes the serialized TensorProto at path.
func LoadTensor(path string) (*TensorProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: load tensor: %w", err)
	}
	t, err := decodeTensor(data)
	if err != nil {
		return nil, fmt.Errorf("onnx: load tensor %s: %w", path, err)
	}
	return t, nil
}

// wireError reports bytes that are not valid protobuf. Its message is
// stable (the protobuf package varies the text of its own errors on
// purpose); the protobuf error is kept for errors.Unwrap.
type wireError struct {
	what string
	err  error
}

func (e wireError) Error() string {
	return "invalid protobuf data: not " + e.what + ", or a truncated one"
}

func (e wireError) Unwrap() error { return e.err }
