# Helpers sourced by the benchmark scripts; they use $dir (a scratch
# directory), $REPS and $ROWS.

# best CMD...: runs CMD $REPS times and prints the shortest wall time in s.
best() {
	local b="" t0 t1 s
	for _ in $(seq "$REPS"); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>"$dir/stderr" || { cat "$dir/stderr" >&2; return 1; }
		t1=$(date +%s%N)
		s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
		if [ -z "$b" ] || awk -v s="$s" -v b="$b" 'BEGIN { exit !(s < b) }'; then b=$s; fi
	done
	echo "$b"
}

# rate SECONDS: $ROWS rows in SECONDS, as rows/s.
rate() { awk -v n="$ROWS" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
