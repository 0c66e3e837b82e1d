#!/usr/bin/env bash
# The head design's figures, old (joint: embedding + hashed n-grams) against new (gated: a
# dense-only and the joint model mixed per text by the share of its tokens seen in
# training), written to benches/results/ and rendered by benches/report/make_report.py:
# - head-gated-{snips,banking77,clinc150}.json: `nlu benchmark --head gated` (the joint
#   head's figures are nlu-*.json, measured by run-report.sh before the gate existed; the
#   embeddings are read from the cache, .cache/embeddings, after the first run);
# - head-crosslingual.json: trained on one language of training-data/ only, each head, scored
#   on both languages of tests/data/intents-heldout.jsonl and tests/data/intents-dev.jsonl:
#   the joint and the gated head on the examples as written (`translate = false`), and the
#   gated head with the dictionary translations `nlu train` adds by default to intents that
#   lack a language ("gated+translations").
# usage: benches/head-comparison.sh [--skip-benchmarks]   (env: CARGO_TARGET_DIR)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-onnxruntime.sh
cargo build -q --release -p nlu --bin nlu
nlu=${CARGO_TARGET_DIR:-$root/target}/release/nlu
results=$root/benches/results
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${1:-}" != --skip-benchmarks ]; then
  for ds in snips banking77 clinc150; do
    "$nlu" benchmark --dataset "$ds" --head gated --json > "$results/head-gated-$ds.json"
  done
fi
for lang in en zh; do
  # the examples as written: translations off
  mkdir -p "$tmp/data-$lang"
  cp "training-data/$lang"/*.yml "$tmp/data-$lang/"
  echo 'translate = false' > "$tmp/data-$lang/nlu.toml"
  for head in joint gated gated+translations; do
    case $head in
      gated+translations) data="training-data/$lang"; flag=gated ;;
      *) data="$tmp/data-$lang"; flag=$head ;;
    esac
    "$nlu" train --data "$data" --out "$tmp/$lang-$head" --head "$flag" > /dev/null
    for set in heldout dev; do
      "$nlu" eval --model "$tmp/$lang-$head" --cases "tests/data/intents-$set.jsonl" --json \
        > "$tmp/$lang-$head-$set.json"
    done
  done
done
python3 - "$tmp" "$results/head-crosslingual.json" <<'PY'
import json, sys
tmp, out = sys.argv[1], sys.argv[2]
rows = []
for lang in ("en", "zh"):
    for head in ("joint", "gated", "gated+translations"):
        for s in ("heldout", "dev"):
            r = json.load(open(f"{tmp}/{lang}-{head}-{s}.json"))
            row = {"trained_on": lang, "head": head, "cases": f"tests/data/intents-{s}.jsonl"}
            for l, m in sorted(r["per_language"].items()):
                row[l] = {"cases": m["cases"], "intent_accuracy": round(m["intent_accuracy"], 4),
                          "in_scope_rejected": round(m["in_scope_rejected"], 4)}
            rows.append(row)
json.dump({"command": "benches/head-comparison.sh (nlu train --data training-data/LANG --head HEAD, "
                      "with `translate = false` but for gated+translations; "
                      "nlu eval --cases tests/data/intents-{heldout,dev}.jsonl --json)",
           "runs": rows}, open(out, "w"), indent=2)
open(out, "a").write("\n")
PY
python3 benches/report/make_report.py --no-figures
