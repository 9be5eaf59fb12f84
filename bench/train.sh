#!/usr/bin/env bash
# Times one training iteration (one energy and one generator Adam step) of
# the toy setup — energy mlp:2-128-128-1, generator mlp:2-128-128-2,
# batch 256 — for every lower × upper bound pair, in float64 and float32,
# in Go (BenchmarkStep in train/bench_test.go) and, in the same run, in
# PyTorch (bench/train_step.py). It prints steps/s and the CPU time of
# the process per step (all threads), which other jobs on the machine
# disturb less than the wall time, with the ratios Go against PyTorch.
# Go and PyTorch alternate: COUNT rounds, each one timing of every Go
# benchmark and then one of every PyTorch pair (A B A B ...), so that a
# change of load hits both sides alike; each figure is the best of the
# COUNT rounds; the header gives the load average at the start and the
# end. The CPU time includes threads waiting for work (OpenBLAS's spin,
# Go's idle processors): for the work alone, run with GOMAXPROCS=1, which
# gives PyTorch one thread too. The
# PyTorch part is skipped, saying so, when /usr/bin/python3 lacks torch
# (apt-get install python3-torch).
#
# PyTorch runs with as many threads as Go has processors (GOMAXPROCS: the
# suffix of the benchmark names, 1 when there is none), or TORCH_THREADS,
# and with OMP_WAIT_POLICY=PASSIVE unless set: on a loaded machine,
# OpenMP's spinning threads otherwise slow PyTorch down several times.
# Debian's python3-torch calls whatever libblas.so.3 the system provides
# (the reference BLAS unless OpenBLAS or BLIS is installed);
# TORCH_BLAS_DIR, directories (colon-separated) holding another
# libblas.so.3 and liblapack.so.3, is put first on PyTorch's
# LD_LIBRARY_PATH: /usr/lib/x86_64-linux-gnu/openblas-pthread for OpenBLAS,
# /usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack for the
# reference BLAS. The header names the BLAS PyTorch loaded.
#
# Go multiplies matrices with OpenBLAS (one thread per product) when its
# header is installed, as `make build` does, else with Gonum; TAGS= forces
# Gonum.
#
# Usage: bench/train.sh
#   env: COUNT=3 (rounds: timings per figure), ITERS=10 (iterations per
#        timing), WARMUP=2 (untimed PyTorch iterations first),
#        PRECISIONS="float64 float32" (the graphs' element types),
#        TORCH_THREADS, TORCH_BLAS_DIR, OMP_WAIT_POLICY
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-3}
ITERS=${ITERS:-10}
WARMUP=${WARMUP:-2}
PY=/usr/bin/python3

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

PRECISIONS=${PRECISIONS:-float64 float32}
precs=$(echo "$PRECISIONS" | tr -s ' ' '|')
TAGS=${TAGS-$(bench/blas_tags.sh)}
echo "Go BLAS: ${TAGS:-gonum}" >&2
go test -tags "$TAGS" -c -o "$dir/train.test" ./train
have_torch=false
if [ -x "$PY" ] && "$PY" -c 'import torch' 2>/dev/null; then
	have_torch=true
fi
load0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$dir/go.txt"
: >"$dir/torch.txt"
for round in $(seq "$COUNT"); do
	for pattern in "BenchmarkStep/.*/.*/^($precs)\$" "BenchmarkStepFakeBounds/^($precs)\$"; do
		(cd train && "$dir/train.test" -test.run '^$' -test.bench "$pattern" \
			-test.benchtime "${ITERS}x") >>"$dir/go.txt" || {
			cat "$dir/go.txt" >&2
			exit 1
		}
	done
	if [ "$round" = 1 ]; then
		# The pairs and the thread count Go ran with, for PyTorch.
		pairs=$(awk '$1 ~ /^BenchmarkStep\// { n = $1; sub(/^BenchmarkStep\//, "", n); sub(/\/[^\/]*$/, "", n)
			if (!seen[n]++) { printf "%s%s", sep, n; sep = "," } }' "$dir/go.txt")
		procs=$(awk '$1 ~ /^BenchmarkStep/ { if (match($1, /-[0-9]+$/)) print substr($1, RSTART + 1); else print 1; exit }' "$dir/go.txt")
		threads=${TORCH_THREADS:-$procs}
	fi
	if $have_torch; then
		OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} \
			LD_LIBRARY_PATH="${TORCH_BLAS_DIR:+$TORCH_BLAS_DIR${LD_LIBRARY_PATH:+:}}${LD_LIBRARY_PATH:-}" \
			"$PY" bench/train_step.py --threads "$threads" --iters "$ITERS" --repeats 1 --warmup "$WARMUP" \
			--pairs "$pairs" --dtypes "$(echo "$PRECISIONS" | tr -s ' ' ',')" >>"$dir/torch.txt"
	fi
