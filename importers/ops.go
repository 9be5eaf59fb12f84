package importers

import (
	"fmt"
	"math"
	"sort"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// An opDef says how one ONNX operator of the default domain lowers onto a
// Tape. The op table below is the single source of truth for which
// operators a Network supports: New and Unsupported validate models
// against it and Apply builds with it.
type opDef struct {
	since, until int64 // supported opsets, inclusive
	lower        lowerFunc
	// static lists the inputs that must be known when the graph is built:
	// shapes, axes, pads and the like. They may come from initializers,
	// Constant nodes, or ops folded from those (Shape of any value is
	// known, since shapes are fixed once the batch size is).
	static []int
	// attrLike lists inputs that play the part of attributes (a Pow
	// exponent, Clip bounds, ...). An initializer used only in static or
	// attrLike inputs is a constant of the network, not a parameter.
	attrLike []int
	// fold: when every input is a constant, so is every output, computed
	// at build time (shape and index arithmetic).
	fold bool
	// check rejects attribute values and input kinds that lower does not
	// handle. It sees what is known statically about the inputs.
	check func(n *onnx.NodeProto, opset int64, in []valueInfo) error
}

// lowerFunc builds node n from its input values (a zero value for an
// omitted optional input) and returns its outputs, one per name in
// n.Output (a zero value for an output nobody uses is fine).
type lowerFunc func(b *builder, n *onnx.NodeProto, in []value) ([]value, error)

// MaxOpset is the newest version of the default ONNX operator set the
// importer reads.
const MaxOpset = 23

// maxOpset is the newest opset the table is written for.
const maxOpset = MaxOpset

// opTable maps op_type to its definition.
var opTable = map[string]opDef{
	// Arithmetic and activations (ops_math.go).
	"Add":         {since: 1, until: maxOpset, lower: lowerBinary(bAdd), fold: true},
	"Sub":         {since: 1, until: maxOpset, lower: lowerBinary(bSub), fold: true},
	"Mul":         {since: 1, until: maxOpset, lower: lowerBinary(bMul), fold: true},
	"Div":         {since: 1, until: maxOpset, lower: lowerBinary(bDiv), fold: true, check: checkDiv},
	"Pow":         {since: 1, until: maxOpset, lower: lowerPow, attrLike: []int{1}},
	"Neg":         {since: 1, until: maxOpset, lower: lowerNeg, fold: true},
	"Abs":         {since: 1, until: maxOpset, lower: lowerUnary((*autodiff.Tape).Abs)},
	"Exp":         {since: 1, until: maxOpset, lower: lowerUnary((*autodiff.Tape).Exp)},
	"Log":         {since: 1, until: maxOpset, lower: lowerUnary((*autodiff.Tape).Log)},
	"Sqrt":        {since: 1, until: maxOpset, lower: lowerUnary((*autodiff.Tape).Sqrt)},
	"Relu":        {since: 1, until: maxOpset, lower: lowerUnary((*autodiff.Tape).Relu)},
	"Tanh":        {since: 1, until: maxOpset, lower: lowerUnary((*autodiff.Tape).Tanh)},
	"Sigmoid":     {since: 1, until: maxOpset, lower: lowerUnary((*autodiff.Tape).Sigmoid)},
	"Softplus":    {since: 1, until: maxOpset, lower: lowerUnary((*autodiff.Tape).Softplus)},
	"Softsign":    {since: 1, until: maxOpset, lower: lowerUnary(softsign)},
	"LeakyRelu":   {since: 1, until: maxOpset, lower: lowerLeakyRelu},
	"Elu":         {since: 1, until: maxOpset, lower: lowerElu},
	"Selu":        {since: 1, until: maxOpset, lower: lowerSelu},
	"HardSigmoid": {since: 1, until: maxOpset, lower: lowerHardSigmoid},
	"PRelu":       {since: 1, until: maxOpset, lower: lowerPRelu},
	"Clip":        {since: 1, until: maxOpset, lower: lowerClip, attrLike: []int{1, 2}},
	"Max":         {since: 1, until: maxOpset, lower: lowerVariadic((*autodiff.Tape).Max)},
	"Min":         {since: 1, until: maxOpset, lower: lowerVariadic((*autodiff.Tape).Min)},
	"Sum":         {since: 1, until: maxOpset, lower: lowerVariadic((*autodiff.Tape).Add)},
	"Gemm":        {since: 1, until: maxOpset, lower: lowerGemm},
	"MatMul":      {since: 1, until: maxOpset, lower: lowerMatMul},
	"Softmax":     {since: 1, until: maxOpset, lower: lowerSoftmax(false)},
	"LogSoftmax":  {since: 1, until: maxOpset, lower: lowerSoftmax(true)},
	"Erf":         {since: 9, until: maxOpset, lower: lowerUnary((*autodiff.Tape).Erf)},
	"Gelu":        {since: 20, until: maxOpset, lower: lowerGelu, check: checkGelu},

	// Reductions (ops_reduce.go): axes an input from opset 13 (ReduceSum)
	// or 18 (the others).
	"ReduceSum":       {since: 1, until: maxOpset, lower: lowerReduce(rSum), static: []int{1}},
	"ReduceMean":      {since: 1, until: maxOpset, lower: lowerReduce(rMean), static: []int{1}},
	"ReduceMax":       {since: 1, until: maxOpset, lower: lowerReduce(rMax), static: []int{1}},
	"ReduceMin":       {since: 1, until: maxOpset, lower: lowerReduce(rMin), static: []int{1}},
	"ReduceSumSquare": {since: 1, until: maxOpset, lower: lowerReduce(rSumSquare), static: []int{1}},
	"ReduceL1":        {since: 1, until: maxOpset, lower: lowerReduce(rL1), static: []int{1}},
	"ReduceL2":        {since: 1, until: maxOpset, lower: lowerReduce(rL2), static: []int{1}},
	"ReduceLogSum":    {since: 1, until: maxOpset, lower: lowerReduce(rLogSum), static: []int{1}},
	"ReduceLogSumExp": {since: 1, until: maxOpset, lower: lowerReduce(rLogSumExp), static: []int{1}},

	// Shapes, indexing and constants (ops_shape.go, ops_index.go, ops_const.go).
	"Identity":        {since: 1, until: maxOpset, lower: lowerIdentity, fold: true},
	"Dropout":         {since: 1, until: maxOpset, lower: lowerDropout, static: []int{2}, attrLike: []int{1}},
	"Constant":        {since: 1, until: maxOpset, lower: lowerConstant, check: checkConstant},
	"Reshape":         {since: 1, until: maxOpset, lower: lowerReshape, static: []int{1}, fold: true},
	"Flatten":         {since: 1, until: maxOpset, lower: lowerFlatten, fold: true},
	"Squeeze":         {since: 1, until: maxOpset, lower: lowerSqueeze, static: []int{1}, fold: true},
	"Unsqueeze":       {since: 1, until: maxOpset, lower: lowerUnsqueeze, static: []int{1}, fold: true},
	"Transpose":       {since: 1, until: maxOpset, lower: lowerTranspose, fold: true},
	"Concat":          {since: 1, until: maxOpset, lower: lowerConcat, fold: true},
	"Split":           {since: 2, until: maxOpset, lower: lowerSplit, static: []int{1}, fold: true},
	"Slice":           {since: 1, until: maxOpset, lower: lowerSlice, static: []int{1, 2, 3, 4}, fold: true},
	"Tile":            {since: 6, until: maxOpset, lower: lowerTile, static: []int{1}, fold: true},
	"Pad":             {since: 1, until: maxOpset, lower: lowerPad, static: []int{1, 2, 3}, check: checkPad},
	"Expand":          {since: 8, until: maxOpset, lower: lowerExpand, static: []int{1}, fold: true},
	"Gather":          {since: 1, until: maxOpset, lower: lowerGather, fold: true, check: checkGather},
	"Shape":           {since: 1, until: maxOpset, lower: lowerShape},
	"Cast":            {since: 6, until: maxOpset, lower: lowerCast, fold: true, check: checkCast},
	"CastLike":        {since: 15, until: maxOpset, lower: lowerCastLike, fold: true, check: checkCastLike, attrLike: []int{1}},
	"Range":           {since: 11, until: maxOpset, lower: lowerRange, static: []int{0, 1, 2}},
	"ConstantOfShape": {since: 9, until: maxOpset, lower: lowerConstantOfShape, static: []int{0}},
	"Equal":           {since: 1, until: maxOpset, lower: lowerEqual, static: []int{0, 1}},
	"Where":           {since: 9, until: maxOpset, lower: lowerWhere, static: []int{0}, fold: true},

	// Neural-network layers (ops_nn.go).
	"BatchNormalization":    {since: 1, until: maxOpset, lower: lowerBatchNorm, check: checkBatchNorm},
	"InstanceNormalization": {since: 1, until: maxOpset, lower: lowerInstanceNorm},
	"LayerNormalization":    {since: 17, until: maxOpset, lower: lowerLayerNorm},
	"GroupNormalization":    {since: 18, until: maxOpset, lower: lowerGroupNorm},
	"Conv":                  {since: 1, until: maxOpset, lower: lowerConv, check: checkConv},
	"ConvTranspose":         {since: 1, until: maxOpset, lower: lowerConvTranspose, check: checkConv},
	"MaxPool":               {since: 1, until: maxOpset, lower: lowerMaxPool, check: checkMaxPool},
	"AveragePool":           {since: 1, until: maxOpset, lower: lowerAvgPool, check: checkConv},
	"GlobalAveragePool":     {since: 1, until: maxOpset, lower: lowerGlobalAvgPool},
	"GlobalMaxPool":         {since: 1, until: maxOpset, lower: lowerGlobalMaxPool},
}

// A constant is a tensor known while the graph is built: shapes, indices,
// attribute-like inputs and whatever is computed from them alone. Integer
// and boolean tensors keep exact int64 elements (Slice ends are often
// math.MaxInt64); floating-point tensors keep float64.
type constant struct {
	shape []int
	isInt bool
	f     []float64
	i     []int64
}

func floatConst(shape []int, f []float64) *constant {
	return &constant{shape: append([]int{}, shape...), f: f}
}

func intConst(shape []int, i []int64) *constant {
	return &constant{shape: append([]int{}, shape...), isInt: true, i: i}
}

func (c *constant) len() int { return autodiff.Size(c.shape) }

func (c *constant) float(k int) float64 {
	if c.isInt {
		return float64(c.i[k])
	}
	return c.f[k]
}

func (c *constant) int(k int) int64 {
	if c.isInt {
		return c.i[k]
	}
	return int64(c.f[k])
}

// floats returns every element as a float64.
func (c *constant) floats() []float64 {
	out := make([]float64, c.len())
	for k := range out {
		out[k] = c.float(k)
	}
	return out
}

// ints returns every element as an int64.
func (c *constant) ints() []int64 {
	out := make([]int64, c.len())
	for k := range out {
		out[k] = c.int(k)
	}
	return out
}

// withShape returns c's elements in a new shape (same count).
func (c *constant) withShape(shape []int) *constant {
	out := *c
	out.shape = append([]int{}, shape...)
	return &out
}

// gather applies an index map to c (positions the map leaves empty get 0).
func (c *constant) gather(m *autodiff.IndexMap) *constant {
	out := &constant{shape: []int(m.Out.Clone()), isInt: c.isInt}
	if c.isInt {
		out.i = autodiff.GatherSlice(m, c.i)
	} else {
		out.f = autodiff.GatherSlice(m, c.f)
	}
	return out
}

// A value is a tensor while a graph is built: a node of the tape, or a
// constant. The zero value stands for an omitted optional input.
type value struct {
	n *autodiff.Node
	c *constant
}

func (v value) ok() bool { return v.n != nil || v.c != nil }

func (v value) shape() []int {
	if v.c != nil {
		return v.c.shape
	}
	return []int(v.n.Shape())
}

func (v value) rank() int { return len(v.shape()) }

func (v value) isInt() bool {
	if v.c != nil {
		return v.c.isInt
	}
	return v.n.Dtype() == autodiff.Int64
}

func nodeVal(n *autodiff.Node) value { return value{n: n} }
func constVal(c *constant) value     { return value{c: c} }
func constVals(cs ...*constant) []value {
	out := make([]value, len(cs))
	for i, c := range cs {
		out[i] = constVal(c)
	}
	return out
}

// valueInfo is what validation knows about a value before any graph is
// built.
type valueInfo struct {
	present bool // the input is given (optional inputs may be omitted)
	isConst bool // known at build time
	isInt   bool // integer or boolean elements
	// elem is the element type declared for an initializer or graph
	// input, 0 for computed values.
	elem onnx.DataType
}

// builder lowers the nodes of one Apply call onto a tape.
type builder struct {
	t     *autodiff.Tape
	opset int64
	opt   ApplyOptions
	used  map[string]bool // names of values some node or graph output reads
	// maxElems is Options.MaxElements; folded counts the elements of the
	// constants folded so far.
	maxElems int
	folded   int64
}

// float returns v as a node of the tape's floating-point type: constants
// become leaves, integer nodes are converted.
func (b *builder) float(v value) *autodiff.Node {
	switch {
	case v.c != nil:
		return b.t.Const(v.c.floats(), v.c.shape...)
	case v.n != nil && v.n.Dtype() == autodiff.Int64:
		return b.t.ToFloat(v.n)
	}
	return v.n
}

// node returns v as a node, keeping integer constants integer.
func (b *builder) node(v value) *autodiff.Node {
	if v.c != nil && v.c.isInt {
		if b.t.Err() != nil {
			return nil
		}
		return b.t.ConstTensor(autodiff.NewTensor(v.c.shape, append([]int64{}, v.c.i...)))
	}
	return b.float(v)
}

// wants reports whether output k of n is read by anything.
func (b *builder) wants(n *onnx.NodeProto, k int) bool {
	return k < len(n.GetOutput()) && n.GetOutput()[k] != "" && b.used[n.GetOutput()[k]]
}

// Attribute helpers.

func attrInt(n *onnx.NodeProto, name string, def int) int {
	return int(onnx.AttrInt(n, name, int64(def)))
}

func attrFloat(n *onnx.NodeProto, name string, def float64) float64 {
	if !onnx.HasAttr(n, name) {
		return def
	}
	return float64(onnx.AttrFloat(n, name, float32(def)))
}

func attrInts(n *onnx.NodeProto, name string) []int {
	v := onnx.AttrInts(n, name, nil)
	if v == nil {
		return nil
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// toInts converts int64 elements to ints, saturating (Slice bounds are
// often ±2⁶³−1).
func toInts(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		switch {
		case x > math.MaxInt32:
			out[i] = math.MaxInt32
		case x < math.MinInt32:
			out[i] = math.MinInt32
		default:
			out[i] = int(x)
		}
	}
	return out
}

// constInts returns the elements of a constant input as ints.
func constInts(v value, what string) ([]int, error) {
	if v.c == nil {
		return nil, fmt.Errorf("%s must be known when the graph is built", what)
	}
	return toInts(v.c.ints()), nil
}

// axis normalizes a possibly negative axis of a tensor of rank r.
func axis(a, r int) (int, error) {
	if a < -r || a >= r {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, r)
	}
	if a < 0 {
		a += r
	}
	return a, nil
}

// distinctAxes returns axes made non-negative, in their order, refusing
// repeated ones.
func distinctAxes(axes []int, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make([]bool, rank)
	for i, a := range axes {
		k, err := axis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		seen[k] = true
		out[i] = k
	}
	return out, nil
}

// normAxes returns axes made non-negative and sorted.
func normAxes(axes []int, rank int) ([]int, error) {
	out := make([]int, len(axes))
	for i, a := range axes {
		if a < -rank || a >= rank {
			return nil, fmt.Errorf("axis %d out of range for rank %d", a, rank)
		}
		out[i] = (a + rank) % rank
	}
	sort.Ints(out)
	return out, nil
}

func ones(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

func elemName(dt onnx.DataType) string { return onnx.DataType(dt).String() }
