#!/usr/bin/env bash
# Prints the Go build tags the benchmarks build with, by the Makefile's
# rule: openblas where OpenBLAS's cblas.h is installed, else nothing
# (Gonum's kernels).
for h in /usr/include/cblas.h /usr/include/*/cblas.h; do
	if [ -e "$h" ]; then
		echo openblas
		exit 0
	fi
done
