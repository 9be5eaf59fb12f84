#!/usr/bin/env bash
# The bound-pair matrix of the README: every lower × upper bound pair
# (lower jacobian, jacobian-exact, mi; upper gp, diffusion) and the
# zero-centred gradient-penalty baseline (jacobian, gp0) trained for STEPS iterations
# (default 20000) at the defaults on toy:25gaussians, toy:swissroll and
# toy:moons, then evaluated on held-out toy data (a different seed):
#
#   test LL = −(mean E(held-out) + log Z), log Z on a 512² grid,
#
# and the bracket L_low ≤ NLL ≤ L_up from `ebmpipe bounds`. Runs are
# resumable: each keeps checkpoints, and rerunning the script continues
# unfinished runs and skips finished ones, so the matrix can be built over
# several sessions. Results go to DIR/results.csv, one row per finished run
# (failed runs are retried).
#
# Usage: bench/matrix.sh [DIR]   (default out/matrix; BIN=path/to/ebmpipe)
#
# Environment: DATASETS and PAIRS (lower:upper) choose part of the matrix,
# STEPS the iterations, and TRAIN_FLAGS adds flags to every `ebmpipe train`
# (another recipe belongs in another DIR). bench/matrix_table.py prints the
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
[ -f "$results" ] || echo "data,lower,upper,steps,seconds,log_z,log_z_stderr,test_ll,lower_bound,upper_bound,status" >"$results"

for data in $datasets; do
	for pair in $pairs; do
		lower=${pair%%:*} upper=${pair#*:}
		name=$data-$lower-$upper
		run=$dir/$name
		if grep -q "^$data,$lower,$upper,.*,ok$" "$results"; then
			continue
		fi
		resume=()
		[ -f "$run/checkpoint/latest" ] && resume=(--resume)
		# The mutual-information bound's encoder r(z|x): mean and
		# log-variance of the 2-D latent.
		[ "$lower" = mi ] && resume+=(--encoder mlp:2-100-100-4)
		echo "== $name ${resume[*]}" >&2
		start=$(date +%s)
		status=ok
		rc=0
		"$bin" train --data "toy:$data" --lower "$lower" --upper "$upper" --steps "$steps" \
			--checkpoint-every 1000 --log-every 200 --out "$run" "${resume[@]}" "${extra[@]}" >"$run.train.log" 2>&1 || rc=$?
		if [ "$rc" -ne 0 ]; then
			tail -3 "$run.train.log" >&2
			# Interrupted (Ctrl-C): the run has a checkpoint; stop here
			# and continue it next time.
			grep -q "context canceled" "$run.train.log" && exit 130
			status=failed
		fi
		secs=$(($(date +%s) - start))
		if [ "$status" = ok ]; then
			"$bin" logz --model "$run/energy.onnx" --data "toy:$data" --method grid >"$run.logz.txt" 2>&1
			"$bin" bounds --energy "$run/energy.onnx" --generator "$run/generator.onnx" \
				--data "toy:$data" --seed 99 --samples 10000 --json >"$run.bounds.json"
			/usr/bin/python3 - "$bin" "$run" "$data" "$lower" "$upper" "$steps" "$secs" >>"$results" <<'EOF'
import json, sys, subprocess
bin, run, data, lower, upper, steps, secs = sys.argv[1:]
meta = {}
for line in subprocess.run([bin, "inspect", run + "/energy.onnx"], capture_output=True, text=True).stdout.splitlines():
    k, _, v = line.strip().partition(" = ")
    meta[k.strip()] = v.strip()
b = json.load(open(run + ".bounds.json"))
logz = float(meta.get("ebmpipe.log_z", "nan"))
se = float(meta.get("ebmpipe.log_z_stderr", "nan"))
test_ll = -(b["energy_data_mean"] + logz)
lo = max(v["value"] for v in b["lower"].values()) if b["lower"] else float("nan")
up = b["upper"].get(upper, {}).get("value", float("nan"))
print(f"{data},{lower},{upper},{steps},{secs},{logz:.4f},{se:.4f},{test_ll:.4f},{lo:.4f},{up:.4f},ok")
EOF
		else
			echo "$data,$lower,$upper,$steps,$secs,,,,,,$status" >>"$results"
		fi
	done
done
column -s, -t "$results"
