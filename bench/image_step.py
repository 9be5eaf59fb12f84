#!/usr/bin/python3
"""Times one training iteration of a 28x28 image pair in PyTorch.

The iteration is the one `go test -bench BenchmarkImageStep ./train`
times (train/image_bench_test.go): energy testdata/bench/energy_conv28.onnx
(energy28 below: Conv 3x3 1->8 pad 1, LeakyRelu 0.1, Conv 4x4
stride 2 pad 1 8->16, LeakyRelu 0.1, AvgPool 2, Flatten, Linear 784->1),
generator testdata/torchquirks/generator_dcgan28.onnx (Gen of
testdata/torchquirks/gen.py:
Linear 16->1568, view (32, 7, 7), BatchNorm2d, ReLU, ConvTranspose 4x4
stride 2 32->16, ReLU, ConvTranspose 4x4 stride 2 16->1, Tanh), latent
width 16, data width 784. One Adam step of the energy on

    L_E = mean E(data) - mean E(G(z)) + upper loss (gp or gp0),

then one Adam step of the generator on

    L_G = mean E(G(z)) - value of the jacobian lower bound,

with the bounds, Adam settings and Rayleigh-Ritz iteration (2 iterations,
latent width 16) of bench/train_step.py, whose functions this imports.
As in Go (train/step.go, train/bnjacobian.go), the networks in the mean
energies run with the generator in training mode (BatchNorm on batch
statistics, which also moves the running statistics), while the bounds
see the generator in inference mode (running statistics): the generator
runs twice per update where a bound needs it.

Differences from Go, none changing the passes made: the weights are
PyTorch's own initialisation (Go starts from the ONNX files' weights,
which are PyTorch's initialisation too, with other draws); the data is a
fixed random batch in [-1, 1] (Go: random CSV rows, standardised); Go
copies parameters into its graphs and gradients out every update, and
computes its metrics (a few means) in the same run.

Run with --export to (re)write testdata/bench/energy_conv28.onnx.

Prints a header line "# PyTorch VERSION, N threads, BLAS PATH", then one
line per upper bound and batch size:

    UPPER BATCH STEPS_PER_S CPU_MS_PER_STEP NONFINITE

as bench/train_step.py does.

Usage: bench/image_step.py [--iters 5] [--repeats 3] [--warmup 1] [--threads N]
       [--uppers gp,gp0] [--batches 16,64] [--export]
"""

import argparse
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_step as ts  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "testdata", "torchquirks"))
import gen as quirks  # noqa: E402  (Gen: the generator of generator_dcgan28.onnx)

ENERGY_ONNX = os.path.join(HERE, "..", "testdata", "bench", "energy_conv28.onnx")
D = 784
LATENT = 16


def energy28():
    """energy_conv of testdata/torch/gen.py on 1x28x28 inputs."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.LeakyReLU(0.1),
        nn.Conv2d(8, 16, 4, stride=2, padding=1), nn.LeakyReLU(0.1),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 1),
    )


def export_energy():
    torch.manual_seed(2828)
    model = energy28().eval()
    x = torch.randn(7, 1, 28, 28)
    torch.onnx.export(model, x, ENERGY_ONNX, input_names=["x"], output_names=["energy"], opset_version=13,
                      dynamic_axes={"x": {0: "batch"}, "energy": {0: "batch"}})
    print(f"wrote {ENERGY_ONNX}")


class Setup:
    def __init__(self, upper, batch, dtype=torch.float64, seed=1):
        torch.manual_seed(seed)
        self.upper, self.batch, self.dtype = upper, batch, dtype
        self.data = (2 * torch.rand(batch, D, dtype=dtype) - 1)
        self.E = energy28().to(dtype)
        self.G = quirks.Gen().to(dtype)
        self.e_params = list(self.E.parameters())
        self.g_params = list(self.G.parameters())
        self.e_opt = torch.optim.Adam(self.e_params, lr=ts.LR, betas=ts.BETAS, eps=ts.EPS)
        self.g_opt = torch.optim.Adam(self.g_params, lr=ts.LR, betas=ts.BETAS, eps=ts.EPS)

    def energy(self, x):
        return self.E(x.reshape(-1, 1, 28, 28)).reshape(-1)

    def gen(self, z, training):
        self.G.train(training)
        x = self.G(z).reshape(-1, D)
        self.G.train(True)
        return x

    def energy_step(self):
        data = self.data
        z = torch.randn(self.batch, LATENT, dtype=self.dtype, requires_grad=True)
        if self.upper == "gp0":
            data = data.clone().requires_grad_(True)
        e_data = self.energy(data)
        e_samp = self.energy(self.gen(z, True))
        loss = e_data.mean() - e_samp.mean()
        if self.upper == "gp":
            x = self.gen(z, False)  # the bound's generator: inference mode
            h, smin = ts.jacobian_terms(x, z, exact=False)
            (gz,) = torch.autograd.grad(self.energy(x).sum(), z, create_graph=True)
            u = gz + ts.score_z(h, z)
            sq = ts.rowsumsq(u)
            pen = 0.5 * sq.mean()
            _value = (ts.LSI / 2 * sq / smin ** 2).mean()
            loss = loss + torch.relu(ts.GP_LAMBDA * pen - ts.GP_TAU)
        elif self.upper == "gp0":
            (gx,) = torch.autograd.grad(e_data.sum(), data, create_graph=True)
            loss = loss + ts.GP0_LAMBDA * ts.rowsumsq(gx).mean()
        return self.update(loss, self.e_params, self.e_opt)

    def generator_step(self):
        with torch.no_grad():
            _e_data = self.energy(self.data).mean()  # a metric, as in Go
        z = torch.randn(self.batch, LATENT, dtype=self.dtype, requires_grad=True)
        x = self.gen(z, True)
        xb = self.gen(z, False)  # the bound's generator: inference mode
        h, _smin = ts.jacobian_terms(xb, z, exact=False)
        value = (h + LATENT / 2 * ts.LOG2PIE).mean()
        loss = self.energy(x).mean() - ts.LAMBDA_H * value
        return self.update(loss, self.g_params, self.g_opt)

    update = ts.Setup.update
    iterate = ts.Setup.iterate


def measure(upper, batch, iters, warmup, repeats):
    return ts.time_iterations(Setup(upper, batch), iters, warmup, repeats)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--uppers", default="gp,gp0")
    ap.add_argument("--batches", default="16,64")
    ap.add_argument("--export", action="store_true", help="write the energy's ONNX file and exit")
    args = ap.parse_args()
    if args.export:
        export_energy()
        return
    torch.set_num_threads(args.threads)
    print(f"# PyTorch {torch.__version__}, {torch.get_num_threads()} threads, BLAS {ts.blas_library()}", flush=True)
    for upper in args.uppers.split(","):
        for batch in map(int, args.batches.split(",")):
            rate, cpu, bad = measure(upper, batch, args.iters, args.warmup, args.repeats)
            print(f"{upper} {batch} {rate:.3f} {cpu:.1f} {bad}", flush=True)


if __name__ == "__main__":
    main()
