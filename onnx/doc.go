// Package onnx is the ONNX model format: decoding, encoding, validation,
// tensors, attributes, the summaries that inspect prints.
//
// The protobuf types (ModelProto, GraphProto, NodeProto, TensorProto, ...)
// are generated from onnx.proto, which declares the messages of the ONNX IR
// with the field numbers of the ONNX specification, so any ONNX file decodes
// with them and anything encoded with them is a valid ONNX file.
//
// On top of the generated types the package offers what an importer and an
// exporter need and no more:
//
//   - Load, Decode, Save and Encode for models; LoadTensor and DecodeTensor
//     for the serialized tensors of the ONNX backend test data sets.
//   - TensorFloat64 and TensorInt64 to read the elements of a tensor,
//     whether stored in raw_data or in the typed fields, and NewTensorFloat32,
//     NewTensorFloat64 and NewTensorInt64 to build one.
//   - ValueInfoShape and NewValueInfo for typed, shaped graph inputs and
//     outputs.
//   - Attr, HasAttr, AttrInt, AttrInts, AttrFloat, AttrFloats, AttrString
//     and AttrTensor to read node attributes.
//   - OpsetVersion and Validate, the latter checking the structural rules
//     onnx.checker enforces on a graph (and naming the nodes of a cycle).
//   - LoadExternalData for tensors stored in files next to the model (Load
//     calls it), and InlineFunctions to replace calls of model-local
//     functions by their bodies.
//
// Nothing here panics on malformed input: every decoder and checker reports
// a problem as an error naming the tensor, node or value at fault.
package onnx

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto
