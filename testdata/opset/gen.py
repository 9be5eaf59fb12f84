#!/usr/bin/python3
"""Generate the opset 18-23 test models in testdata/opset.

Debian's torch 1.13 cannot run the dynamo exporter (the default of
torch.onnx.export since PyTorch 2.9), so these models are built directly
with onnx.helper in the shapes that exporter emits: MatMul+Add linear
layers, Gelu (opset 20) or its Erf form, SiLU as Sigmoid*Mul, Reduce*/Pad/
Squeeze/Unsqueeze with axes as inputs, Split with num_outputs,
LayerNormalization, GroupNormalization, model-local functions and external
initializer data.

Regenerate from the repository root with Debian's onnx 1.12:

    apt-get install python3-onnx
    /usr/bin/python3 testdata/opset/gen.py
    go run testdata/opset/expect.go

onnx 1.12 knows operator sets only up to 17, so this script never runs
onnx.checker on these models; it builds the protos directly and sets
ir_version by hand. For every model NAME it writes

    NAME.onnx          the model
    NAME.input.npy     a float32 batch of 7 inputs

and manifest.json, which lists every model with its opset, IR version,
file and tensor names, sorted op types, kind ("energy" or "generator"),
output convention, and notes. expect.go then runs each model in ONNX
Runtime and writes NAME.output.npy. Everything is seeded, so rerunning
reproduces the files byte for byte.
"""

import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import AttributeProto, FunctionProto, TensorProto, helper, numpy_helper
from onnx import external_data_helper

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 7
SEED = 2024

# The lowest IR version each operator set needs (onnx/helper.py's
# VERSION_TABLE in onnx 1.13-1.18).
IR_FOR_OPSET = {18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11}

# The domain of the model-local functions, as torch 2.1-2.4's dynamo
# exporter names it, and the one of onnxscript's ATen functions.
TORCH_DOMAIN = "pkg.torch.2.3.0"
ATEN_DOMAIN = "pkg.onnxscript.torch_lib"


class Builder:
    """Collects the nodes and initializers of one graph."""

    def __init__(self, rng):
        self.rng = rng
        self.nodes = []
        self.inits = []
        self.count = {}

    def fresh(self, base):
        """Returns a new value name in the style of the dynamo exporter."""
        n = self.count.get(base, 0)
        self.count[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name=name))
        return name

    def const_i64(self, name, values):
        return self.init(name, np.array(values, dtype=np.int64))

    def node(self, op, inputs, base=None, n_out=1, **attrs):
        base = base or op.lower()
        outs = [self.fresh(base) for _ in range(n_out)]
        name = "node_" + outs[0]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def weight(self, name, shape, fan_in):
        w = self.rng.standard_normal(shape) / math.sqrt(fan_in)
        return self.init(name, w.astype(np.float32))

    def linear(self, x, prefix, n_in, n_out, gemm=False, transpose=False):
        """A torch Linear layer: Gemm (transB=1), MatMul on the transposed
        weight stored as an initializer, or Transpose(weight) then MatMul."""
        b = self.weight(prefix + ".bias", (n_out,), n_in)
        if gemm:
            w = self.weight(prefix + ".weight", (n_out, n_in), n_in)
            return self.node("Gemm", [x, w, b], base="addmm", transB=1)
        if transpose:
            w = self.weight(prefix + ".weight", (n_out, n_in), n_in)
            wt = self.node("Transpose", [w], base="t", perm=[1, 0])
        else:
            wt = self.weight(prefix + ".weight_t", (n_in, n_out), n_in)
        h = self.node("MatMul", [x, wt], base="matmul")
        return self.node("Add", [h, b], base="add")

    def act(self, x, kind, opset):
        if kind == "gelu":
            return self.node("Gelu", [x], base="gelu")
        if kind == "gelu_erf":
            # onnxscript's aten_gelu with approximate="none".
            sqrt2 = self.init(self.fresh("sqrt2"), np.array(math.sqrt(2), dtype=np.float32))
            one = self.init(self.fresh("one"), np.array(1, dtype=np.float32))
            half = self.init(self.fresh("half"), np.array(0.5, dtype=np.float32))
            d = self.node("Div", [x, sqrt2], base="div")
            e = self.node("Erf", [d], base="erf")
            a = self.node("Add", [e, one], base="add")
            m = self.node("Mul", [x, a], base="mul")
            return self.node("Mul", [m, half], base="gelu")
        if kind == "tanh":
            return self.node("Tanh", [x], base="tanh")
        if kind == "silu":
            s = self.node("Sigmoid", [x], base="sigmoid")
            return self.node("Mul", [x, s], base="silu")
        if kind == "relu":
            return self.node("Relu", [x], base="relu")
        raise ValueError(kind)

    def batchnorm(self, x, prefix, c):
        scale = self.init(prefix + ".weight", (1 + 0.2 * self.rng.standard_normal(c)).astype(np.float32))
        bias = self.init(prefix + ".bias", (0.1 * self.rng.standard_normal(c)).astype(np.float32))
        mean = self.init(prefix + ".running_mean", (0.2 * self.rng.standard_normal(c)).astype(np.float32))
        var = self.init(prefix + ".running_var", self.rng.uniform(0.5, 1.5, c).astype(np.float32))
        return self.node("BatchNormalization", [x, scale, bias, mean, var],
                         base="batch_norm", epsilon=1e-5, momentum=0.9)

    def affine(self, prefix, c):
        scale = self.init(prefix + ".weight", (1 + 0.2 * self.rng.standard_normal(c)).astype(np.float32))
        bias = self.init(prefix + ".bias", (0.1 * self.rng.standard_normal(c)).astype(np.float32))
        return scale, bias

    def squeeze_last(self, x):
        """energy.squeeze(-1): (batch, 1) -> (batch,), axes as an input."""
        axes = self.const_i64(self.fresh("squeeze_axes"), [-1])
        return self.node("Squeeze", [x, axes], base="squeeze")


