package autodiff

import (
	"math"

	"gorgonia.org/tensor"
)

// erf is the Gauss error function, elementwise (ONNX Erf, and the exact
// form of Gelu). Its derivative, 2/√π·e^(−x²), is built from other prims,
// so it differentiates to any order.
type erf struct{}

func (erf) String() string                                { return "Erf" }
func (erf) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
func (p erf) do(in []array) (array, error)                { return doNew(p, in) }

func (erf) doInto(out array, in []array) error {
	if in[0].isF32() {
		erfLoop(floats[float32](out), floats[float32](in[0]))
	} else {
		erfLoop(floats[float64](out), floats[float64](in[0]))
	}
	return nil
}

func erfLoop[T float](y, x []T) {
	for i, v := range x {
		y[i] = T(math.Erf(float64(v)))
	}
}

// twoOverSqrtPi is 2/√π, the derivative of erf at 0.
const twoOverSqrtPi = 1.1283791670955125738961589031215451716881012586580

func (erf) vjp(t *Tape, in []*Node, _, g *Node) []*Node {
	x := in[0]
	d := t.Scale(t.Exp(t.Neg(t.Square(x))), twoOverSqrtPi)
	return []*Node{t.Mul(g, d)}
}

// Erf returns the error function of x elementwise.
func (t *Tape) Erf(x *Node) *Node { return t.apply(erf{}, x) }
