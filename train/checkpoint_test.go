package train

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/atomicfile"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// testCheckpoint returns a checkpoint with awkward values: signed zeros,
// infinities, NaN payloads, subnormals, an empty tensor and a scalar.
func testCheckpoint(step int) *Checkpoint {
	r := data.NewRNG(uint64(step), "test")
	rng, _ := r.MarshalBinary()
	return &Checkpoint{
		Step: step,
		Params: map[string]Tensor{
			"energy.fc1.weight": {Shape: []int{2, 3}, Data: []float64{
				math.Copysign(0, -1), math.Inf(1), math.Float64frombits(0x7ff8dead0000beef),
				5e-324, -math.MaxFloat64, 1.0 / 3}},
			"energy.scale": {Shape: []int{}, Data: []float64{float64(step)}},
			"empty":        {Shape: []int{0, 4}, Data: []float64{}},
		},
		Optimizers: map[string]AdamState{
			"energy": {Step: 3, LR: 2e-4, Beta1: 0, Beta2: 0.9, Eps: 1e-6,
				M: [][]float64{{0.1, -0.2}, {}}, V: [][]float64{{1e-300, 4}, {}}},
			"generator": {LR: 1e-3, Beta2: 0.999, Eps: 1e-8},
		},
		RNG:  map[string][]byte{"z": rng, "empty": {}},
		Meta: map[string]string{"bound": "fisher", "note": "ünïcode\n\x00"},
	}
}

