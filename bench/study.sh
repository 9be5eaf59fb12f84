#!/usr/bin/env bash
# The recipe study of issue 13 (bench/drift.md): trains one recipe on one
# toy set with one seed, then evaluates its checkpoints with bench/study
# (test log-likelihood on 10 000 held-out points drawn with seed 99, log Z
# on a grid over the box of bench/matrix.sh, the grid's energy range, the
# generator's modes covered and high-quality share on Gaussian-mixture
# sets) at 2 000, 5 000, 10 000, 20 000 and 50 000 iterations, as far as
# the run goes.
#
# Usage: bench/study.sh NAME DATA SEED STEPS [TRAIN FLAGS...]
#
#   bench/study.sh ema-cos 25gaussians 1 20000 --upper diffusion --ema 0.999
#
# NAME names the recipe: runs go to $STUDY_DIR/NAME/DATA-sSEED (default
# STUDY_DIR=out/study; keep it outside the repository), rows to
# $STUDY_DIR/results.csv, one per evaluated iteration, with the flags.
# Runs are resumable: a run with a checkpoint continues (--resume); a
# recipe, data set and seed already evaluated at STEPS is skipped, and a
# longer STEPS continues the same run (a schedule that depends on --steps
# then changes; fix it with --lr-decay-steps). REEVAL=1 evaluates a
# finished run again (after a change to bench/study), replacing its rows;
# it trains nothing. BIN and STUDY name the
# ebmpipe and bench/study binaries (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/runargs.sh
sdir=${STUDY_DIR:-out/study}
run=$sdir/$name/$data-s$seed
results=$sdir/results.csv
mkdir -p "$sdir/$name"
[ -f "$results" ] || echo "recipe,data,seed,steps,step,log_z,log_z_err,log_z_wide,e_grid_min,e_grid_max,e_test,e_samples,test_ll,modes,high_quality,weight_kl,gp_mean,hinge_active,seconds,flags" >"$results"
if [ "${REEVAL:-}" = 1 ]; then
	[ -f "$run/checkpoint/step-$(printf %06d "$steps").ckpt" ] || { echo "== $name $data seed $seed: no checkpoint of iteration $steps" >&2; exit 1; }
	grep -v "^$name,$data,$seed,$steps," "$results" >"$results.tmp" || true
	mv "$results.tmp" "$results"
elif grep -q "^$name,$data,$seed,$steps,$steps," "$results"; then
	echo "== $name $data seed $seed: $steps iterations already evaluated" >&2
	exit 0
fi
resume=()
[ -f "$run/checkpoint/latest" ] && resume=(--resume)
echo "== $name $data seed $seed, $steps iterations ${resume[*]}" >&2
[ "${REEVAL:-}" = 1 ] || "$bin" train --data "toy:$data" --seed "$seed" --steps "$steps" --checkpoint-every 1000 --keep-checkpoints 0 \
	--log-every 100 --out "$run" "${resume[@]}" "$@" >"$run.train.log" 2>&1 || {
	tail -3 "$run.train.log" >&2
	echo "$name,$data,$seed,$steps,,,,,,,,,,,,,,,,failed: $*" >>"$results"
	exit 1
}
at=""
for s in 2000 5000 10000 20000 50000 "$steps"; do
	[ "$s" -le "$steps" ] && at+="${at:+,}$s"
done
# A run that already had rows for the earlier iterations gets them again
# with this STEPS: the table keys on (recipe, data, seed, steps).
secs=$(tail -1 "$run/metrics.csv" | awk -F, '{printf "%.0f", $NF}')
"$study" -header=false -grid 2048 -steps "$at" "$run" | while IFS= read -r row; do
	echo "$name,$data,$seed,$steps,${row#*,},$secs,$*"
done >>"$results"
grep "^$name,$data,$seed,$steps," "$results" | cut -d, -f5,13-16 | column -s, -t >&2
