#!/usr/bin/python3
"""Generate the PyTorch-exported ONNX fixtures in testdata/torch.

Regenerate from the repository root with Debian's packaged torch and onnx
(torch 1.13, onnx 1.12):

    apt-get install python3-torch python3-onnx
    /usr/bin/python3 testdata/torch/gen.py

For every fixture NAME this writes

    NAME.onnx          the network, exported with the legacy TorchScript
                       exporter and a symbolic batch dimension "batch"
    NAME.input.npy     a float32 batch of 7 inputs (odd on purpose)
    NAME.output.npy    the float32 PyTorch outputs for that batch

and manifest.json, which lists every fixture with its opset, file and tensor
names, the sorted op types of the exported graph, its kind ("energy" or
"generator"), whether it was exported in training mode, and notes, so that
Go tests can iterate over the fixtures without hard-coding them.

Everything is seeded, so rerunning the script reproduces the files. The Go
tests use the committed files and never run this script.
"""

import copy
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
SEED = 1234


class View(nn.Module):
    """Reshapes (N, C*H*W) rows to (N, C, H, W) with x.view(x.shape[0], ...).

    nn.Unflatten does not export in torch 1.13 (aten::unflatten has no
    symbolic), and x.view(x.shape[0], ...) is what PyTorch code usually
    writes; it exports as Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
    """

    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(x.shape[0], *self.shape)


class Scaled(nn.Module):
    """Multiplies the output of a network by a learned scalar."""

    def __init__(self, net, scale):
        super().__init__()
        self.net = net
        self.scale = nn.Parameter(torch.tensor(scale, dtype=torch.float32))

    def forward(self, x):
        return self.net(x) * self.scale


def mlp(sizes, act):
    """Linear layers of the given sizes with a fresh act() between them."""
    layers = []
    for i, (m, n) in enumerate(zip(sizes, sizes[1:])):
        if i > 0:
            layers.append(act())
        layers.append(nn.Linear(m, n))
    return nn.Sequential(*layers)


def warm_up(model, in_shape, steps=20, batch=64):
    """Takes a few Adam steps in train mode.

    This moves the BatchNorm running statistics and affine parameters and the
    PReLU slopes away from their initial values (ones, zeros and 0.25), so that
    a fixture catches an importer that mixes them up, and so that the exporter
    does not deduplicate equal initializers into Identity nodes.
    """
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        z = torch.randn(batch, *in_shape)
        loss = (model(z) - 0.5).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def energy_prelu():
    net = nn.Sequential(
        nn.Linear(2, 100), nn.PReLU(),
        nn.Linear(100, 100), nn.PReLU(),
        nn.Linear(100, 1),
    )
    return Scaled(net, scale=float(torch.empty(()).uniform_(0.5, 2.0)))


def generator_mlp():
    model = nn.Sequential(
        nn.Linear(2, 32), nn.BatchNorm1d(32), nn.PReLU(),
        nn.Linear(32, 32), nn.BatchNorm1d(32), nn.PReLU(),
        nn.Linear(32, 2),
    )
    warm_up(model, (2,))
    return model


def energy_conv():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.LeakyReLU(0.1),
        nn.Conv2d(8, 16, 4, stride=2, padding=1), nn.LeakyReLU(0.1),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 2 * 2, 1),
    )


def generator_dcgan():
    model = nn.Sequential(
        nn.Linear(16, 32 * 4 * 4),
        View(32, 4, 4),
        nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 4, 2, 1),
        nn.BatchNorm2d(16), nn.ReLU(),
        nn.ConvTranspose2d(16, 3, 4, 2, 1),
        nn.Tanh(),
    )
    warm_up(model, (16,))
    return model


TOY_NOTES = "toy 2-D energy MLP 2-32-32-1, default torch init"