done
# go.txt rows: "BenchmarkStep/LOWER/UPPER/PRECISION-PROCS  N  NS ns/op
# CPU cpu-ms/step  RATE steps/s", COUNT of each; go.rows: "LOWER/UPPER
# PRECISION RATE CPU PROCS", the highest rate and the least CPU time, in
# order.
awk '$1 ~ /^BenchmarkStep/ {
	name = $1; procs = 1
	if (match(name, /-[0-9]+$/)) { procs = substr(name, RSTART + 1); name = substr(name, 1, RSTART - 1) }
	sub(/^BenchmarkStep\//, "", name)
	sub(/^BenchmarkStepFakeBounds\//, "floor:fake-bounds/", name)
	if (!(name in rate)) { order[n++] = name; cpu[name] = -1 }
	for (i = 2; i < NF; i++) {
		if ($(i + 1) == "steps/s" && $i + 0 > rate[name] + 0) rate[name] = $i
		if ($(i + 1) == "cpu-ms/step" && (cpu[name] < 0 || $i + 0 < cpu[name])) cpu[name] = $i
	}
}
END {
	for (k = 0; k < n; k++) {
		name = order[k]; prec = name; sub(/\/[^\/]*$/, "", name); sub(/.*\//, "", prec)
		print name, prec, rate[order[k]], cpu[order[k]], procs
	}
}' "$dir/go.txt" >"$dir/go.rows"

# torch.txt rows: "PAIR DTYPE RATE CPU NONFINITE", one per round;
# torch.rows: the highest rate, the least CPU time and the most
# non-finite iterations of each, in order.
: >"$dir/torch.rows"
torch_note="PyTorch: skipped ($PY lacks torch; apt-get install python3-torch)"
if $have_torch; then
	torch_note="$(sed -n '1s/^# //p' "$dir/torch.txt"), OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}, $WARMUP untimed iterations first"
	awk '!/^#/ {
		k = $1 " " $2
		if (!(k in rate)) { order[n++] = k; rate[k] = $3; cpu[k] = $4; bad[k] = $5; next }
		if ($3 + 0 > rate[k] + 0) rate[k] = $3
		if ($4 + 0 < cpu[k] + 0) cpu[k] = $4
		if ($5 + 0 > bad[k] + 0) bad[k] = $5
	}
	END { for (i = 0; i < n; i++) print order[i], rate[order[i]], cpu[order[i]], bad[order[i]] }' "$dir/torch.txt" >"$dir/torch.rows"
else
	echo "$torch_note" >&2
fi

echo "toy step: E mlp:2-128-128-1, G mlp:2-128-128-2, batch 256; $(nproc) CPUs, GOMAXPROCS $procs, load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "best of $COUNT alternating rounds (Go, then PyTorch) of $ITERS iterations; $torch_note"
# table COLUMN: prints, per pair, column COLUMN (3: steps/s, 4: CPU
# ms/step) of go.rows and torch.rows ("LOWER/UPPER DTYPE RATE CPU
# NONFINITE") for float64 and float32, with the ratios, turned so that
# above 1 means Go is faster.
table() {
	awk -v col="$1" -v torch="$dir/torch.rows" '
	BEGIN {
		while ((getline l < torch) > 0) {
			split(l, f, " ")
			pt[f[1], f[2]] = f[col]; bad[f[1], f[2]] = f[5] > 0 ? "*" : ""
		}
	}
	function show(v, mark) { return v == "" ? "-" : sprintf(col == 3 ? "%.2f" : "%.1f", v) mark }
	function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.2f", col == 3 ? a / b : b / a) : "-" }
	{
		if (!($1 in seen)) order[n++] = $1
		seen[$1] = 1; go[$1, $2] = $col
	}
	END {
		for (k = 0; k < n; k++) {
			p = order[k]; line = sprintf("%-26s", p)
			for (j = 1; j <= 2; j++) {
				t = j == 1 ? "float64" : "float32"
				line = line sprintf(" %9s %9s %6s", show(go[p, t]), show(pt[p, t], bad[p, t]), ratio(go[p, t], pt[p, t]))
			}
			print line
		}
	}' "$dir/go.rows"
}
for col in 3 4; do
	echo
	if [ "$col" = 3 ]; then
		echo "steps/s (a step: one energy and one generator update); ratio Go / PyTorch"
	else
		echo "CPU ms per step, all threads; ratio PyTorch / Go"
	fi
	printf '%-26s %9s %9s %6s %9s %9s %6s\n' "lower/upper" "Go f64" "PT f64" "ratio" "Go f32" "PT f32" "ratio"
	table "$col"
done
echo "(ratio > 1: Go is faster; PT: PyTorch)"
if awk '$5 > 0 { found = 1 } END { exit !found }' "$dir/torch.rows"; then
	echo "* some PyTorch iterations had a loss that was not finite: timed, without their Adam step"
fi