def make_model(name, opset, b, inputs, outputs, functions=(), ir=None, extra_opsets=()):
    graph = helper.make_graph(b.nodes, "main_graph", inputs, outputs, initializer=b.inits)
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    model = helper.make_model(graph, producer_name="ebmpipe-testdata-opset",
                              producer_version="1", opset_imports=opsets)
    model.ir_version = ir or IR_FOR_OPSET[opset]
    model.functions.extend(functions)
    return model


def vi(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def energy_out(b, e, convention):
    """Names the energy and declares it (batch, 1) or (batch,)."""
    if convention == "(batch,)":
        e = b.squeeze_last(e)
        dims = ["batch"]
    else:
        dims = ["batch", 1]
    b.nodes.append(helper.make_node("Identity", [e], ["energy"], name="node_energy"))
    return vi("energy", dims)


def mlp(rng, opset, act, convention, hidden=32, gemm=False, transpose=False):
    """Energy MLP 2-hidden-hidden-1 with the given activation."""
    b = Builder(rng)
    h = b.act(b.linear("x", "fc1", 2, hidden, gemm, transpose), act, opset)
    h = b.act(b.linear(h, "fc2", hidden, hidden, gemm, transpose), act, opset)
    out = energy_out(b, b.linear(h, "fc3", hidden, 1, gemm, transpose), convention)
    return b, [vi("x", ["batch", 2])], [out], (2,)


def conv_energy(rng, opset, convention):
    """Conv 3x3 pad 1, Relu, Conv 4x4 stride 2 pad 1, Relu, mean over
    (H, W) as ReduceMean with axes as an input, Linear; input 1x8x8."""
    b = Builder(rng)
    w1 = b.weight("conv1.weight", (8, 1, 3, 3), 9)
    b1 = b.weight("conv1.bias", (8,), 9)
    h = b.node("Conv", ["x", w1, b1], base="conv2d", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    h = b.act(h, "relu", opset)
    w2 = b.weight("conv2.weight", (16, 8, 4, 4), 128)
    b2 = b.weight("conv2.bias", (16,), 128)
    h = b.node("Conv", [h, w2, b2], base="conv2d", kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1])
    h = b.act(h, "silu", opset)
    axes = b.const_i64("mean_axes", [2, 3])
    h = b.node("ReduceMean", [h, axes], base="mean", keepdims=0)
    out = energy_out(b, b.linear(h, "fc", 16, 1), convention)
    return b, [vi("x", ["batch", 1, 8, 8])], [out], (1, 8, 8)


def batchnorm_energy(rng, opset, convention):
    """Linear, BatchNorm1d (eval), Relu, Linear, BatchNorm1d, Tanh, Linear."""
    b = Builder(rng)
    h = b.act(b.batchnorm(b.linear("x", "fc1", 4, 16), "bn1", 16), "relu", opset)
    h = b.act(b.batchnorm(b.linear(h, "fc2", 16, 16), "bn2", 16), "tanh", opset)
    out = energy_out(b, b.linear(h, "fc3", 16, 1), convention)
    return b, [vi("x", ["batch", 4])], [out], (4,)


def layernorm_energy(rng, opset, convention, act):
    """Linear, LayerNorm, activation, Linear, LayerNorm, activation, Linear."""
    b = Builder(rng)
    h = "x"
    for i, (m, n) in enumerate([(4, 24), (24, 24)]):
        h = b.linear(h, f"fc{i + 1}", m, n)
        scale, bias = b.affine(f"ln{i + 1}", n)
        h = b.node("LayerNormalization", [h, scale, bias], base="layer_norm", axis=-1, epsilon=1e-5)
        h = b.act(h, act, opset)
    out = energy_out(b, b.linear(h, "fc3", 24, 1), convention)
    return b, [vi("x", ["batch", 4])], [out], (4,)


def groupnorm_energy(rng, opset, convention):
    """Conv, GroupNorm(4 groups of 2 channels), SiLU, mean over (H, W),
    Linear; input 2x6x6. GroupNormalization-21 has per-channel scale and
    bias, GroupNormalization-18 per-group ones."""
    b = Builder(rng)
    w = b.weight("conv.weight", (8, 2, 3, 3), 18)
    bc = b.weight("conv.bias", (8,), 18)
    h = b.node("Conv", ["x", w, bc], base="conv2d", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    scale, bias = b.affine("gn", 8 if opset >= 21 else 4)
    h = b.node("GroupNormalization", [h, scale, bias], base="group_norm", num_groups=4, epsilon=1e-5)
    h = b.act(h, "silu", opset)
    axes = b.const_i64("mean_axes", [-2, -1])
    h = b.node("ReduceMean", [h, axes], base="mean", keepdims=0)
    out = energy_out(b, b.linear(h, "fc", 8, 1), convention)
    return b, [vi("x", ["batch", 2, 6, 6])], [out], (2, 6, 6)


def dcgan(rng, opset, gemm):
    """DCGAN-style generator 8 -> 1x28x28: Linear to 16x7x7, view as
    x.view(x.shape[0], 16, 7, 7) (Shape, Concat, Reshape), BatchNorm2d,
    Relu, ConvTranspose 4x4 stride 2 pad 1, BatchNorm2d, Relu,
    ConvTranspose 4x4 stride 2 pad 1, Tanh."""
    b = Builder(rng)
    h = b.linear("z", "fc", 8, 16 * 7 * 7, gemm=gemm)
    n = b.node("Shape", [h], base="sym_size", start=0, end=1)
    rest = b.const_i64("view_shape", [16, 7, 7])
    shape = b.node("Concat", [n, rest], base="cat", axis=0)
    h = b.node("Reshape", [h, shape], base="view")
    h = b.act(b.batchnorm(h, "bn1", 16), "relu", opset)
    w1 = b.weight("deconv1.weight", (16, 8, 4, 4), 16 * 4)
    b1 = b.weight("deconv1.bias", (8,), 16 * 4)
    h = b.node("ConvTranspose", [h, w1, b1], base="convolution",
               kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1])
    h = b.act(b.batchnorm(h, "bn2", 8), "relu", opset)
    w2 = b.weight("deconv2.weight", (8, 1, 4, 4), 8 * 4)
    b2 = b.weight("deconv2.bias", (1,), 8 * 4)
    h = b.node("ConvTranspose", [h, w2, b2], base="convolution",
               kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1])
    b.nodes.append(helper.make_node("Tanh", [h], ["x"], name="node_tanh"))
    return b, [vi("z", ["batch", 8])], [vi("x", ["batch", 1, 28, 28])], (8,)


