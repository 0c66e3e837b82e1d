#!/usr/bin/env bash
# Demo job: checks a few endpoints (about 3 seconds) and fails about one run in three
# (seeded by the execution id, so a given run always behaves the same).
set -uo pipefail
env=${JOB_PARAM_ENVIRONMENT:-production}
RANDOM=${JOB_EXECUTION_ID:-1}
bad=""
if [ $((RANDOM % 3)) -eq 0 ]; then
  bad=payment
fi
for svc in api web checkout payment search auth; do
  sleep 0.5
  if [ "$svc" = "$bad" ]; then
    echo "check ${svc}.${env}: FAILED (HTTP 503 after 2.0s)" >&2
  else
    echo "check ${svc}.${env}: ok ($((RANDOM % 80 + 20)) ms)"
  fi
done
if [ -n "$bad" ]; then
  echo "1 of 6 checks failed" >&2
  exit 1
fi
echo "all 6 checks passed"
