#!/usr/bin/env bash
# README's test command: prepares the runtime and the Python parity environment, then runs
# every test of the workspace. Works on a fresh machine with the Rust toolchain and python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
./scripts/setup-test-env.sh
cargo test --workspace --all-targets "$@"
