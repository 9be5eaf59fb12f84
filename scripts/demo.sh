#!/usr/bin/env bash
# The quickstart run by `make demo`: train an energy and a generator on the
# built-in toy:25gaussians with the default bound pair (Jacobian entropy lower
# bound, gradient-penalty upper bound), export both to ONNX, estimate log Z,
# print the bracket L_low <= NLL <= L_up, and score a grid of points with
# ONNX Runtime. Set STEPS to train longer (default 1500, a few minutes on 2
# cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/ebmpipe}
out=${OUT:-out/demo}
steps=${STEPS:-1500}
rm -rf "$out"
mkdir -p "$out"

echo "== ebmpipe train: toy:25gaussians, $steps iterations, --lower jacobian --upper gp"
"$bin" train --data toy:25gaussians --steps "$steps" --log-every 100 --checkpoint-every 500 --out "$out/run"
echo "last metrics row (nats per example):"
head -1 "$out/run/metrics.csv"
tail -1 "$out/run/metrics.csv"

echo
echo "== ebmpipe logz: numerical integration on a grid (the data are 2-D)"
"$bin" logz --model "$out/run/energy.onnx" --data toy:25gaussians

echo
echo "== ebmpipe bounds: the bracket on held-out toy data"
"$bin" bounds --energy "$out/run/energy.onnx" --generator "$out/run/generator.onnx" \
	--data toy:25gaussians --seed 99 --samples 2000

echo
echo "== ebmpipe score: log-densities on a 5x5 grid, through ONNX Runtime where installed"
awk 'BEGIN { print "x0,x1"; for (i = -2; i <= 2; i++) for (j = -2; j <= 2; j++) printf "%.3f,%.3f\n", i * 0.707, j * 0.707 }' >"$out/grid.csv"
"$bin" score --model "$out/run/energy.onnx" --input "$out/grid.csv" --output "$out/grid_scores.csv"
paste -d, "$out/grid.csv" "$out/grid_scores.csv" | head -8

echo
echo "files written:"
ls -1 "$out/run" "$out"/*.csv
