#!/usr/bin/env bash
# Times one training iteration (one energy and one generator Adam step) of
# the 28×28 image pair — conv energy testdata/bench/energy_conv28.onnx,
# DCGAN generator testdata/torchquirks/generator_dcgan28.onnx — with the
# default lower bound (jacobian) and the upper bounds gp (default) and
# gp0, at batch 16 and 64, in Go (BenchmarkImageStep in
# train/image_bench_test.go) and, in the same run, in PyTorch
# (bench/image_step.py), both with PROCS threads (GOMAXPROCS,
# torch.set_num_threads). Each figure is the best of COUNT timings of ITERS
# iterations; the script also prints the worst, for the spread on a
# loaded machine. Ratios above 1 mean Go is faster. PyTorch runs with
# OMP_WAIT_POLICY=PASSIVE unless set (see bench/train.sh).
#
# Usage: bench/image.sh
#   env: PROCS=2, COUNT=3, ITERS=3, WARMUP=1, TAGS (default bench/blas_tags.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

PROCS=${PROCS:-2}
COUNT=${COUNT:-3}
ITERS=${ITERS:-3}
WARMUP=${WARMUP:-1}
PY=/usr/bin/python3

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

TAGS=${TAGS-$(bench/blas_tags.sh)}
GOMAXPROCS=$PROCS go test -tags "$TAGS" -run '^$' -bench 'BenchmarkImageStep' -benchtime "${ITERS}x" -count "$COUNT" ./train >"$dir/go.txt" || {
	cat "$dir/go.txt" >&2
	exit 1
}
# go.rows and torch.rows: "UPPER BATCH RATE CPU", one line per timing.
awk '$1 ~ /^BenchmarkImageStep\// {
	name = $1; sub(/^BenchmarkImageStep\//, "", name); sub(/-[0-9]+$/, "", name); split(name, p, "/")
	for (i = 2; i < NF; i++) {
		if ($(i + 1) == "steps/s") rate = $i
		if ($(i + 1) == "cpu-ms/step") cpu = $i
	}
	print p[1], p[2], rate, cpu
}' "$dir/go.txt" >"$dir/go.rows"
: >"$dir/torch.txt"
for _ in $(seq "$COUNT"); do
	OMP_NUM_THREADS=$PROCS OPENBLAS_NUM_THREADS=$PROCS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} \
		"$PY" bench/image_step.py --threads "$PROCS" --iters "$ITERS" --repeats 1 --warmup "$WARMUP" >>"$dir/torch.txt"
done
grep -v '^#' "$dir/torch.txt" | awk '{ print $1, $2, $3, $4 }' >"$dir/torch.rows"

echo "image step: E energy_conv28 (1x28x28), G generator_dcgan28 (16 -> 1x28x28), lower jacobian; $(nproc) CPUs, $PROCS threads each, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Go BLAS: ${TAGS:-gonum}; $(sed -n 's/^# //p' "$dir/torch.txt" | head -1); $COUNT timings of $ITERS iterations each (PyTorch: $WARMUP untimed first)"
awk -v torch="$dir/torch.rows" '
function upd(k, r, c) {
	if (!(k in best)) { best[k] = r; worst[k] = r; cmin[k] = c; cmax[k] = c }
	if (r > best[k]) best[k] = r
	if (r < worst[k]) worst[k] = r
	if (c < cmin[k]) cmin[k] = c
	if (c > cmax[k]) cmax[k] = c
}
BEGIN {
	while ((getline l < torch) > 0) { split(l, f, " "); upd("pt " f[1] " " f[2], f[3], f[4]) }
}
{ k = $1 " " $2; if (!(k in seen)) order[n++] = k; seen[k] = 1; upd("go " k, $3, $4) }
END {
	printf "%-10s %19s %19s %6s   %21s %21s %6s\n", "upper/batch", "Go steps/s", "PT steps/s", "ratio", "Go CPU ms/step", "PT CPU ms/step", "ratio"
	for (i = 0; i < n; i++) {
		k = order[i]; g = "go " k; p = "pt " k; split(k, kk, " ")
		printf "%-10s %8.2f (%.2f-%.2f) %8.2f (%.2f-%.2f) %6.2f   %9.1f (%.0f-%.0f) %9.1f (%.0f-%.0f) %6.2f\n", kk[1] "/" kk[2],
			best[g], worst[g], best[g], best[p], worst[p], best[p], best[g] / best[p],
			cmin[g], cmin[g], cmax[g], cmin[p], cmin[p], cmax[p], cmin[p] / cmin[g]
	}
}' "$dir/go.rows"
echo "(best, then the range over the timings; ratio of the best figures, > 1: Go is faster; PT: PyTorch)"
