#!/usr/bin/env python3
"""The share of a 2-D energy model's mass near the 25gaussians modes.

p(x) = exp(-E(x))/Z on an N x N grid over [-2.2, 2.2]^2 (Z summed on the
same grid): the mass within 3 sigma (sigma = 0.05/2.828) of any of the 25
centres, the modes holding at least 1 % of the mass within 3 sigma, and the
smallest and largest of those per-mode masses. These are the generator's
high-quality share and modes covered (bench/study) for a perfect sampler of
the model: a generator that follows p_theta cannot do better.
(bench/generator.md; standard library only.)

Usage:
  bench/pmass.py grid N              writes grid.csv (header x0,x1), N*N rows
  ebmpipe score --model energy.onnx --input grid.csv --output e.csv
  bench/pmass.py e.csv N
"""
import math
import sys

L = 2.2


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    n = int(sys.argv[2])
    h = 2 * L / (n - 1)
    if sys.argv[1] == 'grid':
        with open('grid.csv', 'w') as f:
            f.write('x0,x1\n')
            for i in range(n):
                for j in range(n):
                    f.write('%.6f,%.6f\n' % (-L + i * h, -L + j * h))
        return
    with open(sys.argv[1]) as f:
        es = [float(l.split(',')[0]) for l in f.read().split('\n')[1:] if l]
    if len(es) != n * n:
        sys.exit('%s: %d energies, want %d' % (sys.argv[1], len(es), n * n))
    m = min(es)
    w = [math.exp(-(e - m)) for e in es]
    z = sum(w)
    s = 0.05 / 2.828
    r2 = (3 * s) ** 2
    cs = [(2 * (c // 5 - 2) / 2.828, 2 * (c % 5 - 2) / 2.828) for c in range(25)]
    near, per = 0.0, [0.0] * 25
    for k, wk in enumerate(w):
        i, j = divmod(k, n)
        x, y = -L + i * h, -L + j * h
        for c, (a, b) in enumerate(cs):
            if (x - a) ** 2 + (y - b) ** 2 <= r2:
                near += wk
                per[c] += wk
                break
    print('mass within 3 sigma: %.3f, modes with >= 1%%: %d, per-mode mass %.4f to %.4f'
          % (near / z, sum(p / z >= 0.01 for p in per), min(per) / z, max(per) / z))


if __name__ == '__main__':
    main()
