package data

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// An RNG is a seeded pseudo-random stream whose state can be saved and
// restored exactly, so that a resumed run draws the same numbers as one that
// was never interrupted. It is math/rand/v2's Rand over a PCG source; the
// Rand methods (Float64, NormFloat64, IntN, Shuffle, ...) are promoted.
//
// A math/rand/v2 Rand holds no state of its own besides its source, so the
// PCG state is all there is to save.
type RNG struct {
	*rand.Rand
	src *rand.PCG
}

// NewRNG returns the random stream named stream for the given seed. Streams
// of different names are independent for the same seed, so one user seed can
// drive the data sampler, the generator's noise and so on without the draws
// of one showing up in another. The PCG is seeded with seed and the 64-bit
// FNV-1a hash of stream.
func NewRNG(seed uint64, stream string) *RNG {
	h := fnv.New64a()
	h.Write([]byte(stream))
	src := rand.NewPCG(seed, h.Sum64())
	return &RNG{Rand: rand.New(src), src: src}
}

// MarshalBinary returns the stream's state.
func (r *RNG) MarshalBinary() ([]byte, error) {
	return r.src.MarshalBinary()
}

// UnmarshalBinary restores a state returned by MarshalBinary; the stream then
// goes on from where it was when the state was saved.
func (r *RNG) UnmarshalBinary(data []byte) error {
	if err := r.src.UnmarshalBinary(data); err != nil {
		return fmt.Errorf("restoring random state: %w", err)
	}
	return nil
}
