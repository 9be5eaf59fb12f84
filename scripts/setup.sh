#!/usr/bin/env bash
# Installs what ebmpipe's tests and demo need on a fresh Debian machine that
# has only Go, gcc, node/npm and apt:
#   - libonnx-testdata  the ONNX backend test suite (conformance tests)
#   - python3-onnx      the reference onnx.checker, run on exported models
#                       (export tests; they skip without it)
#   - libopenblas-dev   OpenBLAS, for the matrix products of training
#                       (builds with -tags openblas; see importers/autodiff/openblas.go)
#   - ONNX Runtime      libonnxruntime.so.1 from the npm package onnxruntime-node
#                       (see scripts/install-ort.sh)
# Usage: scripts/setup.sh [test|demo|ort|all]   (default: all)
#   test: libonnx-testdata, python3-onnx and OpenBLAS; demo: OpenBLAS and ONNX Runtime;
#   ort: ONNX Runtime only; all: everything.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}

apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
			return
		fi
		echo "setup: please install the Debian packages: ${missing[*]}" >&2
		return 1
	fi
	echo "setup: installing Debian packages: ${missing[*]}" >&2
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

case "$what" in
test)
	apt_install libonnx-testdata python3-onnx libopenblas-dev
	;;
demo)
	apt_install libopenblas-dev
	scripts/install-ort.sh
	;;
ort)
	scripts/install-ort.sh
	;;
all)
	apt_install libonnx-testdata python3-onnx libopenblas-dev
	scripts/install-ort.sh
	;;
*)
	echo "usage: scripts/setup.sh [test|demo|ort|all]" >&2
	exit 2
	;;
esac
