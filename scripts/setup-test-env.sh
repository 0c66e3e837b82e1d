#!/usr/bin/env bash
# Prepares what the test suite needs beyond the Rust toolchain:
# - ONNX Runtime's shared library (scripts/install-onnxruntime.sh);
# - a Python virtual environment in .cache/test-venv with the pinned packages of
#   tests/python/requirements.txt, for the Rust/Python parity test.
# Idempotent; needs python3 with pip and access to PyPI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-onnxruntime.sh"
venv="$root/.cache/test-venv"
stamp="$venv/.requirements"
if [ ! -f "$stamp" ] || ! cmp -s "$stamp" "$root/tests/python/requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tests/python/requirements.txt"
  cp "$root/tests/python/requirements.txt" "$stamp"
fi
