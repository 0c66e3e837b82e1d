#!/usr/bin/env bash
# README's test command: prepares the runtime and the Python parity environment, then runs
# every test of the workspace. Works on a fresh machine with the Rust toolchain and python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# the bot crate's layering: no import cycle may grow while it is untangled (issue 20's check)
python3 scripts/layers.py --max-cycle-modules 0 >/dev/null || python3 scripts/layers.py --max-cycle-modules 0
./scripts/setup-test-env.sh
cargo test --workspace --all-targets "$@"
# the examples in the documentation (--all-targets leaves doctests out)
cargo test --workspace --doc "$@"
# the same model on the pure-Rust tract backend, against Python's onnxruntime
cargo test -p nlu --no-default-features --features tract --test tract_parity "$@"