def reduce_energy(rng, opset, convention):
    """Linear 6->8, then ReduceMean, ReduceMax (axes [-1]) and ReduceSum
    (axes [1]) with axes as inputs and keepdims 1, combined as
    mean + max - 0.1 * sum, then ReduceMean(x^2) with no axes (all axes,
    keepdims 0) added as a scalar."""
    b = Builder(rng)
    h = b.act(b.linear("x", "fc", 6, 8), "tanh", opset)
    mean = b.node("ReduceMean", [h, b.const_i64("axes_1", [1])], base="mean", keepdims=1)
    mx = b.node("ReduceMax", [h, b.const_i64("axes_last", [-1])], base="amax", keepdims=1)
    sm = b.node("ReduceSum", [h, b.const_i64("axes_1b", [1])], base="sum", keepdims=1)
    tenth = b.init("tenth", np.array(0.1, dtype=np.float32))
    e = b.node("Add", [mean, mx], base="add")
    e = b.node("Sub", [e, b.node("Mul", [sm, tenth], base="mul")], base="sub")
    sq = b.node("Mul", ["x", "x"], base="mul")
    allmean = b.node("ReduceMean", [sq], base="mean", keepdims=0)
    e = b.node("Add", [e, allmean], base="add")
    out = energy_out(b, e, convention)
    return b, [vi("x", ["batch", 6])], [out], (6,)


