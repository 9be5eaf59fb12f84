package onnx

// Attr returns the attribute of n with the given name, or nil.
func Attr(n *NodeProto, name string) *AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// HasAttr reports whether n has an attribute with the given name.
func HasAttr(n *NodeProto, name string) bool {
	return Attr(n, name) != nil
}

// typedAttr returns the attribute of n with the given name if it holds a
// value of type want. Attributes written before the type field existed have
// type UNDEFINED; for those, set reports whether the wanted field is present.
func typedAttr(n *NodeProto, name string, want AttributeProto_AttributeType, set func(*AttributeProto) bool) *AttributeProto {
	a := Attr(n, name)
	switch {
	case a == nil:
		return nil
	case a.GetType() == want:
		return a
	case a.GetType() == AttributeProto_UNDEFINED && set(a):
		return a
	}
	return nil
}

// The Attr* functions below return the value of an attribute of n, or def
// when n has no attribute of that name holding a value of that type. Use
// Attr to tell a missing attribute from one of another type.

// AttrInt returns the INT attribute name of n, or def.
func AttrInt(n *NodeProto, name string, def int64) int64 {
	if a := typedAttr(n, name, AttributeProto_INT, func(a *AttributeProto) bool { return a.I != nil }); a != nil {
		return a.GetI()
	}
	return def
}

// AttrInts returns the INTS attribute name of n, or def.
func AttrInts(n *NodeProto, name string, def []int64) []int64 {
	if a := typedAttr(n, name, AttributeProto_INTS, func(a *AttributeProto) bool { return len(a.Ints) > 0 }); a != nil {
		return a.GetInts()
	}
	return def
}

// AttrFloat returns the FLOAT attribute name of n, or def.
func AttrFloat(n *NodeProto, name string, def float32) float32 {
	if a := typedAttr(n, name, AttributeProto_FLOAT, func(a *AttributeProto) bool { return a.F != nil }); a != nil {
		return a.GetF()
	}
	return def
}

// AttrFloats returns the FLOATS attribute name of n, or def.
func AttrFloats(n *NodeProto, name string, def []float32) []float32 {
	if a := typedAttr(n, name, AttributeProto_FLOATS, func(a *AttributeProto) bool { return len(a.Floats) > 0 }); a != nil {
		return a.GetFloats()
	}
	return def
}

// AttrString returns the STRING attribute name of n, or def.
func AttrString(n *NodeProto, name string, def string) string {
	if a := typedAttr(n, name, AttributeProto_STRING, func(a *AttributeProto) bool { return a.S != nil }); a != nil {
		return string(a.GetS())
	}
	return def
}

// AttrTensor returns the TENSOR attribute name of n, or nil.
func AttrTensor(n *NodeProto, name string) *TensorProto {
	if a := typedAttr(n, name, AttributeProto_TENSOR, func(a *AttributeProto) bool { return a.T != nil }); a != nil {
		return a.GetT()
	}
	return nil
}

// NewAttrInt returns an INT attribute called name of value v.
func NewAttrInt(name string, v int64) *AttributeProto {
	return &AttributeProto{Name: ptr(name), Type: AttributeProto_INT.Enum(), I: ptr(v)}
}

// NewAttrFloat returns a FLOAT attribute called name of value v.
func NewAttrFloat(name string, v float32) *AttributeProto {
	return &AttributeProto{Name: ptr(name), Type: AttributeProto_FLOAT.Enum(), F: ptr(v)}
}
