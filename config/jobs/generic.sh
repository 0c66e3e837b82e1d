#!/usr/bin/env bash
# Demo job for the remaining templates: prints its parameters and a few steps (about 3 s).
set -euo pipefail
job=${JOB_ID:-job}
echo "${job} #${JOB_EXECUTION_ID:-?} starting"
env | grep '^JOB_PARAM_' | sort | sed 's/^JOB_PARAM_/  param /' || true
for step in prepare execute verify; do
  sleep 1
  echo "${step}: done"
done
echo "${job} finished"