def pad_split_energy(rng, opset, convention):
    """x (batch, 6): Unsqueeze (axes [1]) to (batch, 1, 6), Pad with pads
    [1, 1] on axes [2] (constant 0.5, given as inputs) to (batch, 1, 8),
    Split with num_outputs 3 on axis 2 (uneven: 3, 3, 2), a*b concatenated
    with c, Squeeze (axes [1]), Linear 5->1."""
    b = Builder(rng)
    u = b.node("Unsqueeze", ["x", b.const_i64("unsqueeze_axes", [1])], base="unsqueeze")
    pads = b.const_i64("pads", [1, 1])
    value = b.init("pad_value", np.array(0.5, dtype=np.float32))
    p = b.node("Pad", [u, pads, value, b.const_i64("pad_axes", [2])], base="constant_pad_nd", mode="constant")
    s0, s1, s2 = b.node("Split", [p], base="split", n_out=3, axis=2, num_outputs=3)
    ab = b.node("Mul", [s0, s1], base="mul")
    c = b.node("Concat", [ab, s2], base="cat", axis=2)
    sq = b.node("Squeeze", [c, b.const_i64("squeeze_axes_1", [1])], base="squeeze")
    e = b.linear(b.act(sq, "tanh", opset), "fc", 5, 1)
    out = energy_out(b, e, convention)
    return b, [vi("x", ["batch", 6])], [out], (6,)


def pad_reflect_energy(rng, opset, convention):
    """x (batch, 2, 5): Pad reflect [1, 2] on axes [-1] (pads and axes as
    inputs, negative axis) to (batch, 2, 8), Split with num_outputs 2 on
    axis 1, a*b, Flatten, Linear 8->1."""
    b = Builder(rng)
    p = b.node("Pad", ["x", b.const_i64("pads", [1, 2]), "", b.const_i64("pad_axes", [-1])],
               base="reflection_pad1d", mode="reflect")
    s0, s1 = b.node("Split", [p], base="split", n_out=2, axis=1, num_outputs=2)
    m = b.node("Mul", [s0, s1], base="mul")
    f = b.node("Flatten", [m], base="flatten", axis=1)
    out = energy_out(b, b.linear(f, "fc", 8, 1), convention)
    return b, [vi("x", ["batch", 2, 5])], [out], (2, 5)


