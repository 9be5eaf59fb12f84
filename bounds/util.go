package bounds

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// log2πe is log(2πe), the entropy of a standard normal variable times 2.
var log2πe = math.Log(2 * math.Pi * math.E)

// noiseSeq numbers the noise inputs: leaf names must be unique on a tape,
// and several bounds may share one.
var noiseSeq atomic.Int64

// noise adds a named input the caller fills with standard normal draws.
func noise(t *autodiff.Tape, what string, shape ...int) *autodiff.Node {
	return t.Input(fmt.Sprintf("bounds.%s#%d", what, noiseSeq.Add(1)), shape...)
}

// check validates the tape, the dimensions and that the networks of
// roles are present.
func (n Nets) check(roles ...Role) error {
	if n.Tape == nil {
		return errors.New("no tape")
	}
	if err := n.Tape.Err(); err != nil {
		return fmt.Errorf("tape already failed: %w", err)
	}
	if n.DataDim <= 0 || n.LatentDim <= 0 {
		return fmt.Errorf("dimensions D = %d, d = %d: want positive", n.DataDim, n.LatentDim)
	}
	for _, r := range roles {
		var net Net
		switch r {
		case Energy:
			net = n.Energy
		case Generator:
			net = n.Generator
		case Encoder:
			net = n.Encoder
		}
		if net == nil {
			return fmt.Errorf("no %s network", r)
		}
	}
	return nil
}

// matrix checks that x is a (rows, cols) matrix.
func matrix(x *autodiff.Node, what string, cols int) error {
	if x == nil {
		return fmt.Errorf("%s: missing", what)
	}
	s := x.Shape()
	if len(s) != 2 || s[1] != cols || s[0] <= 0 {
		return fmt.Errorf("%s has shape %v, want (rows, %d)", what, s, cols)
	}
	return nil
}

// String names the role in errors.
func (r Role) String() string {
	switch r {
	case Energy:
		return "energy"
	case Generator:
		return "generator"
	case Encoder:
		return "encoder"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// generate runs the generator on z (m, d) and checks its output (m, D).
func (n Nets) generate(z *autodiff.Node) (*autodiff.Node, error) {
	if err := matrix(z, "latent batch Z", n.LatentDim); err != nil {
		return nil, err
	}
	x, err := n.Generator(z)
	if err != nil {
		return nil, fmt.Errorf("generator: %w", err)
	}
	if err := matrix(x, "generator output", n.DataDim); err != nil {
		return nil, err
	}
	if x.Shape()[0] != z.Shape()[0] {
		return nil, fmt.Errorf("generator output has %d rows for %d latent rows", x.Shape()[0], z.Shape()[0])
	}
	return x, nil
}

// energy runs the energy on x (rows, D) and returns the energies (rows).
func (n Nets) energy(x *autodiff.Node) (*autodiff.Node, error) {
	e, err := n.Energy(x)
	if err != nil {
		return nil, fmt.Errorf("energy: %w", err)
	}
	if e == nil {
		return nil, errors.New("energy: no output")
	}
	rows := x.Shape()[0]
	s := e.Shape()
	switch {
	case len(s) == 1 && s[0] == rows:
		return e, nil
	case len(s) == 2 && s[0] == rows && s[1] == 1:
		return n.Tape.Reshape(e, []int{rows}), nil
	}
	return nil, fmt.Errorf("energy output has shape %v for %d rows, want (%d) or (%d, 1)", s, rows, rows, rows)
}

// rowSumSq returns Σ_j x_ij² per row of a matrix, shaped (rows).
func rowSumSq(t *autodiff.Tape, x *autodiff.Node) *autodiff.Node {
	return t.SumAxes(t.Square(x), []int{1}, false)
}

// rowDot returns Σ_j a_ij b_ij per row, shaped (rows, 1).
func rowDot(t *autodiff.Tape, a, b *autodiff.Node) *autodiff.Node {
	return t.SumAxes(t.Mul(a, b), []int{1}, true)
}

// tiny keeps normalisations of zero vectors finite (they stay zero).
const tiny = 1e-30

// normalize scales each row of x to unit length; the scale is a constant
// to every derivative. Zero rows stay zero.
func normalize(t *autodiff.Tape, x *autodiff.Node) *autodiff.Node {
	return t.Div(x, t.StopGradient(t.Affine(t.Sqrt(rowDot(t, x, x)), 1, tiny)))
}

// finish checks the tape after a bound was built.
func finish(t *autodiff.Tape, e Estimate) (Estimate, error) {
	if err := t.Err(); err != nil {
		return Estimate{}, err
	}
	return e, nil
}
