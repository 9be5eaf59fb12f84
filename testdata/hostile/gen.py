#!/usr/bin/python3
"""Generate the hostile-model corpus in testdata/hostile.

Each model is small on disk and malformed or hostile in one way: a node
with too few inputs, an unnamed graph input, an allocation bomb sized from
the file (ConstantOfShape, Range, Tile, Pad, declared dims), a cycle, an
undefined input. A correct tool refuses each with a one-line error naming
the node (or input) and, for bombs, the size; it never panics and never
runs out of memory.

Regenerate from the repository root with Debian's onnx 1.12:

    apt-get install python3-onnx
    /usr/bin/python3 testdata/hostile/gen.py

For every model NAME this writes NAME.onnx, plus input.npy (a float32
batch of 7 rows of 2 features, the input of every model whose input is
(batch, 2)) and manifest.json, which lists per model: file, the node or
value a correct error must name ("culprit"), whether onnx.Validate (the
structural check) must reject it ("structural"), what it is
("description") and what a correct tool must say ("want"). The models are
built with onnx.helper and never passed to onnx.checker, which would reject
the structural ones.
"""

import json
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 17
BIG = 10**12


def vi(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def f32(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.float32), name=name)


def i64(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name=name)


def weights():
    rng = np.random.default_rng(7)
    return [f32("W", rng.standard_normal((2, 1))), f32("b", [0.25])]


