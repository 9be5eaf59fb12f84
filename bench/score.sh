#!/usr/bin/env bash
# Benchmarks `ebmpipe score` on a 1M-row 2-D input, as CSV and as NPY, and
# prints rows/s and ratios against
#   (a) a bare ONNX Runtime session scoring the same rows, already in
#       float32 tensors in memory, at the same batch size (bench/rawort);
#   (b) `ebmpipe score --engine go`;
#   (c) a numpy + torch script doing the same read-score-write
#       (bench/torch_score.py), if /usr/bin/python3 has torch, numpy and onnx.
# Every figure is the best of $REPS runs of wall-clock time; ebmpipe's runs
# are whole processes (loading libonnxruntime, fsyncing the output). The
# last lines give CPU time (least of $REPS runs) against a bare session of
# one thread (see bench/score-profile.md). The NPY input is float32, so
# `--engine ort` scores it on its float32 path (rows.Reader.Read32,
# engine.Float32Engine, rows.Writer.Write32).
#
# Usage: bench/score.sh    (env: ROWS=1000000 BATCH=1024 REPS=3 MODEL=...)
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-1000000}
BATCH=${BATCH:-1024}
REPS=${REPS:-3}
MODEL=${MODEL:-testdata/torch/energy_silu.onnx}
PY=/usr/bin/python3

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/ebmpipe" ./cmd/ebmpipe
go build -o "$dir/rawort" ./bench/rawort
go run ./bench/gen -rows "$ROWS" -csv "$dir/in.csv" -npy "$dir/in.npy"

. bench/lib.sh
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

raw=$("$dir/rawort" -model "$MODEL" -input "$dir/in.npy" -batch "$BATCH" -reps "$REPS")
have_torch=0
if [ -x "$PY" ] && "$PY" -c 'import torch, numpy, onnx' 2>/dev/null; then
	have_torch=1
else
	echo "(c) skipped: $PY lacks torch, numpy or onnx (apt-get install python3-torch python3-onnx)" >&2
fi

echo "model $MODEL, $ROWS rows, batch $BATCH, $(nproc) CPUs, best of $REPS"
echo "raw ORT session (in-memory float32 tensors): $raw rows/s"
printf '%-6s %14s %14s %14s %14s %10s %10s %10s\n' format "ort rows/s" "go rows/s" "torch rows/s" "ort wall s" "ort/raw" "ort/go" "ort/torch"
for f in csv npy; do
	ort=$(best "$dir/ebmpipe" score --model "$MODEL" --input "$dir/in.$f" --output "$dir/out.$f" --engine ort --batch-size "$BATCH")
	gos=$(best "$dir/ebmpipe" score --model "$MODEL" --input "$dir/in.$f" --output "$dir/out.$f" --engine go --batch-size "$BATCH")
	torch="-" vs_torch="-"
	if [ "$have_torch" = 1 ]; then
		ts=$(best "$PY" bench/torch_score.py "$MODEL" "$dir/in.$f" "$dir/torch.$f" "$BATCH")
		torch=$(rate "$ts")
		vs_torch=$(ratio "$ts" "$ort")
	fi
	printf '%-6s %14s %14s %14s %14s %10s %10s %10s\n' "$f" "$(rate "$ort")" "$(rate "$gos")" "$torch" "$ort" \
		"$(ratio "$(rate "$ort")" "$raw")" "$(ratio "$gos" "$ort")" "$vs_torch"
done

# CPU time (user + system, all threads), which a loaded machine disturbs
# less than wall time: ebmpipe's whole process against a bare session of
# one intra-op thread, as each of score's workers runs.
leastcpu() {
	local b="" s
	for _ in $(seq "$REPS"); do
		/usr/bin/time -o "$dir/cpu" -f '%U %S' "$@" >/dev/null 2>"$dir/stderr" || { cat "$dir/stderr" >&2; return 1; }
		s=$(awk '{ printf "%.3f", $1 + $2 }' "$dir/cpu")
		if [ -z "$b" ] || awk -v s="$s" -v b="$b" 'BEGIN { exit !(s < b) }'; then b=$s; fi
	done
	echo "$b"
}
if [ -x /usr/bin/time ]; then
	raw1=$("$dir/rawort" -model "$MODEL" -input "$dir/in.npy" -batch "$BATCH" -reps "$REPS" -threads 1 -cpu | awk '{ print $2 }')
	echo "CPU time: bare session, 1 thread: $raw1 rows/cpu-s"
	for f in csv npy; do
		c=$(leastcpu "$dir/ebmpipe" score --model "$MODEL" --input "$dir/in.$f" --output "$dir/out.$f" --engine ort --batch-size "$BATCH")
		echo "CPU time: ebmpipe score ort $f: $c s, $(rate "$c") rows/cpu-s, $(ratio "$(rate "$c")" "$raw1") of the bare session"
	done
fi
