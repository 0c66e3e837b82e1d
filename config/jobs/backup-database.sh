#!/usr/bin/env bash
# Demo job: pretends to back up a database host, printing progress for about 4 seconds.
# Parameters arrive as environment variables (JOB_PARAM_TARGET, JOB_PARAM_COMPRESSION).
set -euo pipefail
target=${JOB_PARAM_TARGET:?target is required}
compression=${JOB_PARAM_COMPRESSION:-zstd}
echo "backing up ${target} (compression: ${compression}) as run #${JOB_EXECUTION_ID:-?}"
for pct in 10 25 40 55 70 85 100; do
  sleep 0.5
  echo "progress ${pct}% ($((pct * 42 / 10)) MiB copied)"
done
echo "backup written to /backups/${target}/$(date -u +%Y%m%dT%H%M%SZ).sql.${compression}"