def energy_model(nodes, inits=(), inputs=None, outputs=None):
    graph = helper.make_graph(
        nodes, "hostile",
        inputs if inputs is not None else [vi("x", ["batch", 2])],
        outputs if outputs is not None else [vi("energy", ["batch", 1])],
        initializer=list(inits))
    model = helper.make_model(graph, producer_name="ebmpipe-testdata-hostile",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def node(op, inputs, outputs, name, **attrs):
    return helper.make_node(op, inputs, outputs, name=name, **attrs)


def sum_into_energy(bomb, name):
    """energy = x @ W + b + ReduceSum(bomb): makes the bomb's value reach
    the output, so a lazy evaluator cannot skip it."""
    return [
        node("MatMul", ["x", "W"], ["h"], "matmul"),
        node("Add", ["h", "b"], ["e0"], "add"),
        node("ReduceSum", [bomb], ["s"], name + "_sum", keepdims=0),
        node("Add", ["e0", "s"], ["energy"], "add_bomb"),
    ]


def gemm_missing_input():
    return energy_model([node("Gemm", ["x"], ["energy"], "gemm", transB=1)], weights())


def add_missing_input():
    return energy_model([node("MatMul", ["x", "W"], ["h"], "matmul"),
                         node("Add", ["h"], ["energy"], "add")], weights())


def input_empty_name():
    return energy_model([node("MatMul", ["x", "W"], ["h"], "matmul"),
                         node("Add", ["h", "b"], ["energy"], "add")], weights(),
                        inputs=[vi("x", ["batch", 2]), vi("", ["batch", 2])])


def constant_of_shape_bomb():
    value = helper.make_tensor("value", TensorProto.FLOAT, [1], [1.0])
    nodes = [node("ConstantOfShape", ["bomb_shape"], ["bomb"], "constant_of_shape", value=value)]
    return energy_model(nodes + sum_into_energy("bomb", "constant_of_shape"),
                        weights() + [i64("bomb_shape", [10**6, 10**6])])


def range_bomb():
    inits = weights() + [f32("start", 0.0), f32("limit", 1e12), f32("delta", 1.0)]
    nodes = [node("Range", ["start", "limit", "delta"], ["bomb"], "range")]
    return energy_model(nodes + sum_into_energy("bomb", "range"), inits)


def tile_bomb():
    inits = weights() + [f32("tile_input", [[1.0]]), i64("repeats", [10**6, 10**6])]
    nodes = [node("Tile", ["tile_input", "repeats"], ["bomb"], "tile")]
    return energy_model(nodes + sum_into_energy("bomb", "tile"), inits)


def pad_bomb():
    # The one-byte flip of energy_conv.onnx the issue describes: pads of
    # 3.8e11 on the feature axis.
    inits = weights() + [i64("pads", [0, 0, 0, 380000000000])]
    nodes = [node("Pad", ["x", "pads"], ["padded"], "pad", mode="constant"),
             node("ReduceSum", ["padded"], ["s"], "pad_sum", axes=[1], keepdims=1),
             node("MatMul", ["x", "W"], ["h"], "matmul"),
             node("Add", ["h", "s"], ["energy"], "add")]
    return energy_model(nodes, inits)


def declared_dim():
    nodes = [node("ReduceSum", ["x"], ["energy"], "sum", axes=[1], keepdims=1)]
    return energy_model(nodes, inputs=[vi("x", ["batch", BIG])])


def fixed_batch():
    nodes = [node("MatMul", ["x", "W"], ["h"], "matmul"),
             node("Add", ["h", "b"], ["energy"], "add")]
    return energy_model(nodes, weights(), inputs=[vi("x", [BIG, 2])], outputs=[vi("energy", [BIG, 1])])


def cycle():
    nodes = [node("MatMul", ["x", "W"], ["h"], "matmul"),
             node("Add", ["h", "t"], ["a"], "add_loop"),
             node("Tanh", ["a"], ["t"], "tanh_loop"),
             node("Add", ["t", "b"], ["energy"], "add")]
    return energy_model(nodes, weights())


def undefined_input():
    nodes = [node("MatMul", ["x", "W"], ["h"], "matmul"),
             node("Add", ["h", "nowhere"], ["energy"], "add")]
    return energy_model(nodes, weights())


CORPUS = [
    ("gemm_missing_input", gemm_missing_input, "gemm", False,
     "Gemm with one input (A only; B is required)",
     'an error naming node "gemm": Gemm has 1 input, needs 2 or 3'),
    ("add_missing_input", add_missing_input, "add", False,
     "Add with one input (needs 2)",
     'an error naming node "add": Add has 1 input, needs 2'),
    ("input_empty_name", input_empty_name, "input #1", True,
     'a second graph input whose name is "" (an empty name marks an omitted optional value, never a graph input)',
     "an error saying the graph input #1 has no name"),
    ("constant_of_shape_bomb", constant_of_shape_bomb, "constant_of_shape", False,
     "ConstantOfShape of the constant shape [1e6, 1e6]: 1e12 floats (4 TB)",
     'an error naming node "constant_of_shape" and the size 1e12 elements, before allocating'),
    ("range_bomb", range_bomb, "range", False,
     "Range(0, 1e12, 1) from constants: 1e12 floats",
     'an error naming node "range" and the size 1e12 elements, before allocating'),
    ("tile_bomb", tile_bomb, "tile", False,
     "Tile of a [1, 1] constant by repeats [1e6, 1e6]: 1e12 floats",
     'an error naming node "tile" and the size 1e12 elements, before allocating'),
    ("pad_bomb", pad_bomb, "pad", False,
     "Pad of x (batch, 2) with pads [0, 0, 0, 3.8e11] (the one-byte flip of energy_conv.onnx's pads): 3.8e11 floats per row",
     'an error naming node "pad" and the padded size, before allocating'),
    ("declared_dim_1e12", declared_dim, "x", False,
     "input x declared [batch, 1e12]; the model only sums it",
     'an error naming input "x" and its dimension 1 (1e12) as too large, before allocating a row'),
    ("fixed_batch_1e12", fixed_batch, "x", False,
     "input x declared with a fixed batch of 1e12 rows, [1e12, 2]",
     'an error naming input "x" and its fixed batch 1e12 as too large, before allocating a batch'),
    ("cycle", cycle, "add_loop", True,
     'nodes "add_loop" (Add(h, t) -> a) and "tanh_loop" (Tanh(a) -> t) form a cycle',
     'an error naming the cycle through nodes "add_loop" and "tanh_loop"'),
    ("undefined_input", undefined_input, "add", True,
     'node "add" reads "nowhere", which no input, initializer or node defines',
     'an error naming node "add" and its undefined input "nowhere"'),
]


def main():
    manifest = []
    for name, build, culprit, structural, description, want in CORPUS:
        model = build()
        onnx.save(model, os.path.join(HERE, name + ".onnx"))
        manifest.append({
            "name": name,
            "model": name + ".onnx",
            "culprit": culprit,
            "structural": structural,
            "description": description,
            "want": want,
        })
    x = np.random.default_rng(11).standard_normal((7, 2)).astype(np.float32)
    np.save(os.path.join(HERE, "input.npy"), x)
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    for m in manifest:
        size = os.path.getsize(os.path.join(HERE, m["model"]))
        print(f"{m['name']:<24} {size:>5} bytes  {m['description']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