def expand_cast_energy(rng, opset, convention):
    """x (batch, 3): Cast to double, Mul by a double constant, CastLike x
    (back to float), Unsqueeze (axes [1]), Expand to (batch, 4, 3) with
    shape [1, 4, 3], Mul by a (4, 3) weight, ReduceSum over axes [1, 2]
    (input) keepdims 1."""
    b = Builder(rng)
    d = b.node("Cast", ["x"], base="_to_copy", to=TensorProto.DOUBLE)
    k = b.init("scale_f64", np.array([1.5, -0.5, 2.0], dtype=np.float64))
    d = b.node("Mul", [d, k], base="mul")
    f = b.node("CastLike", [d, "x"], base="type_as")
    u = b.node("Unsqueeze", [f, b.const_i64("unsqueeze_axes", [1])], base="unsqueeze")
    e = b.node("Expand", [u, b.const_i64("expand_shape", [1, 4, 3])], base="expand")
    w = b.weight("w", (4, 3), 3)
    e = b.act(b.node("Mul", [e, w], base="mul"), "tanh", opset)
    e = b.node("ReduceSum", [e, b.const_i64("sum_axes", [1, 2])], base="sum", keepdims=0)
    if convention == "(batch, 1)":
        e = b.node("Unsqueeze", [e, b.const_i64("unsqueeze_axes_last", [-1])], base="unsqueeze")
        b.nodes.append(helper.make_node("Identity", [e], ["energy"], name="node_energy"))
        return b, [vi("x", ["batch", 3])], [vi("energy", ["batch", 1])], (3,)
    b.nodes.append(helper.make_node("Identity", [e], ["energy"], name="node_energy"))
    return b, [vi("x", ["batch", 3])], [vi("energy", ["batch"])], (3,)


def attr_ref(name, typ):
    a = AttributeProto()
    a.name = name
    a.ref_attr_name = name
    a.type = typ
    return a


def with_attribute_defaults(fn, defaults):
    """Returns fn with FunctionProto.attribute_proto (field 11, IR 9) set to
    defaults. onnx 1.12 predates the field, so it is appended as raw
    protobuf bytes, which the Python runtime keeps as an unknown field."""
    data = fn.SerializeToString()
    for a in defaults:
        body = a.SerializeToString()
        n, length = len(body), b""
        while True:
            byte = n & 0x7F
            n >>= 7
            length += bytes([byte | (0x80 if n else 0)])
            if not n:
                break
        data += bytes([(11 << 3) | 2]) + length + body
    out = FunctionProto()
    out.ParseFromString(data)
    return out


