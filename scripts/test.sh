#!/usr/bin/env bash
# README's test command: prepares the runtime and the Python parity environment, then runs
# every test of the workspace. Works on a fresh machine with the Rust toolchain and python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# the bot crate's layering: no import cycle may grow while it is untangled (issue 20's check)
python3 scripts/layers.py --max-cycle-modules 0 >/dev/null || python3 scripts/layers.py --max-cycle-modules 0

# The environment (ONNX Runtime, the Python venvs, nginx and sshd) is prepared while the
# tests compile: the compiler needs none of it, and the downloads mostly wait on the
# network. On a fresh machine that hides most of the setup's 7 minutes.
setup_log=$(mktemp)
trap 'rm -f "$setup_log"' EXIT
# (in a process group of its own, so that a failed build stops it and its pip and apt-get)
setsid ./scripts/setup-test-env.sh >"$setup_log" 2>&1 &
setup=$!
if ! cargo test --workspace --all-targets --no-run "$@"; then
  kill -- -"$setup" 2>/dev/null || true
  wait "$setup" 2>/dev/null || true
  exit 1
fi
if ! wait "$setup"; then
  cat "$setup_log" >&2
  echo "scripts/test.sh: scripts/setup-test-env.sh failed (its output is above)" >&2
  exit 1
fi
cat "$setup_log"

cargo test --workspace --all-targets "$@"
# the examples in the documentation (--all-targets leaves doctests out)
cargo test --workspace --doc "$@"
# the same model on the pure-Rust tract backend, against Python's onnxruntime
cargo test -p nlu --no-default-features --features tract --test tract_parity "$@"
