#!/usr/bin/env bash
# Quick mode of the benchmarks for CI, so that they cannot rot: compiles the criterion
# benches and runs every benchmark for a few iterations, and runs `nlu bench` and the
# benchmark reader tests on a tiny scale. Not a performance measurement (dev profile, tiny
# sample). The full runs are `benches/run-report.sh` and `cargo bench -p nlu`.
#
# Needs ONNX Runtime (scripts/install-onnxruntime.sh, run here if missing). Uses
# $CARGO_TARGET_DIR when set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-onnxruntime.sh
# The dev profile and --workspace: the same profile and the same features as README's
# `cargo test --workspace --all-targets`, so after it only the two bench binaries are
# compiled (with `-p nlu` alone, cargo resolves other features for the shared dependencies
# and compiles them again: 4.7 of the 5 minutes this script took). Building a bench also
# builds the `nlu` binary, with those features.
cargo bench --workspace --profile dev --bench pipeline --bench entities -- \
  --warm-up-time 0.05 --measurement-time 0.1 --sample-size 10
target=${CARGO_TARGET_DIR:-$root/target}
"$target/debug/nlu" bench --rounds 1 --throughput-rounds 1 --threads 2 > /dev/null
echo "benches/ci-quick.sh: criterion benches and nlu bench ran"