def functions_energy(rng, opset, convention):
    """The shape of a torch 2.1-2.4 dynamo export with module functions:
    the main graph calls Block twice and Linear once, all in the domain
    pkg.torch.2.3.0. Block calls Linear then aten_leaky_relu (domain
    pkg.onnxscript.torch_lib), which reads its attribute negative_slope
    through a reference (alpha with ref_attr_name) and has a default of 0.2
    in attribute_proto. The main graph calls Block (negative_slope 0.05,
    passed on through a second reference), then Linear and aten_leaky_relu
    directly (default 0.2), then Linear. The calls share inner value names
    (matmul, result, ...), so an inliner must rename. Inlined, the main graph
    has 5 + 5 + 2 + 1 (the final Identity) = 13 nodes."""
    one = [helper.make_opsetid("", opset)]
    linear = helper.make_function(
        TORCH_DOMAIN, "torch_nn_modules_linear_Linear", ["input", "weight_t", "bias"], ["output"],
        [helper.make_node("MatMul", ["input", "weight_t"], ["matmul"], name="n0"),
         helper.make_node("Add", ["matmul", "bias"], ["output"], name="n1")],
        one)
    lrelu = helper.make_node("LeakyRelu", ["self"], ["result"], name="n0")
    lrelu.attribute.append(attr_ref("alpha", AttributeProto.FLOAT))
    lrelu.attribute[0].ref_attr_name = "negative_slope"
    scaled = helper.make_node("Constant", [], ["two"], name="n1", value_float=2.0)
    mul = helper.make_node("Mul", ["result", "two"], ["result_2"], name="n2")
    leaky = helper.make_function(
        ATEN_DOMAIN, "aten_leaky_relu", ["self"], ["result_2"], [lrelu, scaled, mul], one)
    leaky = with_attribute_defaults(leaky, [helper.make_attribute("negative_slope", 0.2)])
    block_call = helper.make_node("aten_leaky_relu", ["linear"], ["out"], name="n1", domain=ATEN_DOMAIN)
    block_call.attribute.append(attr_ref("negative_slope", AttributeProto.FLOAT))
    block = helper.make_function(
        TORCH_DOMAIN, "__main___Block", ["x", "w", "b"], ["out"],
        [helper.make_node("torch_nn_modules_linear_Linear", ["x", "w", "b"], ["linear"], name="n0",
                          domain=TORCH_DOMAIN),
         block_call],
        one + [helper.make_opsetid(TORCH_DOMAIN, 1), helper.make_opsetid(ATEN_DOMAIN, 1)],
        attributes=["negative_slope"])

    b = Builder(rng)
    w1, b1 = b.weight("block1.fc.weight_t", (2, 16), 2), b.weight("block1.fc.bias", (16,), 2)
    w2, b2 = b.weight("block2.fc.weight_t", (16, 16), 16), b.weight("block2.fc.bias", (16,), 16)
    w3, b3 = b.weight("head.weight_t", (16, 1), 16), b.weight("head.bias", (1,), 16)
    h = b.node("__main___Block", ["x", w1, b1], base="block1", domain=TORCH_DOMAIN, negative_slope=0.05)
    h2 = b.node("torch_nn_modules_linear_Linear", [h, w2, b2], base="block2_linear", domain=TORCH_DOMAIN)
    h2 = b.node("aten_leaky_relu", [h2], base="block2", domain=ATEN_DOMAIN)
    e = b.node("torch_nn_modules_linear_Linear", [h2, w3, b3], base="head", domain=TORCH_DOMAIN)
    out = energy_out(b, e, convention)
    fns = [linear, leaky, block]
    return b, [vi("x", ["batch", 2])], [out], (2,), fns, [(TORCH_DOMAIN, 1), (ATEN_DOMAIN, 1)]


