package autodiff

import (
	"fmt"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// array is the kernels' view of a value: a shape and one backing slice.
type array struct {
	shape []int
	f64   []float64
	f32   []float32
	i64   []int64
}

// float is the element types kernels are written for.
type float interface{ ~float32 | ~float64 }

func newArray(dt tensor.Dtype, shape []int) array {
	a := array{shape: append([]int(nil), shape...)}
	n := Size(shape)
	switch dt {
	case tensor.Float32:
		a.f32 = make([]float32, n)
	case tensor.Int64:
		a.i64 = make([]int64, n)
	default:
		a.f64 = make([]float64, n)
	}
	return a
}

// like returns a new zeroed array with a's element type and the given shape.
func (a array) like(shape []int) array { return newArray(a.dtype(), shape) }

func (a array) dtype() tensor.Dtype {
	switch {
	case a.f32 != nil:
		return tensor.Float32
	case a.i64 != nil:
		return tensor.Int64
	}
	return tensor.Float64
}

func (a array) len() int {
	switch {
	case a.f32 != nil:
		return len(a.f32)
	case a.i64 != nil:
		return len(a.i64)
	}
	return len(a.f64)
}

func (a array) at(i int) float64 {
	switch {
	case a.f32 != nil:
		return float64(a.f32[i])
	case a.i64 != nil:
		return float64(a.i64[i])
	}
	return a.f64[i]
}

func (a array) set(i int, v float64) {
	switch {
	case a.f32 != nil:
		a.f32[i] = float32(v)
	case a.i64 != nil:
		a.i64[i] = int64(v)
	default:
		a.f64[i] = v
	}
}

// floats returns a's backing slice as []T; T must match a's element type.
func floats[T float](a array) []T {
	var z T
	switch any(z).(type) {
	case float32:
		return any(a.f32).([]T)
	default:
		return any(a.f64).([]T)
	}
}

// isF32 reports whether a holds float32 elements.
func (a array) isF32() bool { return a.f32 != nil }

func fromValue(v G.Value) (array, error) {
	switch v := v.(type) {
	case *tensor.Dense:
		return fromDense(v), nil
	case *G.F64:
		return array{f64: []float64{float64(*v)}}, nil
	case *G.F32:
		return array{f32: []float32{float32(*v)}}, nil
	case *G.I64:
		return array{i64: []int64{int64(*v)}}, nil
	}
	return array{}, fmt.Errorf("unsupported value %T", v)
}

// fromDense returns d's data as an array, sharing d's shape as well as its
// data: kernels never write into their inputs' shapes.
func fromDense(d *tensor.Dense) array {
	shape := []int(d.Shape())
	if d.Shape().IsScalar() {
		shape = nil
	}
	return arrayOf(shape, d.Data())
}

// arrayOf returns an array of the given shape over data: a []float64,
// []float32 or []int64 (shared), or one such number.
func arrayOf(shape []int, data any) array {
	a := array{shape: shape}
	switch x := data.(type) {
	case []float64:
		a.f64 = x
	case []float32:
		a.f32 = x
	case []int64:
		a.i64 = x
	case float64:
		a.f64 = []float64{x}
	case float32:
		a.f32 = []float32{x}
	case int64:
		a.i64 = []int64{x}
	}
	return a
}

func toValue(a array) G.Value {
	if len(a.shape) == 0 {
		switch {
		case a.f32 != nil:
			return G.NewF32(a.f32[0])
		case a.i64 != nil:
			return G.NewI64(a.i64[0])
		}
		return G.NewF64(a.f64[0])
	}
	return toDense(a)
}

func toDense(a array) *tensor.Dense {
	var back interface{}
	switch {
	case a.f32 != nil:
		back = a.f32
	case a.i64 != nil:
		back = a.i64
	default:
		back = a.f64
	}
	if len(a.shape) == 0 {
		switch {
		case a.f32 != nil:
			return tensor.New(tensor.FromScalar(a.f32[0]))
		case a.i64 != nil:
			return tensor.New(tensor.FromScalar(a.i64[0]))
		}
		return tensor.New(tensor.FromScalar(a.f64[0]))
	}
	return tensor.New(tensor.WithShape(a.shape...), tensor.WithBacking(back))
}

// span returns the address range [lo, hi) of a's elements, or 0, 0 if it
// has none.
func (a array) span() (lo, hi uintptr) {
	switch {
	case len(a.f32) > 0:
		lo = uintptr(unsafe.Pointer(unsafe.SliceData(a.f32)))
		return lo, lo + uintptr(len(a.f32))*4
	case len(a.i64) > 0:
		lo = uintptr(unsafe.Pointer(unsafe.SliceData(a.i64)))
		return lo, lo + uintptr(len(a.i64))*8
	case len(a.f64) > 0:
		lo = uintptr(unsafe.Pointer(unsafe.SliceData(a.f64)))
		return lo, lo + uintptr(len(a.f64))*8
	}
	return 0, 0
}

// overlapsAny tells whether out shares memory with any of in, in which
// case writing into it would change an input.
func overlapsAny(out array, in []array) bool {
	lo, hi := out.span()
	if lo == hi {
		return false
	}
	for _, a := range in {
		if alo, ahi := a.span(); alo < hi && lo < ahi {
			return true
		}
	}
	return false
}
