#!/usr/bin/env bash
# The bound-pair matrix of the README: every lower × upper bound pair
# (lower jacobian, jacobian-exact, mi; upper gp, diffusion) and the
# zero-centred gradient-penalty baseline (jacobian, gp0) trained for STEPS iterations
# (default 20000) at the defaults (the default recipe; the README's tables
# were made at the paper's, TRAIN_FLAGS="--recipe paper") on toy:25gaussians, toy:swissroll and
# toy:moons, then evaluated on held-out toy data (a different seed):
#
#   test LL = −(mean E(held-out) + log Z),
#
# log Z on a grid of 4096² intervals over the data's range widened by twice
# that range on each side, and the bracket L_low ≤ NLL ≤ L_up from
# `ebmpipe bounds`. A second grid, widened by eight times the range, checks
# that exp(−E) has a finite integral: if log Z grows by more than 1 nat from
# the first box to the second, the energy keeps falling outside the data and
# the run is marked "not normalisable" (its test log-likelihood is −∞).
#
# Runs are resumable: each keeps checkpoints, and rerunning the script
# continues unfinished runs and skips finished ones, so the matrix can be
# built over several sessions. Results go to DIR/results.csv, one row per
# finished run (failed runs are retried); wall time is the training's, over
# all its resumes.
#
# Usage: bench/matrix.sh [DIR]   (default out/matrix; BIN=path/to/ebmpipe)
#
# Environment: DATASETS and PAIRS (lower:upper) choose part of the matrix,
# STEPS the iterations, and TRAIN_FLAGS adds flags to every `ebmpipe train`
# (another recipe belongs in another DIR). REEVAL=1 evaluates every run
# again (finished runs are not trained further) into a new results.csv,
# keeping the old one as results.csv.old. bench/matrix_table.py prints the
# README's tables from DIR/results.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-out/matrix}
steps=${STEPS:-20000}
bin=${BIN:-bin/ebmpipe}
datasets=${DATASETS:-"25gaussians swissroll moons"}
pairs=${PAIRS:-"jacobian:gp jacobian-exact:gp mi:gp jacobian:diffusion jacobian-exact:diffusion mi:diffusion jacobian:gp0"}
read -r -a extra <<<"${TRAIN_FLAGS:-}"
mkdir -p "$dir"
results=$dir/results.csv
header="data,lower,upper,steps,seconds,log_z,log_z_stderr,test_ll,lower_bound,upper_bound,status"
if [ "${REEVAL:-}" = 1 ] && [ -f "$results" ]; then
	mv "$results" "$results.old"
fi
[ -f "$results" ] || echo "$header" >"$results"

for data in $datasets; do
	for pair in $pairs; do
		lower=${pair%%:*} upper=${pair#*:}
		name=$data-$lower-$upper
		run=$dir/$name
		if grep -q "^$data,$lower,$upper,.*,\(ok\|not normalisable\)$" "$results"; then
			continue
		fi
		resume=()
		[ -f "$run/checkpoint/latest" ] && resume=(--resume)
		# The mutual-information bound's encoder r(z|x): mean and
		# log-variance of the 2-D latent.
		[ "$lower" = mi ] && resume+=(--encoder mlp:2-100-100-4)
		echo "== $name ${resume[*]}" >&2
		rc=0
		"$bin" train --data "toy:$data" --lower "$lower" --upper "$upper" --steps "$steps" \
			--checkpoint-every 1000 --log-every 200 --out "$run" "${resume[@]}" "${extra[@]}" >"$run.train.log" 2>&1 || rc=$?
		if [ "$rc" -ne 0 ]; then
			tail -3 "$run.train.log" >&2
			# Interrupted (Ctrl-C): the run has a checkpoint; stop here
			# and continue it next time.
			grep -q "context canceled" "$run.train.log" && exit 130
			echo "$data,$lower,$upper,$steps,,,,,,,failed" >>"$results"
			continue
		fi
		"$bin" logz --model "$run/energy.onnx" --data "toy:$data" --method grid --grid-size 4096 --margin 2 >"$run.logz.txt" 2>&1
		"$bin" logz --model "$run/energy.onnx" --data "toy:$data" --method grid --grid-size 4096 --margin 8 \
			--output "$run.wide.onnx" >"$run.logz-wide.txt" 2>&1
		"$bin" bounds --energy "$run/energy.onnx" --generator "$run/generator.onnx" \
			--data "toy:$data" --seed 99 --samples 10000 --json >"$run.bounds.json"
		/usr/bin/python3 - "$bin" "$run" "$data" "$lower" "$upper" "$steps" >>"$results" <<'PY'
import csv, json, sys, subprocess
bin, run, data, lower, upper, steps = sys.argv[1:]
def meta(path):
    m = {}
    out = subprocess.run([bin, "inspect", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        k, _, v = line.strip().partition(" = ")
        m[k.strip()] = v.strip()
    return m
m, wide = meta(run + "/energy.onnx"), meta(run + ".wide.onnx")
logz = float(m.get("ebmpipe.log_z", "nan"))
se = float(m.get("ebmpipe.log_z_stderr", "nan"))
status = "ok" if float(wide.get("ebmpipe.log_z", "nan")) - logz <= 1 else "not normalisable"
b = json.load(open(run + ".bounds.json"))
test_ll = -(b["energy_data_mean"] + logz)
lo = max(v["value"] for v in b["lower"].values()) if b["lower"] else float("nan")
up = b["upper"].get(upper, {}).get("value", float("nan"))
rows = list(csv.DictReader(open(run + "/metrics.csv")))
secs = float(rows[-1]["wall_seconds"]) if rows else float("nan")
print(f"{data},{lower},{upper},{steps},{secs:.0f},{logz:.4f},{se:.4f},{test_ll:.4f},{lo:.4f},{up:.4f},{status}")
PY
	done
done
column -s, -t "$results"