# Each fixture: name, kind, opset, a model builder (or same_as, the name of
# an earlier fixture whose model it reuses), the input shape without the
# batch dimension, training (export in TrainingMode.TRAINING) and notes.
# Builders run right after torch.manual_seed(SEED + index), so fixtures do
# not depend on each other's random draws.
FIXTURES = [
    dict(name="energy_silu", kind="energy", opset=17,
         build=lambda: mlp([2, 32, 32, 1], nn.SiLU), shape=(2,),
         notes=TOY_NOTES + "; SiLU exports as Sigmoid then Mul(x, sigmoid)"),
    dict(name="energy_softplus", kind="energy", opset=14,
         build=lambda: mlp([2, 32, 32, 1], nn.Softplus), shape=(2,),
         notes=TOY_NOTES + "; Softplus with beta 1 exports as Softplus"),
    dict(name="energy_leakyrelu", kind="energy", opset=13,
         build=lambda: mlp([2, 32, 32, 1], lambda: nn.LeakyReLU(0.2)),
         shape=(2,), notes=TOY_NOTES + "; LeakyRelu alpha 0.2"),
    dict(name="energy_elu", kind="energy", opset=11,
         build=lambda: mlp([2, 32, 32, 1], nn.ELU), shape=(2,),
         notes=TOY_NOTES + "; Elu alpha 1"),
    dict(name="energy_tanh", kind="energy", opset=12,
         build=lambda: mlp([2, 32, 32, 1], nn.Tanh), shape=(2,),
         notes=TOY_NOTES),
    dict(name="energy_prelu", kind="energy", opset=13,
         build=energy_prelu, shape=(2,),
         notes="the paper's toy energy: MLP 2-100-100-1 with PReLU (one "
               "slope per layer, both at the torch default 0.25) times a "
               "learned 0-d scale (a rank-0 initializer); default torch "
               "init, so the exporter deduplicates the two equal PReLU "
               "slopes: net.3.weight is Identity(net.1.weight)"),
    dict(name="generator_mlp", kind="generator", opset=13,
         build=generator_mlp, shape=(2,),
         notes="the paper's toy generator: (Linear, BatchNorm1d, PReLU) x2 "
               "then Linear, 2-32-32-2; 20 Adam steps in train mode before "
               "an eval-mode export, so BatchNorm uses running statistics"),
    dict(name="generator_mlp_train", kind="generator", opset=14,
         same_as="generator_mlp", shape=(2,), training=True,
         notes="generator_mlp (same weights) exported with "
               "TrainingMode.TRAINING: BatchNormalization has training_mode=1 "
               "and normalizes with batch statistics (biased variance); "
               "the output is PyTorch's train-mode output and holds only "
               "for the whole 7-row batch. Opset 14 because "
               "at opset 13 the exporter emits the legacy five-output "
               "BatchNormalization without a training_mode attribute"),
    dict(name="energy_conv", kind="energy", opset=13,
         build=energy_conv, shape=(1, 8, 8),
         notes="conv energy on 1x8x8 images: Conv 3x3 pad 1, LeakyRelu 0.1, "
               "Conv 4x4 stride 2 pad 1, LeakyRelu 0.1, AvgPool2d(2), "
               "Flatten, Gemm; AvgPool2d with the default "
               "count_include_pad=True exports as Pad (all-zero pads from a "
               "Constant) then AveragePool"),
    dict(name="generator_dcgan", kind="generator", opset=13,
         build=generator_dcgan, shape=(16,),
         notes="DCGAN-style generator 16 -> 3x16x16: Gemm, "
               "x.view(x.shape[0], 32, 4, 4) (Shape, Gather, Unsqueeze, "
               "Concat, Reshape), BatchNorm2d, Relu, ConvTranspose 4x4 "
               "stride 2 pad 1 twice, Tanh; 20 Adam steps in train mode "
               "before an eval-mode export"),
    dict(name="energy_mlp_opset9", kind="energy", opset=9,
         build=lambda: mlp([2, 16, 1], nn.Tanh), shape=(2,),
         notes="2-16-1 tanh MLP at opset 9 for opset coverage"),
]


def sample_input(kind, shape):
    if kind == "generator":
        return torch.randn(BATCH, *shape)
    if len(shape) == 1:
        return 2 * torch.randn(BATCH, *shape)
    return torch.rand(BATCH, *shape)


