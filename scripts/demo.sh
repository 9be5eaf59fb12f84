#!/usr/bin/env bash
# The quickstart run by `make demo`. Today it shows the import path: a network
# exported from PyTorch is inspected and scored by the pure-Go engine, and the
# tests check the same scores against PyTorch's own outputs. Training, export and ONNX
# Runtime scoring join the demo as they land.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/ebmpipe}
out=out/demo
mkdir -p "$out"

echo "== ebmpipe inspect testdata/torch/energy_prelu.onnx (the paper's toy energy, exported by PyTorch)"
"$bin" inspect testdata/torch/energy_prelu.onnx

echo
echo "== ebmpipe score --engine go --raw (the imported graph, run by Gorgonia)"
"$bin" score --model testdata/torch/energy_prelu.onnx --input testdata/torch/energy_prelu.input.npy \
	--output "$out/energy_prelu.csv" --engine go --raw
cat "$out/energy_prelu.csv"
echo
echo "== the same as an energy score, JSON lines"
"$bin" score --model testdata/torch/energy_prelu.onnx --input testdata/torch/energy_prelu.input.npy \
	--output "$out/energy_prelu.jsonl"
cat "$out/energy_prelu.jsonl"
