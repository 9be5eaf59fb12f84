#!/usr/bin/env bash
# Times the whole `ebmpipe train` process beside the step BenchmarkStep
# times, on issue 16's configuration:
#
#   ebmpipe train --data toy:8gaussians --energy mlp:2-128-128-1:silu \
#     --generator mlp:2-128-128-2:silu --lower jacobian-exact --upper gp \
#     --batch-size 256 --recipe paper
#
# (every other option at its default; the paper's recipe was the default
# when issue 16 was reported), for each GOMAXPROCS in PROCS. Per
# setting it runs, COUNT times each and keeping the least:
#   - the process for STEPS iterations and for 1, so that the fixed costs
#     (start, data, graphs, export, plots) drop out: per step =
#     (T(STEPS) − T(1)) / (STEPS − 1), in wall time and in CPU time (user +
#     system, all threads, from /usr/bin/time);
#   - BenchmarkCommand (train/bench_test.go), in the same run: its step
#     (the iteration alone, as BenchmarkStep times it) and its run
#     (Trainer.Run: metrics rows, checkpoints and export included);
# and prints them with the ratio command / step (1: the command loses
# nothing to the loop around the step). The CPU times are the measure
# other jobs on the machine disturb least.
#
# The environment reaches both sides unchanged: set OPENBLAS_NUM_THREADS=2
# to see that it no longer matters (EBMPIPE_BLAS_THREADS does).
#
# Usage: bench/train_cmd.sh
#   env: STEPS=200, COUNT=2, PROCS="1 2", TAGS (default: openblas when its
#        header is installed, as the Makefile)
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS=${STEPS:-200}
COUNT=${COUNT:-2}
PROCS=${PROCS:-"1 2"}
if [ "$STEPS" -lt 2 ]; then
	echo "STEPS=$STEPS: need at least 2" >&2
	exit 2
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

TAGS=${TAGS-$(bench/blas_tags.sh)}
go build -tags "$TAGS" -o "$dir/ebmpipe" ./cmd/ebmpipe
go test -tags "$TAGS" -c -o "$dir/train.test" ./train

# best N PROCS: runs the command for N iterations COUNT times and prints
# the least wall and the least CPU seconds.
best() {
	local n=$1 procs=$2 wall=-1 cpu=-1 w c
	for _ in $(seq "$COUNT"); do
		rm -rf "$dir/out"
		GOMAXPROCS=$procs /usr/bin/time -o "$dir/time" -f '%e %U %S' "$dir/ebmpipe" train \
			--data toy:8gaussians --energy mlp:2-128-128-1:silu --generator mlp:2-128-128-2:silu \
			--lower jacobian-exact --upper gp --batch-size 256 --recipe paper --steps "$n" --out "$dir/out" >/dev/null 2>"$dir/err" || {
			cat "$dir/err" >&2
			exit 1
		}
		read -r w u s <"$dir/time"
		c=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
		wall=$(awk -v a="$wall" -v b="$w" 'BEGIN { print (a < 0 || b < a) ? b : a }')
		cpu=$(awk -v a="$cpu" -v b="$c" 'BEGIN { print (a < 0 || b < a) ? b : a }')
	done
	echo "$wall $cpu"
}

echo "ebmpipe train, issue 16's configuration; Go BLAS: ${TAGS:-gonum}; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset} EBMPIPE_BLAS_THREADS=${EBMPIPE_BLAS_THREADS:-unset}; least of $COUNT timings; ms per iteration"
printf '%-6s %-20s %9s %9s %9s %9s\n' procs "" wall "wall/step" CPU "CPU/step"
for p in $PROCS; do
	read -r w1 c1 < <(best 1 "$p")
	read -r wn cn < <(best "$STEPS" "$p")
	(cd train && GOMAXPROCS=$p "$dir/train.test" -test.run '^$' -test.bench '^BenchmarkCommand$' \
		-test.benchtime "${STEPS}x" -test.count "$COUNT") >"$dir/bench.txt"
	awk -v p="$p" -v n="$STEPS" -v w1="$w1" -v c1="$c1" -v wn="$wn" -v cn="$cn" '
	$1 ~ /^BenchmarkCommand\// {
		name = $1; sub(/^BenchmarkCommand\//, "", name); sub(/-[0-9]+$/, "", name)
		for (i = 2; i < NF; i++) {
			if ($(i + 1) == "ns/op" && (!(name in wall) || $i / 1e6 < wall[name])) wall[name] = $i / 1e6
			if ($(i + 1) == "cpu-ms/step" && (!(name in cpu) || $i + 0 < cpu[name])) cpu[name] = $i
		}
	}
	END {
		cw = (wn - w1) * 1e3 / (n - 1); cc = (cn - c1) * 1e3 / (n - 1)
		printf "%-6s %-20s %9s %9.1f %9s %9.1f\n", p, "BenchmarkCommand/step", "", wall["step"], "", cpu["step"]
		printf "%-6s %-20s %9s %9.1f %9s %9.1f\n", p, "BenchmarkCommand/run", "", wall["run"], "", cpu["run"]
		printf "%-6s %-20s %8.2fs %9s %8.2fs %9s\n", p, "process, 1 it", w1, "", c1, ""
		printf "%-6s %-20s %8.2fs %9.1f %8.2fs %9.1f\n", p, "process, " n " it", wn, cw, cn, cc
		printf "%-6s %-20s %9s %9.2f %9s %9.2f\n", p, "ratio process/step", "", cw / wall["step"], "", cc / cpu["step"]
	}' "$dir/bench.txt"
done
echo "(process per step: (T($STEPS) - T(1)) / $((STEPS - 1)); ratio > 1: the command is slower per step than the benchmark's step)"
