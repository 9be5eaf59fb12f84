#!/usr/bin/env bash
# Benchmarks `ebmpipe score --runner prism` (the Apache Beam pipeline, run
# in-process by Beam's prism runner) against the streaming `ebmpipe score`
# on the same rows: ROWS 2-D rows split into FILES CSV files for the
# pipeline, and the same rows in one CSV file for the streaming scorer.
# Prints rows/s of each (best of $REPS whole-process runs), their ratio,
# and the pipeline's extra time per row.
#
# Usage: bench/beam_score.sh   (env: ROWS=1000000 FILES=20 BATCH=1024
#                               ENGINE=ort REPS=3 MODEL=...)
# The README's figures: ROWS=10000000 REPS=1 bench/beam_score.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-1000000}
FILES=${FILES:-20}
BATCH=${BATCH:-1024}
ENGINE=${ENGINE:-ort}
REPS=${REPS:-3}
MODEL=${MODEL:-testdata/torch/energy_silu.onnx}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/ebmpipe" ./cmd/ebmpipe
go run ./bench/gen -rows "$ROWS" -csv "$dir/all.csv"
mkdir "$dir/parts"
# FILES files of whole lines; the first keeps the header line.
split -n "l/$FILES" -d -a 3 --additional-suffix=.csv "$dir/all.csv" "$dir/parts/part-"

# The fixed cost of each scorer: the same FILES files cut to their first
# rows.
mkdir "$dir/tiny"
for f in "$dir"/parts/*.csv; do head -n 3 "$f" >"$dir/tiny/${f##*/}"; done

. bench/lib.sh

stream=$(best "$dir/ebmpipe" score --model "$MODEL" --input "$dir/all.csv" --output "$dir/out.csv" \
	--engine "$ENGINE" --batch-size "$BATCH")
prism=$(best "$dir/ebmpipe" score --runner prism --model "$MODEL" --input "$dir/parts/*.csv" \
	--output "$dir/out/scores" --engine "$ENGINE" --batch-size "$BATCH")
# The two must agree on the rows: same count, same energies as a multiset.
n_stream=$(($(wc -l <"$dir/out.csv") - 1))
n_prism=$(cat "$dir"/out/scores-*.csv | grep -vc '^energy')
[ "$n_stream" = "$ROWS" ] && [ "$n_prism" = "$ROWS" ] ||
	{ echo "row counts differ: streaming $n_stream, prism $n_prism, want $ROWS" >&2; exit 1; }
if ! cmp -s <(tail -n +2 "$dir/out.csv" | sort) <(cat "$dir"/out/scores-*.csv | grep -v '^energy' | sort); then
	echo "the scores differ" >&2
	exit 1
fi

stream0=$(best "$dir/ebmpipe" score --model "$MODEL" --input "$dir/tiny/part-000.csv" --output "$dir/out.csv" \
	--engine "$ENGINE" --batch-size "$BATCH")
prism0=$(best "$dir/ebmpipe" score --runner prism --model "$MODEL" --input "$dir/tiny/*.csv" \
	--output "$dir/out/scores" --engine "$ENGINE" --batch-size "$BATCH")
echo "model $MODEL, $ROWS rows (prism: $FILES CSV files), engine $ENGINE, batch $BATCH, $(nproc) CPUs, best of $REPS"
printf '%-28s %12s %10s\n' scorer "rows/s" "wall s"
printf '%-28s %12s %10s\n' "score (streaming, 1 file)" "$(rate "$stream")" "$stream"
printf '%-28s %12s %10s\n' "score --runner prism" "$(rate "$prism")" "$prism"
echo "fixed cost (a few rows): streaming ${stream0} s, prism ${prism0} s"
awk -v a="$stream" -v b="$prism" -v a0="$stream0" -v b0="$prism0" -v n="$ROWS" 'BEGIN {
	printf "prism / streaming: %.2f; per row, beyond the fixed costs: streaming %.0f ns, prism %.0f ns (+%.0f ns)\n",
		a / b, (a - a0) / n * 1e9, (b - b0) / n * 1e9, ((b - b0) - (a - a0)) / n * 1e9 }'
