#!/usr/bin/env bash
# Baseline (3): Rasa Open Source 3.6.21 with DIETClassifier, trained and scored on the same
# splits as `nlu benchmark`. A documented full-run step, not a CI step: the install takes a
# few minutes (about 2.7 GB with TensorFlow) and training 20 epochs on SNIPS about 12 minutes
# on 2 cores.
#
# usage: benches/baselines/rasa/run.sh [DATASET ...]    (default: snips; also clinc150, banking77)
# env:   RASA_EPOCHS (default 100, as in `rasa init`'s config; the committed results used 20), PYTHON310 (a python3.10; default: pyenv's 3.10)
# writes benches/results/rasa-DATASET.json; works in .cache/rasa/ (gitignored)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
venv="$root/.cache/rasa-venv"
epochs=${RASA_EPOCHS:-100}
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
if [ ! -x "$venv/bin/rasa" ]; then
  py=${PYTHON310:-}
  if [ -z "$py" ]; then
    if command -v pyenv >/dev/null && pyenv prefix 3.10 >/dev/null 2>&1; then
      py="$(pyenv prefix 3.10)/bin/python"
    else
      py=$(ls -d "$HOME"/.pyenv/versions/3.10.*/bin/python 2>/dev/null | tail -1)
    fi
  fi
  [ -x "$py" ] || { echo "rasa/run.sh: no Python 3.10 (install one with pyenv, or set PYTHON310)" >&2; exit 1; }
  "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
mkdir -p "$root/benches/results"
for ds in "${@:-snips}"; do
  work="$root/.cache/rasa/$ds"
  rm -rf "$work"
  "$venv/bin/python" "$here/convert.py" --dataset "$ds" --out "$work" --epochs "$epochs"
  start=$(date +%s.%N)
  (cd "$work" && "$venv/bin/rasa" train nlu --config config.yml --nlu train.yml --out models \
      --fixed-model-name diet) > "$work/train.log" 2>&1 || { tail -30 "$work/train.log" >&2; exit 1; }
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc)
  echo "rasa: trained $ds in ${secs}s"
  "$venv/bin/python" "$here/evaluate.py" --model "$work/models/diet.tar.gz" --dataset "$ds" \
      --train-seconds "$secs" --epochs "$epochs" --out "$root/benches/results/rasa-$ds.json" > /dev/null
  echo "rasa: wrote benches/results/rasa-$ds.json"
done
