#!/usr/bin/env bash
# README's run command: the bot in the terminal with the demo configuration (local job
# execution, SQLite in .cache/bot/, job scripts in config/jobs/). Extra arguments go to
# `bot chat`, e.g. --user alice, or --config FILE for another configuration.
#
# The build uses the dev profile, whose dependencies and the nlu crate are optimized
# (see Cargo.toml), so parsing is fast and the build is shared with ./scripts/test.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
./scripts/install-onnxruntime.sh
exec cargo run --quiet -p bot -- chat --config config/demo.toml "$@"
