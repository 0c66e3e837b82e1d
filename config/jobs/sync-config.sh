#!/usr/bin/env bash
# Demo job that runs long (about a minute): pushes configuration host by host. Good for
# trying `cancel`.
set -euo pipefail
env=${JOB_PARAM_ENVIRONMENT:?environment is required}
echo "syncing configuration to ${env} (30 hosts)"
for i in $(seq 1 30); do
  sleep 2
  echo "host ${i}/30: config pushed"
done
echo "configuration of ${env} in sync"
