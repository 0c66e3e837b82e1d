#!/usr/bin/env bash
# Prepares what the test suite needs beyond the Rust toolchain:
# - ONNX Runtime's shared library (scripts/install-onnxruntime.sh);
# - a Python virtual environment in .cache/test-venv with the pinned packages of
#   tests/python/requirements.txt, for the Rust/Python parity test;
# - the Synapse Matrix homeserver (pinned, from PyPI) in .cache/synapse-venv, for the Matrix
#   adapter's tests (bot/tests/matrix*.rs; about 20 s and 240 MB the first time);
# - the opsdroid chat framework (pinned, from PyPI) in .cache/opsdroid-venv, a real client of
#   `nlu serve`'s Rasa-compatible HTTP API (nlu/tests/serve_opsdroid.rs);
# - nginx (Debian's package, through apt-get; as root or with sudo), the load balancer of the
#   scale-out test (nlu/tests/serve_nginx.rs, which starts it on loopback itself);
# - OpenSSH's server, and its client when `ssh` is missing (Debian's openssh-server and
#   openssh-client packages, through apt-get; as root or with sudo), for the SSH job tests
#   (bot/tests/common/sshd.rs starts its own sshd instances on loopback; the package's system
#   service is not needed, and where the machine runs services apt-get may start and enable it).
# Idempotent; needs python3 with pip and access to PyPI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-onnxruntime.sh"
venv="$root/.cache/test-venv"
stamp="$venv/.requirements"
if [ ! -f "$stamp" ] || ! cmp -s "$stamp" "$root/tests/python/requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tests/python/requirements.txt"
  cp "$root/tests/python/requirements.txt" "$stamp"
fi

synapse_version=1.163.2
synapse_venv="$root/.cache/synapse-venv"
if [ "$(cat "$synapse_venv/.version" 2>/dev/null)" != "$synapse_version" ]; then
  python3 -m venv "$synapse_venv"
  "$synapse_venv/bin/pip" install --quiet --disable-pip-version-check "matrix-synapse==$synapse_version"
  echo "$synapse_version" > "$synapse_venv/.version"
fi

opsdroid_version=0.31.0
opsdroid_venv="$root/.cache/opsdroid-venv"
if [ "$(cat "$opsdroid_venv/.version" 2>/dev/null)" != "$opsdroid_version" ]; then
  python3 -m venv "$opsdroid_venv"
  "$opsdroid_venv/bin/pip" install --quiet --disable-pip-version-check "opsdroid==$opsdroid_version"
  echo "$opsdroid_version" > "$opsdroid_venv/.version"
fi

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx
fi

if [ ! -x /usr/sbin/sshd ]; then
  ssh_packages="openssh-server"
  command -v ssh >/dev/null 2>&1 || ssh_packages="$ssh_packages openssh-client"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $ssh_packages
fi
