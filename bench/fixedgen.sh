#!/usr/bin/env bash
# Trains only the generator against the fixed true energy −log p of a
# Gaussian-mixture toy set (bench/truth; the energy's learning rate is
# 1e-300 and --upper none, so it never moves) and evaluates it with
# bench/study at every checkpoint: modes covered, high-quality share,
# mean E(samples) (log Z = 0, so mean E(samples) − H(q) is KL(q ‖ p)).
# bench/generator.md holds the study made with it.
#
# Usage: bench/fixedgen.sh NAME DATA SEED STEPS [TRAIN FLAGS...]
#
#   bench/fixedgen.sh exact-silu 25gaussians 1 3000 --lower jacobian-exact
#
# The paper's recipe underlies the FLAGS (constant rates, no parameter
# average), as in every run of bench/generator.md.
#
# Runs go to $FIX_DIR/NAME (default out/fixedgen), one row per checkpoint
# to $FIX_DIR/results.csv with the last metrics row's entropy estimate
# (the lower bound's value) and mean E(G(z)) of the training batches.
# ENERGY=FILE.onnx replaces the true energy by another fixed one (then
# kl_est is KL(q ‖ p) − log Z). REEVAL=1 evaluates an existing run again
# (replacing its rows) and trains nothing. BIN, STUDY and TRUTH name the
# ebmpipe, bench/study and bench/truth binaries (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/runargs.sh
truth=${TRUTH:-bin/truth}
fdir=${FIX_DIR:-out/fixedgen}
[ -x "$truth" ] || go build -o "$truth" ./bench/truth
mkdir -p "$fdir"
energy=${ENERGY:-$fdir/truth-$data.onnx}
[ -f "$energy" ] || "$truth" -data "$data" -out "$energy"
run=$fdir/$name
results=$fdir/results.csv
[ -f "$results" ] || echo "name,data,seed,step,e_samples,modes,high_quality,entropy_batch,e_samples_batch,kl_est,seconds,flags" >"$results"
if [ "${REEVAL:-}" = 1 ]; then
	grep -v "^$name,$data,$seed," "$results" >"$results.tmp" || true
	mv "$results.tmp" "$results"
else
	rm -rf "$run"
	"$bin" train --data "toy:$data" --seed "$seed" --steps "$steps" --recipe paper --energy "$energy" --lr-energy 1e-300 --upper none \
		--checkpoint-every "${CKPT_EVERY:-1000}" --keep-checkpoints 0 --log-every 100 --out "$run" "$@" >"$run.train.log" 2>&1 || {
		tail -3 "$run.train.log" >&2
		echo "$name,$data,$seed,,,,,,,,,failed: $*" >>"$results"
		exit 1
	}
fi
# metrics.csv columns by name: entropy, energy_samples, wall_seconds.
"$study" -header=false -grid 256 "$run" | while IFS=, read -r _ step _ _ _ _ _ _ esamp _ modes hq _; do
	m=$(awk -F, -v s="$step" 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} $1==s{printf "%s,%s,%.4f,%s", $c["entropy"], $c["energy_samples"], $c["energy_samples"]-$c["entropy"], $c["wall_seconds"]}' "$run/metrics.csv")
	echo "$name,$data,$seed,$step,$esamp,$modes,$hq,$m,$*"
done >>"$results"
grep "^$name,$data,$seed," "$results" | cut -d, -f4-11 | column -s, -t >&2
