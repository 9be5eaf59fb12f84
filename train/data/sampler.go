package data

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A Sampler draws minibatches of rows from a Dataset in shuffled epochs:
// each epoch visits every row once, in an order drawn afresh, and a batch
// that runs past the end of an epoch goes on into the next. The rows drawn
// depend only on the seed and the number of rows drawn before. A Sampler's
// state can be saved with MarshalBinary and restored with UnmarshalBinary,
// after which it draws what it would have drawn had it not stopped.
type Sampler struct {
	d     *Dataset
	rng   *RNG
	perm  []int
	pos   int    // next index into perm
	epoch int    // number of epochs started, minus 1
	start []byte // rng state before this epoch's shuffle
}

// NewSampler returns a Sampler of the rows of d, seeded with seed. d must not
// change while the Sampler is in use.
func NewSampler(d *Dataset, seed uint64) (*Sampler, error) {
	if d.Rows < 1 || d.Width < 1 || len(d.Data) != d.Rows*d.Width {
		return nil, fmt.Errorf("sampling %s: %d rows of %d values in %d values; need at least one row",
			d.Source, d.Rows, d.Width, len(d.Data))
	}
	s := &Sampler{d: d, rng: NewRNG(seed, "sampler"), perm: make([]int, d.Rows), epoch: -1}
	s.newEpoch()
	return s, nil
}

// newEpoch starts the next epoch: it saves the random state and shuffles
// the rows from scratch, so that the state alone gives back the order.
func (s *Sampler) newEpoch() {
	s.start, _ = s.rng.MarshalBinary() // a PCG never fails to marshal
	s.shuffle()
	s.epoch++
	s.pos = 0
}

func (s *Sampler) shuffle() {
	for i := range s.perm {
		s.perm[i] = i
	}
	s.rng.Shuffle(len(s.perm), func(i, j int) { s.perm[i], s.perm[j] = s.perm[j], s.perm[i] })
}

// Next fills dst with the next len(dst)/Width rows. It panics if len(dst) is
// not a multiple of the data set's Width.
func (s *Sampler) Next(dst []float64) {
	w := s.d.Width
	if len(dst)%w != 0 {
		panic(fmt.Sprintf("train: Sampler.Next: buffer of %d values is not a whole number of rows of %d", len(dst), w))
	}
	for len(dst) > 0 {
		if s.pos == len(s.perm) {
			s.newEpoch()
		}
		i := s.perm[s.pos]
		copy(dst[:w], s.d.Data[i*w:(i+1)*w])
		dst = dst[w:]
		s.pos++
	}
}

// Epoch returns the number of the epoch the next row comes from, counting
// from 0.
func (s *Sampler) Epoch() int {
	if s.pos == len(s.perm) {
		return s.epoch + 1
	}
	return s.epoch
}

const samplerMagic = "ebmpipe sampler 1\n"

// MarshalBinary returns the Sampler's state: the random state at the start
// of the current epoch, the epoch number, the position in it and the number
// of rows.
func (s *Sampler) MarshalBinary() ([]byte, error) {
	b := []byte(samplerMagic)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s.perm)))
	b = binary.LittleEndian.AppendUint64(b, uint64(s.epoch))
	b = binary.LittleEndian.AppendUint64(b, uint64(s.pos))
	return append(b, s.start...), nil
}

// UnmarshalBinary restores a state returned by MarshalBinary of a Sampler of
// a data set of as many rows (normally the same data set). It fails if the
// state is malformed or was saved for another number of rows.
func (s *Sampler) UnmarshalBinary(data []byte) error {
	const head = len(samplerMagic) + 3*8
	if len(data) < head || string(data[:len(samplerMagic)]) != samplerMagic {
		return errors.New("restoring sampler: not a sampler state")
	}
	le := binary.LittleEndian
	rows := le.Uint64(data[len(samplerMagic):])
	epoch := le.Uint64(data[len(samplerMagic)+8:])
	pos := le.Uint64(data[len(samplerMagic)+16:])
	if rows != uint64(len(s.perm)) {
		return fmt.Errorf("restoring sampler: state is for %d rows, %s has %d", rows, s.d.Source, len(s.perm))
	}
	if pos > rows || epoch > 1<<62 {
		return fmt.Errorf("restoring sampler: position %d of epoch %d is out of range", pos, epoch)
	}
	start := append([]byte(nil), data[head:]...)
	if err := s.rng.UnmarshalBinary(start); err != nil {
		return fmt.Errorf("restoring sampler: %w", err)
	}
	s.start = start
	s.shuffle()
	s.epoch = int(epoch)
	s.pos = int(pos)
	return nil
}
