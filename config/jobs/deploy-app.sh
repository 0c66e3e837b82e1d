#!/usr/bin/env bash
# Demo job: a rolling deployment in a few visible steps (about 5 seconds).
set -euo pipefail
app=${JOB_PARAM_APP:?app is required}
env=${JOB_PARAM_ENVIRONMENT:?environment is required}
version=${JOB_PARAM_VERSION:-latest}
echo "deploying ${app} ${version} to ${env}"
echo "pulling image registry.example/${app}:${version}"; sleep 1
for i in 1 2 3; do
  echo "rolling out replica ${i}/3"; sleep 1
done
echo "health check passed; ${app} ${version} is live in ${env}"