# name, builder, opset, output convention, kind, notes. Builders run right
# after seeding their own generator, so models do not depend on each other.
MODELS = [
    ("energy_mlp_gelu_o20", lambda r, o: mlp(r, o, "gelu", "(batch, 1)"), 20,
     "MLP 2-32-32-1 of MatMul+Add layers (weights stored transposed) with Gelu-20"),
    ("energy_mlp_gelu_o23", lambda r, o: mlp(r, o, "gelu", "(batch,)", gemm=True), 23,
     "MLP 2-32-32-1 of Gemm(transB=1) layers with Gelu-20, energy squeezed to (batch,) by Squeeze with axes [-1] as an input"),
    ("energy_mlp_gelu_erf_o18", lambda r, o: mlp(r, o, "gelu_erf", "(batch,)"), 18,
     "MLP 2-32-32-1 with Gelu in onnxscript's Erf form (Div sqrt2, Erf, Add 1, Mul x, Mul 0.5), energy squeezed to (batch,)"),
    ("energy_mlp_tanh_o19", lambda r, o: mlp(r, o, "tanh", "(batch, 1)", transpose=True), 19,
     "MLP 2-32-32-1 with Tanh; each weight is Transpose(weight) then MatMul, as early dynamo exports write it"),
    ("energy_mlp_silu_o21", lambda r, o: mlp(r, o, "silu", "(batch,)"), 21,
     "MLP 2-32-32-1 with SiLU as Sigmoid then Mul(x, sigmoid), energy squeezed to (batch,)"),
    ("energy_mlp_silu_o22", lambda r, o: mlp(r, o, "silu", "(batch, 1)"), 22,
     "MLP 2-32-32-1 with SiLU as Sigmoid then Mul(x, sigmoid)"),
    ("energy_conv_o18", lambda r, o: conv_energy(r, o, "(batch, 1)"), 18,
     "conv energy on 1x8x8: Conv 3x3, Relu, Conv 4x4 stride 2, SiLU, ReduceMean over axes [2, 3] (input) keepdims 0, Linear"),
    ("energy_conv_o22", lambda r, o: conv_energy(r, o, "(batch,)"), 22,
     "the conv energy of energy_conv_o18 at opset 22, energy squeezed to (batch,)"),
    ("energy_batchnorm_o18", lambda r, o: batchnorm_energy(r, o, "(batch, 1)"), 18,
     "Linear 4-16, BatchNormalization (eval, running statistics), Relu, Linear 16-16, BatchNormalization, Tanh, Linear 16-1"),
    ("energy_batchnorm_o21", lambda r, o: batchnorm_energy(r, o, "(batch,)"), 21,
     "the BatchNorm energy at opset 21, energy squeezed to (batch,)"),
    ("energy_layernorm_o18", lambda r, o: layernorm_energy(r, o, "(batch, 1)", "gelu_erf"), 18,
     "Linear 4-24, LayerNormalization (axis -1), Gelu (Erf form), twice, then Linear 24-1"),
    ("energy_layernorm_o23", lambda r, o: layernorm_energy(r, o, "(batch,)", "gelu"), 23,
     "Linear 4-24, LayerNormalization (axis -1), Gelu-20, twice, then Linear 24-1, energy squeezed to (batch,)"),
    ("energy_groupnorm_o18", lambda r, o: groupnorm_energy(r, o, "(batch, 1)"), 18,
     "Conv 2->8 3x3, GroupNormalization-18 (4 groups; scale and bias per group), SiLU, ReduceMean over axes [-2, -1], Linear 8-1"),
    ("energy_groupnorm_o21", lambda r, o: groupnorm_energy(r, o, "(batch,)"), 21,
     "Conv 2->8 3x3, GroupNormalization-21 (4 groups; scale and bias per channel), SiLU, ReduceMean over axes [-2, -1], Linear 8-1, energy squeezed to (batch,)"),
    ("generator_dcgan_o18", lambda r, o: dcgan(r, o, gemm=True), 18,
     "DCGAN-style generator 8 -> 1x28x28: Gemm(transB=1) to 16*7*7, Shape(start 0, end 1)+Concat+Reshape (x.view(x.shape[0], 16, 7, 7)), BatchNormalization, Relu, ConvTranspose 4x4 stride 2 pad 1, BatchNormalization, Relu, ConvTranspose, Tanh"),
    ("generator_dcgan_o23", lambda r, o: dcgan(r, o, gemm=False), 23,
     "the DCGAN-style generator at opset 23 with MatMul+Add for the Linear layer"),
    ("energy_reduce_o18", lambda r, o: reduce_energy(r, o, "(batch, 1)"), 18,
     "Reduce* with axes as inputs: ReduceMean, ReduceMax (axes [-1]), ReduceSum (axes [1]), keepdims 1, and ReduceMean with no axes input (reduce all, keepdims 0)"),
    ("energy_reduce_o20", lambda r, o: reduce_energy(r, o, "(batch,)"), 20,
     "energy_reduce_o18 at opset 20 (ReduceMax-20), energy squeezed to (batch,)"),
    ("energy_pad_split_o18", lambda r, o: pad_split_energy(r, o, "(batch, 1)"), 18,
     "Unsqueeze (axes input), Pad constant 0.5 with pads [1, 1] and axes [2] as inputs, Split num_outputs 3 (uneven 3, 3, 2), Mul, Concat, Squeeze (axes input), Tanh, Linear"),
    ("energy_pad_split_o21", lambda r, o: pad_split_energy(r, o, "(batch,)"), 21,
     "energy_pad_split_o18 at opset 21, energy squeezed to (batch,)"),
    ("energy_pad_reflect_o19", lambda r, o: pad_reflect_energy(r, o, "(batch, 1)"), 19,
     "Pad reflect with pads [1, 2] on axes [-1] (inputs; constant_value omitted as \"\"), Split num_outputs 2, Mul, Flatten, Linear"),
    ("energy_expand_cast_o19", lambda r, o: expand_cast_energy(r, o, "(batch,)"), 19,
     "Cast to DOUBLE, Mul by a double constant, CastLike back to x's FLOAT, Unsqueeze, Expand to (batch, 4, 3), Mul, Tanh, ReduceSum over axes [1, 2] keepdims 0: energy (batch,)"),
    ("energy_expand_cast_o23", lambda r, o: expand_cast_energy(r, o, "(batch, 1)"), 23,
     "energy_expand_cast_o19 at opset 23 (Cast-23, CastLike-23), energy unsqueezed to (batch, 1)"),
    ("energy_functions_o18", lambda r, o: functions_energy(r, o, "(batch, 1)"), 18,
     "model-local functions as torch 2.1-2.4's dynamo exporter writes them (see functions_energy in gen.py): nested calls, an attribute reference with a default in attribute_proto (so IR version 9), identical inner value names in two calls"),
]

