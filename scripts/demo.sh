#!/usr/bin/env bash
# The quickstart run by `make demo`: `ebmpipe demo`, the built-in run file
# pipeline/demo.yaml (printed by `ebmpipe demo --help`). It trains an energy
# and a generator on toy:25gaussians with the default recipe (Jacobian
# entropy lower bound, diffusion upper bound), exports both to ONNX,
# estimates log Z, evaluates the bracket L_low <= NLL <= L_up on held-out
# points, scores them with ONNX Runtime (the Go engine if it is missing) and
# prints the test log-likelihood beside a single Gaussian's.
#
# Usage: scripts/demo.sh [BIN [ebmpipe demo flags...]]
# OUT (default out/demo) is removed first, so that the demo can be run again;
# STEPS, if set, overrides the file's training iterations.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/ebmpipe}
shift || true
out=${OUT:-out/demo}
args=(--out "$out")
if [ -n "${STEPS:-}" ]; then
	args+=(--steps "$STEPS")
fi
rm -rf "$out"
exec "$bin" demo "${args[@]}" "$@"
