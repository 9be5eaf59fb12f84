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
#   - bench/train_step.py --run (the same iterations in PyTorch, with as
#     many threads as GOMAXPROCS, OMP_WAIT_POLICY=PASSIVE unless set) as a
#     whole process for STEPS iterations and for 1, alternating with the
#     ebmpipe processes (ebmpipe 1, PyTorch 1, ebmpipe STEPS, PyTorch
#     STEPS, COUNT rounds); skipped, saying so, when /usr/bin/python3
#     lacks torch;
# and prints them with the ratio command / step (1: the command loses
# nothing to the loop around the step) and the ratios PyTorch / ebmpipe
# of the whole processes and per step (above 1: ebmpipe is faster). The
# CPU times are the measure other jobs on the machine disturb least; the
# header gives the load average at the start, the end line at the end.
#
# The environment reaches ebmpipe and the benchmark unchanged: set
# OPENBLAS_NUM_THREADS=2 to see that it no longer matters
# (EBMPIPE_BLAS_THREADS does). PyTorch gets OMP_NUM_THREADS and
# OPENBLAS_NUM_THREADS set to GOMAXPROCS.
#
# Usage: bench/train_cmd.sh
#   env: STEPS=200, COUNT=2, PROCS="1 2", TAGS (default: openblas when its
#        header is installed, as the Makefile), OMP_WAIT_POLICY
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

PY=/usr/bin/python3
have_torch=false
if [ -x "$PY" ] && "$PY" -c 'import torch' 2>/dev/null; then
	have_torch=true
else
	echo "PyTorch: skipped ($PY lacks torch; apt-get install python3-torch)" >&2
fi

# timed SIDE N PROCS: runs SIDE (go: ebmpipe train; torch:
# bench/train_step.py --run) for N iterations on PROCS threads and appends
# "SIDE N WALL CPU" (seconds) to $dir/times.
timed() {
	local side=$1 n=$2 procs=$3 w u s
	rm -rf "$dir/out"
	if [ "$side" = go ]; then
		GOMAXPROCS=$procs /usr/bin/time -o "$dir/time" -f '%e %U %S' "$dir/ebmpipe" train \
			--data toy:8gaussians --energy mlp:2-128-128-1:silu --generator mlp:2-128-128-2:silu \
			--lower jacobian-exact --upper gp --batch-size 256 --recipe paper --steps "$n" --out "$dir/out" >/dev/null 2>"$dir/err"
	else
		OMP_NUM_THREADS=$procs OPENBLAS_NUM_THREADS=$procs OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} \
			/usr/bin/time -o "$dir/time" -f '%e %U %S' "$PY" bench/train_step.py --threads "$procs" \
			--run "$n" --out "$dir/out" >/dev/null 2>"$dir/err"
	fi || {
		cat "$dir/err" >&2
		exit 1
	}
	read -r w u s <"$dir/time"
	awk -v side="$side" -v n="$n" -v w="$w" -v u="$u" -v s="$s" 'BEGIN { print side, n, w, u + s }' >>"$dir/times"
}

# least SIDE N: the least wall and the least CPU seconds of SIDE's runs of
# N iterations in $dir/times.
least() {
	awk -v side="$1" -v n="$2" '$1 == side && $2 == n {
		if (w == "" || $3 < w) w = $3
		if (c == "" || $4 < c) c = $4
	} END { print w, c }' "$dir/times"
}

echo "ebmpipe train, issue 16's configuration; Go BLAS: ${TAGS:-gonum}; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset} EBMPIPE_BLAS_THREADS=${EBMPIPE_BLAS_THREADS:-unset}; least of $COUNT timings; ms per iteration"
printf '%-6s %-20s %9s %9s %9s %9s\n' procs "" wall "wall/step" CPU "CPU/step"
for p in $PROCS; do
	: >"$dir/times"
	for _ in $(seq "$COUNT"); do
		for n in 1 "$STEPS"; do
			timed go "$n" "$p"
			if $have_torch; then timed torch "$n" "$p"; fi
		done
	done
	read -r w1 c1 < <(least go 1)
	read -r wn cn < <(least go "$STEPS")
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
	if $have_torch; then
		read -r tw1 tc1 < <(least torch 1)
		read -r twn tcn < <(least torch "$STEPS")
		awk -v p="$p" -v n="$STEPS" -v w1="$tw1" -v c1="$tc1" -v wn="$twn" -v cn="$tcn" \
			-v gw1="$w1" -v gc1="$c1" -v gwn="$wn" -v gcn="$cn" 'BEGIN {
			cw = (wn - w1) * 1e3 / (n - 1); cc = (cn - c1) * 1e3 / (n - 1)
			gw = (gwn - gw1) * 1e3 / (n - 1); gc = (gcn - gc1) * 1e3 / (n - 1)
			printf "%-6s %-20s %8.2fs %9s %8.2fs %9s\n", p, "PyTorch, 1 it", w1, "", c1, ""
			printf "%-6s %-20s %8.2fs %9.1f %8.2fs %9.1f\n", p, "PyTorch, " n " it", wn, cw, cn, cc
			printf "%-6s %-20s %9.2f %9.2f %9.2f %9.2f\n", p, "PyTorch/ebmpipe", wn / gwn, cw / gw, cn / gcn, cc / gc
		}'
	fi
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(process per step: (T($STEPS) - T(1)) / $((STEPS - 1)); ratio process/step > 1: the command is slower per step than the benchmark's step;"
echo " PyTorch/ebmpipe: whole processes of $STEPS iterations (wall, CPU columns) and per step; > 1: ebmpipe is faster)"
