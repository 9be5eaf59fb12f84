#!/usr/bin/python3
"""Generate the torch 1.13 export quirk fixtures in testdata/torchquirks.

Two models exported with the legacy (TorchScript) exporter of Debian's
torch 1.13 at its default opset (14), as a user of that torch would:

    generator_dcgan28   a fresh (untrained) DCGAN generator for 28x28
                        images, exported with dynamic_axes on the batch:
                        its output is declared with symbolic spatial dims,
                        and the exporter deduplicates the BatchNorm weight,
                        bias and running statistics (ones and zeros) into
                        Identity nodes
    energy_mlp_fixed    a small MLP energy exported without dynamic_axes,
                        so the batch dimension is fixed at 7

Regenerate from the repository root:

    apt-get install python3-torch python3-onnx
    /usr/bin/python3 testdata/torchquirks/gen.py
    go run testdata/opset/expect.go testdata/torchquirks

This writes NAME.onnx, NAME.input.npy (a float32 batch of 7),
NAME.torch.npy (PyTorch's eval-mode output, to compare with) and
manifest.json; expect.go writes NAME.output.npy, ONNX Runtime's output.
The script checks and records both quirks (symbolic output dims, Identity
aliases of initializers) in the manifest, and fails if either is missing.
"""

import io
import json
import os
import sys
import warnings

import numpy as np
import onnx
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 7
SEED = 4321


class View(nn.Module):
    """x.view(-1, *shape), the other common way PyTorch code writes it.

    It exports as a Reshape by the constant [-1, *shape], after which torch
    1.13's shape inference loses the spatial dims (x.view(x.shape[0],
    *shape) keeps them): the output is declared [batch, 1, Tanhx_dim_2,
    Tanhx_dim_3].
    """

    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(-1, *self.shape)


class Gen(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Sequential(
            nn.Linear(16, 32 * 7 * 7),
            View(32, 7, 7),
            nn.BatchNorm2d(32), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.c(z)


def energy():
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))


def export(model, x, in_name, out_name, dynamic):
    buf = io.BytesIO()
    kwargs = {}
    if dynamic:
        kwargs["dynamic_axes"] = {in_name: {0: "batch"}, out_name: {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, buf, input_names=[in_name], output_names=[out_name], **kwargs)
    return buf.getvalue()


def dims(vi):
    return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]


def aliases(proto):
    """Identity nodes whose input is an initializer: alias -> initializer."""
    inits = {t.name for t in proto.graph.initializer}
    return {n.output[0]: n.input[0] for n in proto.graph.node
            if n.op_type == "Identity" and n.input[0] in inits}


FIXTURES = [
    dict(name="generator_dcgan28", build=Gen, shape=(16,), kind="generator", dynamic=True,
         notes="fresh DCGAN generator 16 -> 1x28x28 (Linear, x.view(-1, 32, 7, 7), "
               "BatchNorm2d, ReLU, ConvTranspose2d 4x4 stride 2 pad 1, ReLU, ConvTranspose2d, Tanh), "
               "default torch init, eval mode, dynamic_axes on the batch: the output is declared "
               "with symbolic spatial dims, and the equal BatchNorm initializers (weight and "
               "running_var all ones, bias and running_mean all zeros) are aliased through "
               "Identity nodes (see aliases)"),
    dict(name="energy_mlp_fixed", build=energy, shape=(2,), kind="energy", dynamic=False,
         notes="energy MLP 2-16-1 with Tanh, exported without dynamic_axes: the batch "
               "dimension of input and output is fixed at 7"),
]


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    manifest = []
    for i, fx in enumerate(FIXTURES):
        name = fx["name"]
        torch.manual_seed(SEED + i)
        model = fx["build"]().eval()
        torch.manual_seed(SEED + 1000 + i)
        x = torch.randn(BATCH, *fx["shape"])
        if fx["kind"] == "energy":
            x = 2 * x
        in_name, out_name = ("z", "x") if fx["kind"] == "generator" else ("x", "energy")
        with torch.no_grad():
            out = model(x).numpy().astype(np.float32)
        data = export(model, x, in_name, out_name, fx["dynamic"])
        with open(os.path.join(HERE, name + ".onnx"), "wb") as f:
            f.write(data)
        np.save(os.path.join(HERE, name + ".input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(HERE, name + ".torch.npy"), out)

        proto = onnx.load(os.path.join(HERE, name + ".onnx"))
        onnx.checker.check_model(proto, full_check=True)
        in_dims, out_dims = dims(proto.graph.input[0]), dims(proto.graph.output[0])
        al = aliases(proto)
        if fx["dynamic"]:
            if not all(isinstance(d, str) for d in out_dims[2:]) or out_dims[0] != "batch":
                raise ValueError(f"{name}: output dims {out_dims}, want symbolic spatial dims")
            if not al:
                raise ValueError(f"{name}: no initializer aliased through Identity")
        elif in_dims[0] != BATCH or out_dims[0] != BATCH:
            raise ValueError(f"{name}: dims {in_dims} -> {out_dims}, want a fixed batch")
        manifest.append({
            "name": name,
            "opset": proto.opset_import[0].version,
            "ir_version": proto.ir_version,
            "model": name + ".onnx",
            "input": name + ".input.npy",
            "output": name + ".output.npy",
            "torch_output": name + ".torch.npy",
            "input_name": in_name,
            "output_name": out_name,
            "ops": sorted({n.op_type for n in proto.graph.node}),
            "kind": fx["kind"],
            "input_dims": in_dims,
            "output_dims": out_dims,
            "aliases": al,
            "notes": fx["notes"],
        })
        print(f"{name}: opset {manifest[-1]['opset']}, {in_dims} -> {out_dims}, aliases {al}")

    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
