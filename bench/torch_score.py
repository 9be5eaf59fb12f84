#!/usr/bin/python3
"""The numpy + torch baseline of bench/score.sh: read rows, score them with
the energy MLP in PyTorch, write the energies, as `ebmpipe score` does.

torch cannot load ONNX, so the MLP (Gemm, SiLU, Gemm, SiLU, Gemm, as
testdata/torch/energy_silu.onnx) is defined again here and its weights are
read from the model's initializers with onnx.numpy_helper.

Usage: torch_score.py MODEL.onnx INPUT.{csv,npy} OUTPUT.{csv,npy} [BATCH]
"""
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper


def load_mlp(path):
    m = onnx.load(path)
    weights = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    ops = [n.op_type for n in m.graph.node]
    if ops != ["Gemm", "Sigmoid", "Mul", "Gemm", "Sigmoid", "Mul", "Gemm"]:
        sys.exit(f"torch_score.py: {path}: not the Gemm/SiLU MLP this script rebuilds (ops {ops})")
    layers = []
    for n in m.graph.node:
        if n.op_type != "Gemm":
            continue
        w, b = weights[n.input[1]], weights[n.input[2]]
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        lin.weight.data = torch.from_numpy(w.copy())
        lin.bias.data = torch.from_numpy(b.copy())
        layers += [lin, torch.nn.SiLU()]
    return torch.nn.Sequential(*layers[:-1]).eval()


def main():
    model, inp, out = sys.argv[1:4]
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
    net = load_mlp(model)
    if inp.endswith(".npy"):
        x = np.load(inp).astype(np.float32, copy=False)
    else:
        x = np.loadtxt(inp, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    energy = np.empty(len(x), dtype=np.float32)
    with torch.no_grad():
        for i in range(0, len(x), batch):
            energy[i:i + batch] = net(torch.from_numpy(x[i:i + batch]))[:, 0].numpy()
    if out.endswith(".npy"):
        np.save(out, energy)
    else:
        np.savetxt(out, energy, fmt="%.9g", header="energy", comments="")


if __name__ == "__main__":
    main()
