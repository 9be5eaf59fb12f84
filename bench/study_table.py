#!/usr/bin/env python3
"""Print the recipe study's results (bench/study.sh's results.csv) as a
markdown table: one row per recipe, data set, seed and run length, with the
test log-likelihood at each evaluated iteration ("n.n.": not normalisable,
log Z on the box eight times as wide exceeds log Z by more than 1 nat) and,
at the last one, the generator's modes covered and high-quality share
(Gaussian mixtures only).

Usage: bench/study_table.py [RESULTS.csv] [RECIPE...]
"""
import csv
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "bench/study-results.csv"
only = set(sys.argv[2:])
rows = [r for r in csv.DictReader(open(path)) if r["step"] and (not only or r["recipe"] in only)]
runs = {}
for r in rows:
    runs.setdefault((r["recipe"], r["data"], r["seed"], int(r["steps"])), []).append(r)
# Keep only the longest evaluation of each recipe, data set and seed.
longest = {}
for (rec, data, seed, steps) in runs:
    k = (rec, data, seed)
    longest[k] = max(longest.get(k, 0), steps)
cols = [2000, 5000, 10000, 20000, 50000]
print("| recipe | data | seed | " + " | ".join(f"LL {c // 1000}k" for c in cols) + " | modes | high-quality |")
print("|---|---|---|" + "---|" * len(cols) + "---|---|")
for (rec, data, seed, steps), rs in runs.items():
    if steps != longest[(rec, data, seed)]:
        continue
    by = {int(r["step"]): r for r in rs}
    def ll_at(c):
        if c not in by:
            return ""
        r = by[c]
        if r.get("log_z_wide") and float(r["log_z_wide"]) - float(r["log_z"]) > 1:
            return "n.n."  # exp(-E) has no finite integral
        return f'{float(r["test_ll"]):+.2f}'

    ll = [ll_at(c) for c in cols]
    last = by[max(by)]
    modes = last["modes"] if last["modes"] != "-1" else "–"
    hq = f'{100 * float(last["high_quality"]):.1f} %' if last["high_quality"] not in ("NaN", "") else "–"
    print(f"| {rec} | {data} | {seed} | " + " | ".join(ll) + f" | {modes} | {hq} |")
