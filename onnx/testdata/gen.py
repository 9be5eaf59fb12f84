#!/usr/bin/python3
"""Writes the golden files of package onnx with the reference onnx library.

    tiny.onnx     a small valid model: MatMul, Add, LeakyRelu, Constant, Mul,
                  Reshape and Transpose over an input of shape [batch, 3]
    tensors.onnx  a graph whose initializers are one tensor per data type,
                  stored once in raw_data ("<type>_raw") and once in the
                  typed field ("<type>_typed"); each doc_string holds the
                  expected element values as JSON

Run from this directory: /usr/bin/python3 gen.py
"""

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tiny():
    w = numpy_helper.from_array(
        np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32), name="W")  # raw_data
    b = helper.make_tensor("b", TensorProto.FLOAT, [2], [0.5, -0.5])  # float_data
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 2])  # int64_data
    scale = helper.make_tensor("scale", TensorProto.FLOAT, [2], [1.5, -2.0])
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["h"], name="matmul"),
        helper.make_node("Add", ["h", "b"], ["a"], name="add"),
        helper.make_node("LeakyRelu", ["a"], ["l"], name="leaky", alpha=0.1),
        helper.make_node("Constant", [], ["c"], name="const", value=scale),
        helper.make_node("Mul", ["l", "c"], ["m"], name="mul"),
        helper.make_node("Reshape", ["m", "shape"], ["r"], name="reshape"),
        helper.make_node("Transpose", ["r"], ["y"], name="transpose", perm=[1, 0]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, "batch"])],
        initializer=[w, b, shape],
        doc_string="golden model for package onnx",
    )
    model = helper.make_model(
        graph,
        producer_name="ebmpipe-gen",
        producer_version="1",
        opset_imports=[helper.make_opsetid("", 13)],
    )
    model.ir_version = 7
    helper.set_model_props(model, {"purpose": "golden"})
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, "tiny.onnx")


# Values for each data type, chosen to exercise sign and zero extension,
# fractions and the extremes of the small types.
SIGNED = [-128, -1, 0, 1, 2, 127]
CASES = {
    TensorProto.FLOAT: (np.float32, [-1.5, 0, 0.25, 1, 2, 1e6]),
    TensorProto.DOUBLE: (np.float64, [-1.5, 0, 0.1, 1, 2, 1e300]),
    TensorProto.FLOAT16: (np.float16, [-1.5, 0, 0.25, 1, 2, 65504]),
    TensorProto.BFLOAT16: (None, [-1.5, 0, 0.25, 1, 2, 2.0**127]),
    TensorProto.INT8: (np.int8, SIGNED),
    TensorProto.INT16: (np.int16, [-32768, -1, 0, 1, 2, 32767]),
    TensorProto.INT32: (np.int32, [-2**31, -1, 0, 1, 2, 2**31 - 1]),
    TensorProto.INT64: (np.int64, [-2**53, -1, 0, 1, 2, 2**53]),
    TensorProto.UINT8: (np.uint8, [0, 1, 2, 127, 128, 255]),
    TensorProto.UINT16: (np.uint16, [0, 1, 2, 32767, 32768, 65535]),
    TensorProto.UINT32: (np.uint32, [0, 1, 2, 2**31, 2**32 - 2, 2**32 - 1]),
    TensorProto.UINT64: (np.uint64, [0, 1, 2, 2**31, 2**32, 2**53]),
    TensorProto.BOOL: (np.bool_, [True, False, True, True, False, False]),
}


def bfloat16_bytes(values):
    """Little-endian bfloat16 bytes of values, which must be exact."""
    bits = np.array(values, dtype=np.float32).view(np.uint32) >> 16
    assert ((bits << 16).view(np.float32) == np.array(values, dtype=np.float32)).all()
    return bits.astype("<u2").tobytes()


def tensors():
    inits = []
    for dt, (np_type, values) in CASES.items():
        name = TensorProto.DataType.Name(dt).lower()
        expected = json.dumps([float(v) for v in values])
        if np_type is None:
            raw = helper.make_tensor(name + "_raw", dt, [2, 3], bfloat16_bytes(values), raw=True)
        else:
            raw = numpy_helper.from_array(np.array(values, dtype=np_type).reshape(2, 3), name + "_raw")
            assert raw.HasField("raw_data")
        typed = helper.make_tensor(name + "_typed", dt, [2, 3], values)
        assert not typed.HasField("raw_data")
        for t in (raw, typed):
            t.doc_string = expected
            inits.append(t)
    graph = helper.make_graph([], "tensors", [], [], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, "tensors.onnx")


if __name__ == "__main__":
    tiny()
    tensors()
