package train

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ebmpipe/ebmpipe/internal/atomicfile"
)

// A Tensor is a named parameter's values, flattened in row-major order, and
// its shape. An empty Shape is a scalar.
type Tensor struct {
	Shape []int
	Data  []float64
}

// A Checkpoint is what a training run saves to resume later: the step
// reached, the parameters of its networks, the states of its optimizers and
// of its random streams (from data.RNG.MarshalBinary, data.Sampler.MarshalBinary) and
// free-form metadata, each by name.
type Checkpoint struct {
	Step       int
	Params     map[string]Tensor
	Optimizers map[string]AdamState
	RNG        map[string][]byte
	Meta       map[string]string
}

// Checkpoint files are named step-NNNNNN.ckpt after their step, with at
// least six digits, and the file named latestName holds the name of the
// newest complete one.
const (
	latestName = "latest"
	ckptPrefix = "step-"
	ckptSuffix = ".ckpt"
)

// A checkpoint file is a 24-byte header — the 8-byte magic, the format
// version and the payload's length and CRC-32C, little-endian — followed by
// the payload, a gob-encoded wireCheckpoint.
const (
	ckptMagic   = "EBMPCKPT"
	ckptVersion = 1
	headerSize  = 8 + 4 + 8 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// wireCheckpoint is the payload of a checkpoint file: the maps of a
// Checkpoint as slices sorted by name, so that a checkpoint always encodes
// to the same bytes.
type wireCheckpoint struct {
	Step       int64
	Params     []wireTensor
	Optimizers []wireAdam
	RNG        []wireBlob
	Meta       []wireBlob
}

type wireTensor struct {
	Name  string
	Shape []int64
	Data  []float64
}

type wireAdam struct {
	Name                  string
	Step                  int64
	LR, Beta1, Beta2, Eps float64
	Started               bool // M and V are set, if to empty lists
	M, V                  [][]float64
}

type wireBlob struct {
	Name string
	Data []byte
}

// writeFile is writeFileAtomic, replaced by tests to simulate a crash.
var writeFile = writeFileAtomic

// SaveCheckpoint saves c in the directory dir, which it creates if need be,
// as dir/step-NNNNNN.ckpt (NNNNNN being c.Step, 000500 for 500), and makes
// it the latest checkpoint of dir. Files are written in full and synced to a
// temporary file in dir before being renamed into place, so that a crash
// leaves the previous latest checkpoint in place and loadable. A checkpoint
// of the same step is replaced. Earlier checkpoints are kept; see
// PruneCheckpoints.
func SaveCheckpoint(dir string, c *Checkpoint) error {
	payload, err := encodeCheckpoint(c)
	if err != nil {
		return fmt.Errorf("saving checkpoint in %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving checkpoint: %w", err)
	}
	name := checkpointName(c.Step)
	header := make([]byte, headerSize, headerSize+len(payload))
	copy(header, ckptMagic)
	binary.LittleEndian.PutUint32(header[8:], ckptVersion)
	binary.LittleEndian.PutUint64(header[12:], uint64(len(payload)))
	binary.LittleEndian.PutUint32(header[20:], crc32.Checksum(payload, castagnoli))
	if err := writeFile(filepath.Join(dir, name), append(header, payload...)); err != nil {
		return fmt.Errorf("saving checkpoint: %w", err)
	}
	if err := writeFile(filepath.Join(dir, latestName), []byte(name+"\n")); err != nil {
		return fmt.Errorf("saving checkpoint %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// LoadCheckpoint loads the latest checkpoint saved in dir by SaveCheckpoint.
// If dir holds none, the error wraps fs.ErrNotExist.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	b, err := os.ReadFile(filepath.Join(dir, latestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no checkpoint in %s: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint: %w", err)
	}
	name := strings.TrimSpace(string(b))
	if _, ok := checkpointStep(name); !ok {
		return nil, fmt.Errorf("loading checkpoint: %s names %q, not a checkpoint file", filepath.Join(dir, latestName), name)
	}
	return ReadCheckpoint(filepath.Join(dir, name))
}

// ReadCheckpoint reads the checkpoint file at path. It fails, naming the
// file, if the file is truncated, corrupt or of another format version.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint: %w", err)
	}
	if len(b) < len(ckptMagic) || string(b[:len(ckptMagic)]) != ckptMagic {
		if len(b) < len(ckptMagic) && strings.HasPrefix(ckptMagic, string(b)) {
			return nil, fmt.Errorf("checkpoint %s: truncated: %d bytes", path, len(b))
		}
		return nil, fmt.Errorf("checkpoint %s: not an ebmpipe checkpoint file", path)
	}
	if len(b) < headerSize {
		return nil, fmt.Errorf("checkpoint %s: truncated: %d bytes", path, len(b))
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[8:]); v != ckptVersion {
		return nil, fmt.Errorf("checkpoint %s: format version %d, this ebmpipe reads version %d", path, v, ckptVersion)
	}
	size := le.Uint64(b[12:])
	payload := b[headerSize:]
	switch {
	case uint64(len(payload)) < size:
		return nil, fmt.Errorf("checkpoint %s: truncated: %d bytes, the header says %d", path, len(b), size+headerSize)
	case uint64(len(payload)) > size:
		return nil, fmt.Errorf("checkpoint %s: %d bytes, the header says %d", path, len(b), size+headerSize)
	}
	if crc32.Checksum(payload, castagnoli) != le.Uint32(b[20:]) {
		return nil, fmt.Errorf("checkpoint %s: corrupt: checksum mismatch", path)
	}
	c, err := decodeCheckpoint(payload)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return c, nil
}

// PruneCheckpoints removes all but the newest keep checkpoint files of dir,
// never removing the latest one.
func PruneCheckpoints(dir string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("pruning checkpoints: %w", err)
	}
	latest, err := os.ReadFile(filepath.Join(dir, latestName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("pruning checkpoints: %w", err)
	}
	type file struct {
		name string
		step int
	}
	var files []file
	for _, e := range entries {
		if step, ok := checkpointStep(e.Name()); ok && e.Type().IsRegular() {
			files = append(files, file{e.Name(), step})
		}
	}
	slices.SortFunc(files, func(a, b file) int { return b.step - a.step })
	for _, f := range files[min(max(keep, 0), len(files)):] {
		if f.name == strings.TrimSpace(string(latest)) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, f.name)); err != nil {
			return fmt.Errorf("pruning checkpoints: %w", err)
		}
	}
	return nil
}

func checkpointName(step int) string {
	return fmt.Sprintf("%s%06d%s", ckptPrefix, step, ckptSuffix)
}

// checkpointStep returns the step of a checkpoint file's name, and whether
// name is one.
func checkpointStep(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, ckptPrefix)
	if !ok {
		return 0, false
	}
	if digits, ok = strings.CutSuffix(digits, ckptSuffix); !ok {
		return 0, false
	}
	step, err := strconv.Atoi(digits)
	if err != nil || step < 0 || checkpointName(step) != name {
		return 0, false
	}
	return step, true
}

func encodeCheckpoint(c *Checkpoint) ([]byte, error) {
	if c.Step < 0 {
		return nil, fmt.Errorf("step %d", c.Step)
	}
	w := wireCheckpoint{Step: int64(c.Step)}
	for _, name := range slices.Sorted(maps.Keys(c.Params)) {
		t := c.Params[name]
		n := 1
		shape := make([]int64, len(t.Shape))
		for i, d := range t.Shape {
			if d < 0 || (d > 0 && n > math.MaxInt/d) {
				return nil, fmt.Errorf("parameter %q: bad shape %v", name, t.Shape)
			}
			n *= d
			shape[i] = int64(d)
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("parameter %q: shape %v holds %d values, not %d", name, t.Shape, n, len(t.Data))
		}
		w.Params = append(w.Params, wireTensor{name, shape, t.Data})
	}
	for _, name := range slices.Sorted(maps.Keys(c.Optimizers)) {
		s := c.Optimizers[name]
		if len(s.M) != len(s.V) {
			return nil, fmt.Errorf("optimizer %q: first moments of %d parameters, second of %d", name, len(s.M), len(s.V))
		}
		w.Optimizers = append(w.Optimizers, wireAdam{
			Name: name, Step: int64(s.Step),
			LR: s.LR, Beta1: s.Beta1, Beta2: s.Beta2, Eps: s.Eps,
			Started: s.M != nil, M: s.M, V: s.V,
		})
	}
	for _, name := range slices.Sorted(maps.Keys(c.RNG)) {
		w.RNG = append(w.RNG, wireBlob{name, c.RNG[name]})
	}
	for _, name := range slices.Sorted(maps.Keys(c.Meta)) {
		w.Meta = append(w.Meta, wireBlob{name, []byte(c.Meta[name])})
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&w); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeCheckpoint decodes a payload. Lists that gob drops when empty come
// back as empty lists, so that a checkpoint reads back as it was saved.
func decodeCheckpoint(payload []byte) (*Checkpoint, error) {
	var w wireCheckpoint
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&w); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if w.Step < 0 || int64(int(w.Step)) != w.Step {
		return nil, fmt.Errorf("step %d out of range", w.Step)
	}
	c := &Checkpoint{
		Step:       int(w.Step),
		Params:     make(map[string]Tensor, len(w.Params)),
		Optimizers: make(map[string]AdamState, len(w.Optimizers)),
		RNG:        make(map[string][]byte, len(w.RNG)),
		Meta:       make(map[string]string, len(w.Meta)),
	}
	for _, t := range w.Params {
		n := 1
		shape := make([]int, len(t.Shape))
		for i, d := range t.Shape {
			if d < 0 || int64(int(d)) != d || (d > 0 && n > math.MaxInt/int(d)) {
				return nil, fmt.Errorf("parameter %q: bad shape %v", t.Name, t.Shape)
			}
			n *= int(d)
			shape[i] = int(d)
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("parameter %q: shape %v holds %d values, not %d", t.Name, shape, n, len(t.Data))
		}
		c.Params[t.Name] = Tensor{Shape: shape, Data: nonNil(t.Data)}
	}
	for _, o := range w.Optimizers {
		s := AdamState{Step: int(o.Step), LR: o.LR, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps}
		if o.Started {
			if len(o.M) != len(o.V) {
				return nil, fmt.Errorf("optimizer %q: first moments of %d parameters, second of %d", o.Name, len(o.M), len(o.V))
			}
			s.M = make([][]float64, len(o.M))
			s.V = make([][]float64, len(o.V))
			for i := range o.M {
				s.M[i], s.V[i] = nonNil(o.M[i]), nonNil(o.V[i])
			}
		}
		c.Optimizers[o.Name] = s
	}
	for _, b := range w.RNG {
		c.RNG[b.Name] = nonNil(b.Data)
	}
	for _, b := range w.Meta {
		c.Meta[b.Name] = string(b.Data)
	}
	return c, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeFileAtomic writes data to path with atomicfile.WriteFile, so that
// path holds either its old contents or data, whatever happens, and names
// path in its error.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
