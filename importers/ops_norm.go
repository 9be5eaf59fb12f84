package importers

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Normalisation layers and activations that PyTorch's dynamo exporter
// writes as single ops from opset 17 on: LayerNormalization (17),
// GroupNormalization (18, per-group affine; 21, per-channel affine) and
// Gelu (20), besides Erf, the exact Gelu's building block.

// normalize returns (x − mean)/√(var + eps) over axes, with the mean and
// the inverse standard deviation (kept axes), the (biased) variance taken
// as PyTorch and ONNX do.
func normalize(t *autodiff.Tape, x *autodiff.Node, axes []int, eps float64) (y, mean, inv *autodiff.Node) {
	mean = t.MeanAxes(x, axes, true)
	d := t.Sub(x, mean)
	inv = t.Pow(t.Affine(t.MeanAxes(t.Square(d), axes, true), 1, eps), -0.5)
	return t.Mul(d, inv), mean, inv
}

// broadcastsTo reports whether v broadcasts to shape without changing it
// (unidirectional broadcasting).
func broadcastsTo(v value, shape []int) bool {
	s, err := autodiff.BroadcastShape(shape, v.shape())
	return err == nil && slices.Equal(s, shape)
}

// lowerLayerNorm normalizes over the axes from axis (default −1) to the
// last, then scales and shifts by Scale and the optional B, which
// broadcast to the input. The optional outputs are the mean and the
// inverse standard deviation.
func lowerLayerNorm(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	x := in[0]
	r := x.rank()
	if r == 0 {
		return nil, errors.New("input is a scalar")
	}
	ax, err := axis(attrInt(n, "axis", -1), r)
	if err != nil {
		return nil, err
	}
	y, mean, inv := normalize(b.t, b.float(x), allAxes(r)[ax:], attrFloat(n, "epsilon", 1e-5))
	for k, what := range []string{"Scale", "B"} {
		if k+1 >= len(in) || !in[k+1].ok() {
			continue
		}
		if !broadcastsTo(in[k+1], x.shape()) {
			return nil, fmt.Errorf("%s of shape %v does not broadcast to the input's shape %v", what, in[k+1].shape(), x.shape())
		}
		if k == 0 {
			y = b.t.Mul(y, b.float(in[1]))
		} else {
			y = b.t.Add(y, b.float(in[2]))
		}
	}
	out := []value{nodeVal(y), {}, {}}
	if b.wants(n, 1) {
		out[1] = nodeVal(mean)
	}
	if b.wants(n, 2) {
		out[2] = nodeVal(inv)
	}
	return out[:max(1, len(n.GetOutput()))], nil
}

// lowerGroupNorm normalizes each group of num_groups channel groups of an
// (N, C, D...) input over its channels and positions, then applies scale
// and bias: per group in opset 18 (shape (num_groups), each value for the
// channels of its group), per channel from opset 21 (shape (C)).
func lowerGroupNorm(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	t := b.t
	x := in[0]
	s := x.shape()
	if len(s) < 2 {
		return nil, fmt.Errorf("input of shape %v, want (N, C, ...)", s)
	}
	c, g := s[1], attrInt(n, "num_groups", 0)
	if g < 1 || c%g != 0 {
		return nil, fmt.Errorf("num_groups %d does not divide the %d channels", g, c)
	}
	grouped := t.Reshape(b.float(x), []int{s[0], g, autodiff.Size(s[1:]) / g})
	y, _, _ := normalize(t, grouped, []int{2}, attrFloat(n, "epsilon", 1e-5))
	y = t.Reshape(y, s)
	var p [2]*autodiff.Node
	for k, what := range []string{"scale", "bias"} {
		v := in[k+1]
		size := autodiff.Size(v.shape())
		switch {
		case size == c:
		case size == g && b.opset < 21:
			// One value per group, repeated for the group's channels.
			v = nodeVal(t.Reshape(t.BroadcastTo(t.Reshape(b.float(v), []int{g, 1}), []int{g, c / g}), []int{c}))
		default:
			return nil, fmt.Errorf("%s of shape %v for %d channels in %d groups", what, v.shape(), c, g)
		}
		var err error
		if p[k], err = b.perChannel(v, c, len(s), what); err != nil {
			return nil, err
		}
	}
	return []value{nodeVal(t.Add(t.Mul(y, p[0]), p[1]))}, nil
}

func checkGelu(n *onnx.NodeProto, _ int64, _ []valueInfo) error {
	if a := onnx.AttrString(n, "approximate", "none"); a != "none" && a != "tanh" {
		return fmt.Errorf("approximate %q is not supported", a)
	}
	return nil
}

// lowerGelu computes x·Φ(x) = ½x(1 + erf(x/√2)), or with approximate
// "tanh" ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
func lowerGelu(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	t := b.t
	x := b.float(in[0])
	var inner *autodiff.Node
	if onnx.AttrString(n, "approximate", "none") == "tanh" {
		inner = t.Tanh(t.Scale(t.Add(x, t.Scale(t.Pow(x, 3), 0.044715)), math.Sqrt(2/math.Pi)))
	} else {
		inner = t.Erf(t.Scale(x, 1/math.Sqrt2))
	}
	return []value{nodeVal(t.Mul(t.Scale(x, 0.5), t.Affine(inner, 1, 1)))}, nil
}
