#!/usr/bin/python3
"""Print the README's bound-pair tables from bench/matrix.sh's results.csv.

Usage: bench/matrix_table.py [DIR/results.csv]   (default out/matrix/results.csv)

The first table holds the held-out log-likelihood of every pair on every
data set (higher is better); the second the bracket lower ≤ NLL ≤ upper
that `ebmpipe bounds` measured on the same held-out points (the lower end is
the larger of the two Jacobian bounds of the trained generator; gp0 bounds
nothing from above). A missing run shows as "–", a failed one as "failed",
and an energy that keeps falling outside the data, so that exp(−E) has no
finite integral and the test log-likelihood is −∞, as "not normalisable"
(bench/matrix.sh tells).
"""
import csv
import math
import sys

DATASETS = ["25gaussians", "swissroll", "moons"]
PAIRS = [("jacobian", "gp"), ("jacobian-exact", "gp"), ("mi", "gp"),
         ("jacobian", "diffusion"), ("jacobian-exact", "diffusion"), ("mi", "diffusion"),
         ("jacobian", "gp0")]


def num(s, digits=2):
    """Format s with a real minus sign, or in powers of ten when large."""
    v = float(s)
    if abs(v) >= 1e4:
        e = len(str(int(abs(v)))) - 1
        t = f"{v / 10**e:.1f}·10{str(e).translate(str.maketrans('0123456789', '⁰¹²³⁴⁵⁶⁷⁸⁹'))}"
    else:
        t = f"{v:.{digits}f}"
    return t.replace("-", "−")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "out/matrix/results.csv"
    runs = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["data"], row["lower"], row["upper"])
            if row["status"] != "failed" or key not in runs:
                runs[key] = row

    def cell(data, lower, upper, what):
        r = runs.get((data, lower, upper))
        if r is None:
            return "–"
        if r["status"] != "ok":
            return r["status"]
        return what(r)

    def label(lower, upper):
        s = f"{lower} / {upper}"
        return s + " (baseline)" if upper == "gp0" else s

    print("| lower / upper | " + " | ".join(DATASETS) + " |")
    print("|---|" + "---|" * len(DATASETS))
    # Pairs the matrix has no run of are left out.
    pairs = [(l, u) for l, u in PAIRS if any((d, l, u) in runs for d in DATASETS)]
    for lower, upper in pairs:
        cells = [cell(d, lower, upper, lambda r: num(r["test_ll"])) for d in DATASETS]
        print(f"| {label(lower, upper)} | " + " | ".join(cells) + " |")
    print()
    print("| lower / upper | " + " | ".join(DATASETS) + " |")
    print("|---|" + "---|" * len(DATASETS))
    for lower, upper in pairs:
        cells = [cell(d, lower, upper,
                      lambda r: f"{num(r['lower_bound'])} ≤ {num(str(-float(r['test_ll'])))}"
                      + ("" if math.isnan(float(r["upper_bound"])) else f" ≤ {num(r['upper_bound'])}"))
                 for d in DATASETS]
        print(f"| {label(lower, upper)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
