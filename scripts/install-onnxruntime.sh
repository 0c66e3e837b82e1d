#!/usr/bin/env bash
# Installs the ONNX Runtime shared library the `nlu` crate loads at run time
# (libonnxruntime.so.1.31.1) from the PyPI wheel onnxruntime==1.31.1 into .runtime/.
# Needs only python3 with pip; takes a few seconds; does nothing when it is already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target="$root/.runtime"
lib="$target/onnxruntime/capi/libonnxruntime.so.1.31.1"
if [ -f "$lib" ]; then
  exit 0
fi
python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$target" onnxruntime==1.31.1
if [ ! -f "$lib" ]; then
  echo "install-onnxruntime: $lib missing after install" >&2
  exit 1
fi
echo "ONNX Runtime 1.31.1 installed at $lib"
