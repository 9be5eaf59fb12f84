package importers

import (
	"errors"
	"fmt"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// channelShape is the shape that broadcasts a per-channel vector of
// length c against an (N, C, D...) tensor of rank r.
func channelShape(c, r int) []int {
	s := ones(r)
	s[1] = c
	return s
}

// perChannel returns a length-C vector value reshaped for broadcasting
// along axis 1 of a rank-r tensor.
func (b *builder) perChannel(v value, c, r int, what string) (*autodiff.Node, error) {
	if autodiff.Size(v.shape()) != c {
		return nil, fmt.Errorf("%s of shape %v for %d channels", what, v.shape(), c)
	}
	return b.t.Reshape(b.float(v), channelShape(c, r)), nil
}

func checkBatchNorm(n *onnx.NodeProto, opset int64, _ []valueInfo) error {
	if opset < 9 && attrInt(n, "spatial", 1) != 1 {
		return errors.New("spatial=0 (per-activation statistics) is not supported")
	}
	return nil
}

// bnTraining reports whether a BatchNormalization node asks for batch
// statistics by itself: training_mode=1 from opset 14, more than one
// output in opsets 7–13, is_test=0 before.
func bnTraining(n *onnx.NodeProto, opset int64) bool {
	switch {
	case opset >= 14:
		return attrInt(n, "training_mode", 0) != 0
	case opset >= 7:
		for _, o := range n.GetOutput()[1:] {
			if o != "" {
				return true
			}
		}
		return false
	}
	return attrInt(n, "is_test", 0) == 0
}

// lowerBatchNorm normalizes with the running statistics (inference), or
// with the statistics of the current batch (biased variance) when the
// node is in training mode or ApplyOptions.Training is set. In training
// mode the optional outputs are the updated running mean and variance
// (then, before opset 14, the batch mean and variance).
func lowerBatchNorm(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	if len(in) < 5 {
		return nil, fmt.Errorf("%d inputs, want 5", len(in))
	}
	t := b.t
	x := in[0]
	r := x.rank()
	if r < 2 {
		return nil, fmt.Errorf("input of shape %v, want (N, C, ...)", x.shape())
	}
	c := x.shape()[1]
	eps := attrFloat(n, "epsilon", 1e-5)
	var p [4]*autodiff.Node
	for k, what := range []string{"scale", "bias", "mean", "var"} {
		var err error
		if p[k], err = b.perChannel(in[k+1], c, r, what); err != nil {
			return nil, err
		}
	}
	scale, bias, mean, vr := p[0], p[1], p[2], p[3]
	xf := b.float(x)
	training := b.opt.Training || bnTraining(n, b.opset)
	if !training {
		inv := t.Div(scale, t.Sqrt(t.Affine(vr, 1, eps)))
		return []value{nodeVal(t.Add(t.Mul(t.Sub(xf, mean), inv), bias))}, nil
	}
	axes := make([]int, 0, r-1)
	for k := 0; k < r; k++ {
		if k != 1 {
			axes = append(axes, k)
		}
	}
	mu := t.MeanAxes(xf, axes, true)
	d := t.Sub(xf, mu)
	v := t.MeanAxes(t.Square(d), axes, true)
	y := t.Add(t.Mul(d, t.Div(scale, t.Sqrt(t.Affine(v, 1, eps)))), bias)
	out := []value{nodeVal(y), {}, {}, {}, {}}
	momentum := attrFloat(n, "momentum", 0.9)
	running := func(old, batch *autodiff.Node) value {
		return nodeVal(t.Reshape(t.Add(t.Scale(old, momentum), t.Scale(batch, 1-momentum)), []int{c}))
	}
	if b.wants(n, 1) {
		out[1] = running(mean, mu)
	}
	if b.wants(n, 2) {
		out[2] = running(vr, v)
	}
	if b.wants(n, 3) {
		out[3] = nodeVal(t.Reshape(mu, []int{c}))
	}
	if b.wants(n, 4) {
		out[4] = nodeVal(t.Reshape(v, []int{c}))
	}
	return out[:max(1, len(n.GetOutput()))], nil
}

// lowerInstanceNorm normalizes every (example, channel) plane by its own
// mean and (biased) variance.
func lowerInstanceNorm(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	t := b.t
	x := in[0]
	r := x.rank()
	if r < 3 {
		return nil, fmt.Errorf("input of shape %v, want (N, C, D...)", x.shape())
	}
	c := x.shape()[1]
	scale, err := b.perChannel(in[1], c, r, "scale")
	if err != nil {
		return nil, err
	}
	bias, err := b.perChannel(in[2], c, r, "bias")
	if err != nil {
		return nil, err
	}
	axes := make([]int, 0, r-2)
	for k := 2; k < r; k++ {
		axes = append(axes, k)
	}
	xf := b.float(x)
	d := t.Sub(xf, t.MeanAxes(xf, axes, true))
	v := t.MeanAxes(t.Square(d), axes, true)
	y := t.Add(t.Mul(d, t.Div(scale, t.Sqrt(t.Affine(v, 1, attrFloat(n, "epsilon", 1e-5))))), bias)
	return []value{nodeVal(y)}, nil
}

var autoPads = map[string]bool{"NOTSET": true, "SAME_UPPER": true, "SAME_LOWER": true, "VALID": true}

// checkConv accepts the auto_pad values of Conv, ConvTranspose and the
// pools.
func checkConv(n *onnx.NodeProto, _ int64, _ []valueInfo) error {
	if p := onnx.AttrString(n, "auto_pad", "NOTSET"); !autoPads[p] {
		return fmt.Errorf("auto_pad %q is not supported", p)
	}
	return nil
}

func checkMaxPool(n *onnx.NodeProto, opset int64, in []valueInfo) error {
	if len(n.GetOutput()) > 1 && n.GetOutput()[1] != "" {
		return errors.New("the Indices output is not supported")
	}
	return checkConv(n, opset, in)
}

// windows holds the per-axis geometry of a convolution or pool.
type windows struct {
	kernel, strides, dilations, padsBegin, padsEnd []int
}

// windowAttrs reads kernel_shape (or kernel, the weight's spatial shape),
// strides, dilations, pads and auto_pad for the spatial axes of in.
func windowAttrs(n *onnx.NodeProto, in []int, kernel []int) (windows, error) {
	k := len(in)
	w := windows{kernel: kernel}
	if ks := attrInts(n, "kernel_shape"); ks != nil {
		w.kernel = ks
	}
	if len(w.kernel) != k {
		return w, fmt.Errorf("kernel shape %v for %d spatial axes", w.kernel, k)
	}
	w.strides = attrInts(n, "strides")
	if w.strides == nil {
		w.strides = ones(k)
	}
	w.dilations = attrInts(n, "dilations")
	if w.dilations == nil {
		w.dilations = ones(k)
	}
	if len(w.strides) != k || len(w.dilations) != k {
		return w, fmt.Errorf("strides %v and dilations %v for %d spatial axes", w.strides, w.dilations, k)
	}
	w.padsBegin, w.padsEnd = make([]int, k), make([]int, k)
	switch mode := onnx.AttrString(n, "auto_pad", "NOTSET"); mode {
	case "SAME_UPPER", "SAME_LOWER":
		// The output has ceil(D/stride) positions; the pads that takes go
		// to both ends, the odd one at the end (upper) or beginning.
		for i, d := range in {
			out := (d + w.strides[i] - 1) / w.strides[i]
			total := max(0, (out-1)*w.strides[i]+(w.kernel[i]-1)*w.dilations[i]+1-d)
			small := total / 2
			if mode == "SAME_UPPER" {
				w.padsBegin[i], w.padsEnd[i] = small, total-small
			} else {
				w.padsBegin[i], w.padsEnd[i] = total-small, small
			}
		}
	case "VALID":
	default:
		if pads := attrInts(n, "pads"); pads != nil {
			if len(pads) != 2*k {
				return w, fmt.Errorf("%d pads for %d spatial axes", len(pads), k)
			}
			copy(w.padsBegin, pads[:k])
			copy(w.padsEnd, pads[k:])
		}
	}
	return w, nil
}

func (b *builder) addBias(y *autodiff.Node, bias value, r int) (*autodiff.Node, error) {
	if !bias.ok() || y == nil {
		return y, nil
	}
	bn, err := b.perChannel(bias, y.Shape()[1], r, "bias")
	if err != nil {
		return nil, err
	}
	return b.t.Add(y, bn), nil
}

func lowerConv(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	x, w := in[0], in[1]
	if x.rank() < 3 || w.rank() != x.rank() {
		return nil, fmt.Errorf("input %v and weight %v, want (N, C, D...) and (M, C/group, K...)", x.shape(), w.shape())
	}
	win, err := windowAttrs(n, x.shape()[2:], w.shape()[2:])
	if err != nil {
		return nil, err
	}
	if err := b.limitWindows(x.shape(), win); err != nil {
		return nil, err
	}
	geo := autodiff.ConvGeometry{Strides: win.strides, Dilations: win.dilations, PadsBegin: win.padsBegin, PadsEnd: win.padsEnd, Groups: attrInt(n, "group", 1)}
	y := b.t.Conv(b.float(x), b.float(w), geo)
	var bias value
	if len(in) > 2 {
		bias = in[2]
	}
	y, err = b.addBias(y, bias, x.rank())
	return []value{nodeVal(y)}, err
}

// lowerConvTranspose maps ONNX ConvTranspose onto Tape.ConvTranspose. With
// output_shape (or SAME auto_pad, where it is input·stride) the pads
// follow from the output shape as the ONNX specification says, the odd
// one at the end for SAME_UPPER and at the beginning otherwise.
func lowerConvTranspose(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	x, w := in[0], in[1]
	r := x.rank()
	if r < 3 || w.rank() != r {
		return nil, fmt.Errorf("input %v and weight %v, want (N, C, D...) and (C, M/group, K...)", x.shape(), w.shape())
	}
	ds := x.shape()[2:]
	k := len(ds)
	win, err := windowAttrs(n, ds, w.shape()[2:])
	if err != nil {
		return nil, err
	}
	outPad := attrInts(n, "output_padding")
	if outPad == nil {
		outPad = make([]int, k)
	}
	if len(outPad) != k {
		return nil, fmt.Errorf("%d output paddings for %d spatial axes", len(outPad), k)
	}
	mode := onnx.AttrString(n, "auto_pad", "NOTSET")
	want := attrInts(n, "output_shape")
	if want == nil && (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
		want = make([]int, k)
		for i, d := range ds {
			want[i] = d * win.strides[i]
		}
	}
	if err := b.limitWindows(x.shape(), win); err != nil {
		return nil, err
	}
	full := make([]int, k) // output size without pads
	if err := b.limitConvTranspose(x.shape(), w.shape(), win, outPad, want); err != nil {
		return nil, err
	}
	for i, d := range ds {
		full[i] = win.strides[i]*(d-1) + outPad[i] + (win.kernel[i]-1)*win.dilations[i] + 1
	}
	out, err := transposeOut(&win, full, want, mode)
	if err != nil {
		return nil, err
	}
	// Tape.ConvTranspose places its windows by the begin pads alone;
	// negative ones (output_shape beyond the full size) become zeros
	// prepended afterwards.
	lead := make([]int, k)
	inner := make([]int, k)
	crop := false
	for i := range ds {
		if win.padsBegin[i] < 0 {
			lead[i] = -win.padsBegin[i]
			win.padsBegin[i] = 0
			crop = true
		}
		// Tape.ConvTranspose derives the end pads from the output
		// shape; a negative one here only means extra trailing outputs.
		win.padsEnd[i] = max(win.padsEnd[i], 0)
		inner[i] = out[i] - lead[i]
		if inner[i] < 1 {
			return nil, fmt.Errorf("output shape %v leaves no room for the input", out)
		}
	}
	geo := autodiff.ConvGeometry{Strides: win.strides, Dilations: win.dilations, PadsBegin: win.padsBegin, PadsEnd: win.padsEnd, Groups: attrInt(n, "group", 1)}
	y := b.t.ConvTranspose(b.float(x), b.float(w), geo, inner)
	if crop && y != nil {
		pads := make([]int, 2*r)
		copy(pads[2:], lead)
		m, err := padMap(y.Shape(), pads, "constant")
		if err != nil {
			return nil, err
		}
		y = b.t.Gather(y, m)
	}
	var bias value
	if len(in) > 2 {
		bias = in[2]
	}
	y, err = b.addBias(y, bias, r)
	return []value{nodeVal(y)}, err
}

// transposeOut returns the output spatial shape of a ConvTranspose whose
// unpadded output is full, and sets the pads of win from the requested
// output shape want (nil: none) and the auto_pad mode.
func transposeOut(win *windows, full, want []int, mode string) ([]int, error) {
	k := len(full)
	out := make([]int, k)
	switch {
	case want != nil:
		if len(want) < k {
			return nil, fmt.Errorf("output_shape %v for %d spatial axes", want, k)
		}
		want = want[len(want)-k:]
		for i := range full {
			total := full[i] - want[i]
			// Floor division: a negative total pads with zeros.
			half := floorDiv(total, 2)
			if mode == "SAME_UPPER" {
				win.padsBegin[i], win.padsEnd[i] = half, total-half
			} else {
				win.padsBegin[i], win.padsEnd[i] = total-half, half
			}
			out[i] = want[i]
		}
	case mode == "VALID":
		for i := range full {
			win.padsBegin[i], win.padsEnd[i] = 0, 0
			out[i] = full[i]
		}
	default:
		for i := range full {
			out[i] = full[i] - win.padsBegin[i] - win.padsEnd[i]
		}
	}
	return out, nil
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func poolGeometry(n *onnx.NodeProto, x value, opset int64, maxElems int) (autodiff.PoolGeometry, error) {
	if x.rank() < 3 {
		return autodiff.PoolGeometry{}, fmt.Errorf("input of shape %v, want (N, C, D...)", x.shape())
	}
	ks := attrInts(n, "kernel_shape")
	if ks == nil {
		return autodiff.PoolGeometry{}, errors.New("no kernel_shape")
	}
	win, err := windowAttrs(n, x.shape()[2:], ks)
	if err != nil {
		return autodiff.PoolGeometry{}, err
	}
	if err := limitWindows(x.shape(), win, maxElems); err != nil {
		return autodiff.PoolGeometry{}, err
	}
	return autodiff.PoolGeometry{
		Kernel: win.kernel, Strides: win.strides, Dilations: win.dilations,
		PadsBegin: win.padsBegin, PadsEnd: win.padsEnd,
		CeilMode: opset >= 10 && attrInt(n, "ceil_mode", 0) != 0,
	}, nil
}

func lowerMaxPool(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	geo, err := poolGeometry(n, in[0], b.opset, b.maxElems)
	if err != nil {
		return nil, err
	}
	return []value{nodeVal(b.t.MaxPool(b.float(in[0]), geo))}, nil
}

func lowerAvgPool(b *builder, n *onnx.NodeProto, in []value) ([]value, error) {
	geo, err := poolGeometry(n, in[0], b.opset, b.maxElems)
	if err != nil {
		return nil, err
	}
	include := attrInt(n, "count_include_pad", 0) != 0
	return []value{nodeVal(b.t.AvgPool(b.float(in[0]), geo, include))}, nil
}

func spatialAxes(r int) []int {
	axes := make([]int, 0, r-2)
	for k := 2; k < r; k++ {
		axes = append(axes, k)
	}
	return axes
}

func lowerGlobalAvgPool(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	if in[0].rank() < 3 {
		return nil, fmt.Errorf("input of shape %v, want (N, C, D...)", in[0].shape())
	}
	return []value{nodeVal(b.t.MeanAxes(b.float(in[0]), spatialAxes(in[0].rank()), true))}, nil
}

func lowerGlobalMaxPool(b *builder, _ *onnx.NodeProto, in []value) ([]value, error) {
	if in[0].rank() < 3 {
		return nil, fmt.Errorf("input of shape %v, want (N, C, D...)", in[0].shape())
	}
	geo := autodiff.PoolGeometry{Kernel: append([]int{}, in[0].shape()[2:]...)}
	return []value{nodeVal(b.t.MaxPool(b.float(in[0]), geo))}, nil
}

// limitWindows checks the padded input of a convolution or pool, and its
// kernel, against the budget.
func (b *builder) limitWindows(x []int, w windows) error { return limitWindows(x, w, b.maxElems) }

func limitWindows(x []int, w windows, max int) error {
	padded := []int64{int64(x[0]), int64(x[1])}
	span := []int64{}
	for i, d := range x[2:] {
		padded = append(padded, addSat(int64(d), addSat(int64(w.padsBegin[i]), int64(w.padsEnd[i]))))
		span = append(span, mulSat(int64(w.kernel[i]), int64(w.dilations[i])))
	}
	if err := limit("padded input", padded, max); err != nil {
		return err
	}
	return limit("dilated kernel", span, max)
}

// limitConvTranspose checks the output of a transposed convolution, as its
// geometry and its output_shape (want, if given) make it, against the
// budget.
func (b *builder) limitConvTranspose(x, w []int, win windows, outPad, want []int) error {
	lim := []int64{int64(x[0]), int64(w[1])}
	for i, d := range x[2:] {
		lim = append(lim, addSat(mulSat(int64(win.strides[i]), int64(d)), addSat(int64(outPad[i]), mulSat(int64(win.kernel[i]), int64(win.dilations[i])))))
	}
	if err := b.limit64("output", lim); err != nil {
		return err
	}
	if want == nil {
		return nil
	}
	return b.limit("output_shape", append([]int{x[0], w[1]}, want...))
}
