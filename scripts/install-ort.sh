#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that github.com/yalue/onnxruntime_go
# v1.27.0 expects (ONNX Runtime 1.24.x, C API version 24). The npm package
# onnxruntime-node ships libonnxruntime.so.1 for linux x64 and arm64; we fetch
# the package with `npm pack` (the npm registry is reachable where GitHub
# releases are not) and extract that one file.
#
# Destination (the default place ebmpipe looks, after --ort-lib and
# $EBMPIPE_ORT_LIB): ${XDG_CACHE_HOME:-$HOME/.cache}/ebmpipe/onnxruntime-$VERSION/
set -euo pipefail

VERSION=${ORT_VERSION:-1.24.3}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ebmpipe
dest=$cache/onnxruntime-$VERSION
lib=$dest/libonnxruntime.so.1

if [ -s "$lib" ]; then
	echo "$lib"
	exit 0
fi

case "$(uname -m)" in
x86_64 | amd64) arch=x64 ;;
aarch64 | arm64) arch=arm64 ;;
*)
	echo "install-ort: no prebuilt ONNX Runtime for $(uname -m) in onnxruntime-node; build libonnxruntime.so and pass --ort-lib" >&2
	exit 1
	;;
esac
command -v npm >/dev/null || { echo "install-ort: npm is required" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "install-ort: fetching onnxruntime-node@$VERSION from the npm registry" >&2
(cd "$tmp" && npm pack --silent "onnxruntime-node@$VERSION" >/dev/null)
tar -xzf "$tmp"/onnxruntime-node-"$VERSION".tgz -C "$tmp" "package/bin/napi-v6/linux/$arch/libonnxruntime.so.1"
mkdir -p "$dest"
# Install atomically: a killed run leaves no half-written library.
cp "$tmp/package/bin/napi-v6/linux/$arch/libonnxruntime.so.1" "$dest/.libonnxruntime.so.1.tmp"
mv "$dest/.libonnxruntime.so.1.tmp" "$lib"
echo "$lib"