// sameCheckpoint reports how a and b differ, comparing floats bit for bit
// and empty lists as equal to nil.
func sameCheckpoint(a, b *Checkpoint) string {
	bits := func(x, y []float64) bool {
		return slices.EqualFunc(x, y, func(u, v float64) bool { return math.Float64bits(u) == math.Float64bits(v) })
	}
	if a.Step != b.Step {
		return "step"
	}
	if len(a.Params) != len(b.Params) || len(a.Optimizers) != len(b.Optimizers) ||
		len(a.RNG) != len(b.RNG) || len(a.Meta) != len(b.Meta) {
		return "map sizes"
	}
	for k, x := range a.Params {
		y, ok := b.Params[k]
		if !ok || !slices.Equal(x.Shape, y.Shape) || !bits(x.Data, y.Data) {
			return "parameter " + k
		}
	}
	for k, x := range a.Optimizers {
		y, ok := b.Optimizers[k]
		if !ok || x.Step != y.Step || x.LR != y.LR || x.Beta1 != y.Beta1 || x.Beta2 != y.Beta2 || x.Eps != y.Eps ||
			(x.M == nil) != (y.M == nil) || !slices.EqualFunc(x.M, y.M, bits) || !slices.EqualFunc(x.V, y.V, bits) {
			return "optimizer " + k
		}
	}
	for k, x := range a.RNG {
		if y, ok := b.RNG[k]; !ok || !bytes.Equal(x, y) {
			return "rng " + k
		}
	}
	for k, x := range a.Meta {
		if y, ok := b.Meta[k]; !ok || x != y {
			return "meta " + k
		}
	}
	return ""
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "checkpoint") // created by SaveCheckpoint
	for _, c := range []*Checkpoint{testCheckpoint(500), {Step: 0}, testCheckpoint(1234567)} {
		if err := SaveCheckpoint(dir, c); err != nil {
			t.Fatal(err)
		}
		got, err := LoadCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := sameCheckpoint(c, got); diff != "" {
			t.Errorf("step %d: %s differs after a round trip", c.Step, diff)
		}
	}
	names := dirNames(t, dir)
	want := []string{"latest", "step-000000.ckpt", "step-000500.ckpt", "step-1234567.ckpt"}
	if !slices.Equal(names, want) {
		t.Errorf("directory holds %q, want %q", names, want)
	}
	// The same checkpoint encodes to the same bytes.
	first, _ := os.ReadFile(filepath.Join(dir, "step-000500.ckpt"))
	if err := SaveCheckpoint(dir, testCheckpoint(500)); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(dir, "step-000500.ckpt"))
	if !bytes.Equal(first, second) {
		t.Error("saving the same checkpoint twice gives different files")
	}
	if c, err := LoadCheckpoint(dir); err != nil || c.Step != 500 {
		t.Errorf("latest after saving step 500 again: %v, %v", c, err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestSaveCheckpointErrors(t *testing.T) {
	tests := []struct {
		name string
		c    *Checkpoint
		want string
	}{
		{"negative step", &Checkpoint{Step: -1}, "step -1"},
		{"shape", &Checkpoint{Params: map[string]Tensor{"w": {Shape: []int{2, 2}, Data: []float64{1, 2, 3}}}},
			`parameter "w": shape [2 2] holds 4 values, not 3`},
		{"negative dimension", &Checkpoint{Params: map[string]Tensor{"w": {Shape: []int{-1, -2}, Data: []float64{1, 2}}}},
			`parameter "w": bad shape`},
		{"moments", &Checkpoint{Optimizers: map[string]AdamState{"g": {Step: 1, M: [][]float64{{1}}}}},
			`optimizer "g"`},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		err := SaveCheckpoint(dir, tt.c)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Errorf("%s: a failed save left %q", tt.name, names)
		}
	}
}

func TestReadCheckpointDamaged(t *testing.T) {
	dir := t.TempDir()
	if err := SaveCheckpoint(dir, testCheckpoint(7)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "step-000007.ckpt")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := slices.Clone(good)
		b[i] ^= 0x40
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated: 0 bytes"},
		{"in the magic", good[:5], "truncated: 5 bytes"},
		{"in the header", good[:headerSize-1], "truncated"},
		{"header only", good[:headerSize], "truncated"},
		{"last byte missing", good[:len(good)-1], "truncated"},
		{"half", good[:len(good)/2], "truncated"},
		{"trailing bytes", append(slices.Clone(good), 0), "the header says"},
		{"other file", []byte("PK\x03\x04 some zip file of some length"), "not an ebmpipe checkpoint"},
		{"version", flip(8), "format version 65"},
		{"flipped payload byte", flip(len(good) - 10), "checksum mismatch"},
		{"flipped checksum", flip(headerSize - 1), "checksum mismatch"},
	}
	for _, tt := range tests {
		if err := os.WriteFile(path, tt.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadCheckpoint(dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming %s and mentioning %q", tt.name, err, path, tt.want)
		}
	}
}

func TestLoadCheckpointMissing(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadCheckpoint(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty directory: %v does not wrap fs.ErrNotExist", err)
	}
	if _, err := LoadCheckpoint(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v does not wrap fs.ErrNotExist", err)
	}
	for _, latest := range []string{"../../etc/passwd", "step-12.ckpt", "", "step-000001.ckpt/x"} {
		if err := os.WriteFile(filepath.Join(dir, "latest"), []byte(latest), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadCheckpoint(dir)
		if err == nil || !strings.Contains(err.Error(), "not a checkpoint file") {
			t.Errorf("latest = %q: error %v", latest, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "latest"), []byte("step-000003.ckpt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "step-000003.ckpt") {
		t.Errorf("latest names a missing file: error %v", err)
	}
}

// TestCheckpointCrash checks that a save interrupted at any point leaves the
// previous checkpoint as the latest one, loadable.
func TestCheckpointCrash(t *testing.T) {
	defer func() { writeFile = writeFileAtomic }()
	crash := errors.New("simulated crash")
	for _, failOn := range []string{"step-000200.ckpt", "latest"} {
		dir := t.TempDir()
		if err := SaveCheckpoint(dir, testCheckpoint(100)); err != nil {
			t.Fatal(err)
		}
		// The crash comes after the file is written in full, before it is
		// moved into place.
		writeFile = func(path string, data []byte) error {
			if filepath.Base(path) == failOn {
				f, err := atomicfile.Create(path)
				if err != nil {
					return err
				}
				f.Write(data)
				f.Abort()
				return crash
			}
			return writeFileAtomic(path, data)
		}
		err := SaveCheckpoint(dir, testCheckpoint(200))
		writeFile = writeFileAtomic
		if !errors.Is(err, crash) {
			t.Fatalf("failing the rename of %s: error %v", failOn, err)
		}
		c, err := LoadCheckpoint(dir)
		if err != nil || c.Step != 100 {
			t.Errorf("failing the rename of %s: loaded %v, %v; want step 100", failOn, c, err)
		}
		for _, name := range dirNames(t, dir) {
			if strings.HasSuffix(name, ".tmp") {
				t.Errorf("failing the rename of %s: left %s", failOn, name)
			}
		}
	}

	// A process killed while writing leaves a partial temporary file, which
	// neither loading nor the next save minds.
	dir := t.TempDir()
	if err := SaveCheckpoint(dir, testCheckpoint(100)); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(filepath.Join(dir, "step-000100.ckpt"))
	if err := os.WriteFile(filepath.Join(dir, ".step-000200.ckpt.123.tmp"), good[:40], 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadCheckpoint(dir); err != nil || c.Step != 100 {
		t.Errorf("with a partial temporary file: %v, %v", c, err)
	}
	if err := SaveCheckpoint(dir, testCheckpoint(200)); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadCheckpoint(dir); err != nil || c.Step != 200 {
		t.Errorf("after the next save: %v, %v", c, err)
	}
}

// TestCheckpointResume saves the random streams, the sampler and an
// optimizer mid-run and checks that the restored ones go on as the
// originals do.
func TestCheckpointResume(t *testing.T) {
	d, err := data.LoadData("toy:rings", 37, 1)
	if err != nil {
		t.Fatal(err)
	}
	z := data.NewRNG(2, "z")
	s, err := data.NewSampler(d, 3)
	if err != nil {
		t.Fatal(err)
	}
	opt := NewAdam(0.1)
	params := [][]float64{{0.5, -0.5}}
	batch := make([]float64, 2*10)
	step := func(z *data.RNG, s *data.Sampler, opt *Adam, params [][]float64) []float64 {
		s.Next(batch)
		g := []float64{z.NormFloat64() + batch[0], z.Float64() * batch[1]}
		opt.Step(params, [][]float64{g})
		return append(slices.Clone(batch), params[0]...)
	}
	for range 6 {
		step(z, s, opt, params)
	}

	c := &Checkpoint{Step: 6, Params: map[string]Tensor{"p": {Shape: []int{2}, Data: slices.Clone(params[0])}},
		Optimizers: map[string]AdamState{"p": opt.State()}, RNG: map[string][]byte{}}
	c.RNG["z"], _ = z.MarshalBinary()
	c.RNG["sampler"], _ = s.MarshalBinary()
	dir := t.TempDir()
	if err := SaveCheckpoint(dir, c); err != nil {
		t.Fatal(err)
	}
	var want [][]float64
	for range 10 {
		want = append(want, step(z, s, opt, params))
	}

	c, err = LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	z2 := data.NewRNG(99, "other")
	s2, _ := data.NewSampler(d, 99)
	opt2 := &Adam{}
	params2 := [][]float64{c.Params["p"].Data}
	if err := z2.UnmarshalBinary(c.RNG["z"]); err != nil {
		t.Fatal(err)
	}
	if err := s2.UnmarshalBinary(c.RNG["sampler"]); err != nil {
		t.Fatal(err)
	}
	if err := opt2.SetState(c.Optimizers["p"], params2); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got := step(z2, s2, opt2, params2); !slices.Equal(got, want[i]) {
			t.Fatalf("step %d after resuming: %v, uninterrupted %v", c.Step+i+1, got, want[i])
		}
	}
}

func TestPruneCheckpoints(t *testing.T) {
	dir := t.TempDir()
	for _, step := range []int{5, 100, 20, 1000000, 300} {
		if err := SaveCheckpoint(dir, &Checkpoint{Step: step}); err != nil {
			t.Fatal(err)
		}
	}
	// latest is step 300, saved last, though not the highest step.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := PruneCheckpoints(dir, 2); err != nil {
		t.Fatal(err)
	}
	want := []string{"latest", "notes.txt", "step-000300.ckpt", "step-1000000.ckpt"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("after keeping 2: %q, want %q", got, want)
	}
	if err := PruneCheckpoints(dir, 0); err != nil {
		t.Fatal(err)
	}
	want = []string{"latest", "notes.txt", "step-000300.ckpt"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("after keeping 0: %q, want %q", got, want)
	}
	if c, err := LoadCheckpoint(dir); err != nil || c.Step != 300 {
		t.Errorf("after pruning: %v, %v", c, err)
	}
}
