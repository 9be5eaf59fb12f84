# Sourced (with no arguments) by bench/study.sh and bench/fixedgen.sh: takes
# NAME DATA SEED STEPS off the caller's arguments (printing the caller's
# usage, lines 2–24 of its header, when there are fewer than four), leaving
# the training flags in "$@", and builds the ebmpipe and bench/study
# binaries named by BIN and STUDY (default bin/ebmpipe, bin/study) if they
# are missing.
[ $# -ge 4 ] || { sed -n '2,24p' "$0" >&2; exit 2; }
name=$1 data=$2 seed=$3 steps=$4
shift 4
bin=${BIN:-bin/ebmpipe}
study=${STUDY:-bin/study}
[ -x "$bin" ] || go build -tags openblas -o "$bin" ./cmd/ebmpipe
[ -x "$study" ] || go build -tags openblas -o "$study" ./bench/study