# Models whose initializers are moved to an external file.
EXTERNAL = [
    ("energy_mlp_external_o18", lambda r, o: mlp(r, o, "silu", "(batch, 1)", hidden=64), 18,
     "MLP 2-64-64-1 with SiLU whose initializers are all in the external file "
     "energy_mlp_external_o18.data (location relative to the model, with offset and length)"),
]


def sample_input(rng, kind, shape):
    if kind == "generator":
        return rng.standard_normal((BATCH,) + shape).astype(np.float32)
    if len(shape) == 1:
        return (2 * rng.standard_normal((BATCH,) + shape)).astype(np.float32)
    return rng.uniform(0, 1, (BATCH,) + shape).astype(np.float32)


def build(i, name, fn, opset, notes, external=False):
    rng = np.random.default_rng(SEED + i)
    res = fn(rng, opset)
    b, inputs, outputs, shape = res[:4]
    functions = res[4] if len(res) > 4 else ()
    extra = res[5] if len(res) > 5 else ()
    ir = max(IR_FOR_OPSET[opset], 9) if functions else None
    model = make_model(name, opset, b, inputs, outputs, functions, ir, extra)
    kind = "generator" if name.startswith("generator") else "energy"
    x = sample_input(np.random.default_rng(SEED + 1000 + i), kind, shape)
    path = os.path.join(HERE, name + ".onnx")
    entry_extra = {}
    if external:
        data_file = name + ".data"
        if os.path.exists(os.path.join(HERE, data_file)):
            os.remove(os.path.join(HERE, data_file))
        external_data_helper.convert_model_to_external_data(
            model, all_tensors_to_one_file=True, location=data_file, size_threshold=0)
        entry_extra["external_data"] = data_file
    onnx.save(model, path)
    np.save(os.path.join(HERE, name + ".input.npy"), x)
    ops = set()
    for n in model.graph.node:
        ops.add(n.op_type if n.domain in ("", "ai.onnx") else n.domain + ":" + n.op_type)
    for f in model.functions:
        ops.update(n.op_type for n in f.node if n.domain in ("", "ai.onnx"))
    out = outputs[0].type.tensor_type.shape.dim
    entry = {
        "name": name,
        "opset": opset,
        "ir_version": model.ir_version,
        "model": name + ".onnx",
        "input": name + ".input.npy",
        "output": name + ".output.npy",
        "input_name": inputs[0].name,
        "output_name": outputs[0].name,
        "ops": sorted(ops),
        "kind": kind,
        "output_dims": [d.dim_param or d.dim_value for d in out],
        "functions": [f.domain + ":" + f.name for f in model.functions],
        "notes": notes,
    }
    entry.update(entry_extra)
    return entry


def main():
    manifest = []
    for i, (name, fn, opset, notes) in enumerate(MODELS):
        manifest.append(build(i, name, fn, opset, notes))
    for j, (name, fn, opset, notes) in enumerate(EXTERNAL):
        manifest.append(build(100 + j, name, fn, opset, notes, external=True))
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    width = max(len(m["name"]) for m in manifest)
    for m in manifest:
        print(f"{m['name']:<{width}}  {m['opset']:>2}  ir{m['ir_version']:<2}  {' '.join(m['ops'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
