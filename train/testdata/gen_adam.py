#!/usr/bin/env python3
"""Writes adam_golden.json: parameters after each step of torch.optim.Adam.

Run from this directory with /usr/bin/python3 (Debian's python3-torch):

    python3 gen_adam.py

Each case starts from fixed float64 parameters and applies a fixed sequence
of gradients, set by hand on .grad, with torch.optim.Adam (no weight decay,
no AMSGrad, the single-tensor implementation). adam_test.go replays the cases
with train.Adam and compares the parameters after every step.
"""
import json

import numpy as np
import torch

CASES = [
    # name, lr, beta1, beta2, eps: the paper's toy settings, its image
    # settings, and settings where eps and both betas matter.
    ("toy", 2e-4, 0.0, 0.9, 1e-6),
    ("image", 5e-5, 0.9, 0.999, 1e-6),
    ("large-lr", 0.1, 0.5, 0.99, 1e-3),
]
SHAPES = [(2, 3), (4,)]
STEPS = 6


def main():
    rng = np.random.default_rng(20250101)
    out = {"torch": torch.__version__, "cases": []}
    for name, lr, b1, b2, eps in CASES:
        init = [rng.standard_normal(s) for s in SHAPES]
        grads = [[rng.standard_normal(s) * 10.0 ** rng.integers(-3, 2) for s in SHAPES]
                 for _ in range(STEPS)]
        grads[1][0][0, 0] = 0.0  # a zero gradient
        grads[2][1][:] = 0.0  # a whole parameter without gradient
        params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in init]
        kw = dict(lr=lr, betas=(b1, b2), eps=eps)
        try:
            opt = torch.optim.Adam(params, foreach=False, **kw)
        except TypeError:
            opt = torch.optim.Adam(params, **kw)
        after = []
        for step in grads:
            for p, g in zip(params, step):
                p.grad = torch.tensor(g, dtype=torch.float64)
            opt.step()
            after.append([p.detach().numpy().ravel().tolist() for p in params])
        out["cases"].append({
            "name": name, "lr": lr, "beta1": b1, "beta2": b2, "eps": eps,
            "shapes": [list(s) for s in SHAPES],
            "params": [p.ravel().tolist() for p in init],
            "grads": [[g.ravel().tolist() for g in step] for step in grads],
            "after": after,
        })
    with open("adam_golden.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
