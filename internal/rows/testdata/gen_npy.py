#!/usr/bin/python3
"""Generates the NPY golden files in this directory with numpy.

Run from anywhere: /usr/bin/python3 gen_npy.py

Each NAME.npy that reads as rows comes with NAME.json: {"shape": [...],
"values": [...]}, the array's shape and its values, in C order, converted
to float64 and printed with repr, which round-trips exactly. The Go tests
compare what pipeline.Reader reads with these.
"""

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, a, expect=True):
    np.save(os.path.join(HERE, name + ".npy"), a)
    if not expect:
        return
    doc = {
        "shape": list(a.shape),
        "values": [float(v) for v in np.asarray(a, dtype=np.float64).ravel(order="C")],
    }
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(doc, f)
        f.write("\n")


def main():
    rng = np.random.default_rng(20240611)

    # float32 rows of 2 values.
    save("f4_5x2", rng.standard_normal((5, 2)).astype("<f4"))
    # float64, rank 1: 7 rows of one value each.
    save("f8_7", rng.standard_normal(7).astype("<f8"))
    # float64 rows of shape (1, 2, 2).
    save("f8_3x1x2x2", rng.standard_normal((3, 1, 2, 2)).astype("<f8"))
    # big-endian float64 rows of 3 values, with awkward values.
    be = rng.standard_normal((4, 3)).astype(">f8")
    be[0, 0] = -0.0
    be[1, 1] = 5e-324  # smallest subnormal
    be[2, 2] = np.finfo(np.float64).max
    save("be_f8_4x3", be)
    # int64 rows of 2 values.
    save("i8_4x2", np.array([[0, -1], [2**40, -(2**40)], [7, 8], [-9, 10]], dtype="<i8"))
    # No rows at all.
    save("f8_0x3", np.zeros((0, 3), dtype="<f8"))

    # Files the reader must refuse.
    save("c8_3", np.arange(3).astype("<c8"), expect=False)
    save("fortran_3x2", np.asfortranarray(np.arange(6, dtype="<f8").reshape(3, 2)), expect=False)


if __name__ == "__main__":
    main()