def export(model, x, fx):
    """Returns the serialized ONNX model for model applied to x."""
    in_name, out_name = names(fx["kind"])
    kwargs = {}
    if fx.get("training"):
        kwargs["training"] = torch.onnx.TrainingMode.TRAINING
        kwargs["do_constant_folding"] = False
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # Only the training-mode export warns: the tracer treats
        # batch_norm's "more than one value per channel" check as a
        # constant, and the in-place num_batches_tracked update is dropped
        # from the graph. Neither changes the output.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, x, buf,
            input_names=[in_name], output_names=[out_name],
            dynamic_axes={in_name: {0: "batch"}, out_name: {0: "batch"}},
            opset_version=fx["opset"], **kwargs)
    return buf.getvalue()


def names(kind):
    return ("z", "x") if kind == "generator" else ("x", "energy")


def forward(model, x, training):
    """Returns model(x) without touching model's state."""
    m = copy.deepcopy(model)
    m.train(training)
    with torch.no_grad():
        return m(x).numpy().astype(np.float32)


def check(fx, proto, x, saved_out):
    """Validates an exported model against its saved input and output."""
    onnx.checker.check_model(proto, full_check=True)
    if proto.opset_import[0].version != fx["opset"]:
        raise ValueError(f"{fx['name']}: opset {proto.opset_import[0].version}")
    in_name, out_name = names(fx["kind"])
    for vi, want in ((proto.graph.input[0], in_name),
                     (proto.graph.output[0], out_name)):
        if vi.name != want:
            raise ValueError(f"{fx['name']}: tensor {vi.name!r}, want {want!r}")
        if vi.type.tensor_type.shape.dim[0].dim_param != "batch":
            raise ValueError(f"{fx['name']}: {vi.name} batch axis not symbolic")
    if len(proto.graph.input) != 1 or len(proto.graph.output) != 1:
        raise ValueError(f"{fx['name']}: want one graph input and output")
    got = forward(fx["model"], torch.from_numpy(x), fx.get("training", False))
    if got.shape[0] != BATCH or not np.array_equal(got, saved_out):
        raise ValueError(f"{fx['name']}: rerun differs from saved output")


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    manifest = []
    models = {}
    for i, fx in enumerate(FIXTURES):
        name = fx["name"]
        if "same_as" in fx:
            model = models[fx["same_as"]]
        else:
            torch.manual_seed(SEED + i)
            model = fx["build"]()
        model.eval()
        models[name] = model
        fx["model"] = model
        training = fx.get("training", False)

        torch.manual_seed(SEED + 1000 + i)
        x = sample_input(fx["kind"], fx["shape"]).float()
        out = forward(model, x, training)
        # Export a copy: a training-mode export runs the model in train
        # mode, which would update the BatchNorm running statistics.
        data = export(copy.deepcopy(model), x, fx)

        x_np = x.numpy().astype(np.float32)
        np.save(os.path.join(HERE, name + ".input.npy"), x_np)
        np.save(os.path.join(HERE, name + ".output.npy"), out)
        with open(os.path.join(HERE, name + ".onnx"), "wb") as f:
            f.write(data)

        proto = onnx.load(os.path.join(HERE, name + ".onnx"))
        check(fx, proto, np.load(os.path.join(HERE, name + ".input.npy")),
              np.load(os.path.join(HERE, name + ".output.npy")))
        in_name, out_name = names(fx["kind"])
        manifest.append({
            "name": name,
            "opset": fx["opset"],
            "model": name + ".onnx",
            "input": name + ".input.npy",
            "output": name + ".output.npy",
            "input_name": in_name,
            "output_name": out_name,
            "ops": sorted({n.op_type for n in proto.graph.node}),
            "kind": fx["kind"],
            "training": training,
            "notes": fx["notes"],
        })

    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")

    width = max(len(m["name"]) for m in manifest)
    print(f"{'name':<{width}}  opset  ops")
    for m in manifest:
        print(f"{m['name']:<{width}}  {m['opset']:>5}  {' '.join(m['ops'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
