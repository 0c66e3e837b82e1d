#!/usr/bin/env bash
# Measures the committed model on the held-out sets and writes the figures that README.md,
# models/ops-intents/MODEL_CARD.md and models/multilingual-e5-small/MODEL_CARD.md quote:
# - models/ops-intents/heldout-results.json (the summary; nlu/tests/heldout.rs checks that a
#   fresh `nlu eval` still gives these figures, that they stay above the floors, and that the
#   documents quote them);
# - the text between the `<!-- heldout:... -->` markers of those documents.
# usage: scripts/heldout-figures.sh            (about 30 s after the build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-onnxruntime.sh
cargo build -q -p nlu --bin nlu
nlu=${CARGO_TARGET_DIR:-$root/target}/debug/nlu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$nlu" eval --cases tests/data/intents-heldout.jsonl --json >"$tmp/intents.json"
"$nlu" eval --cases tests/data/entities-heldout.jsonl --json >"$tmp/entities.json"
python3 - "$tmp" <<'PY'
import json, re, sys
tmp = sys.argv[1]
def summary(report, keys):
    def pick(m):
        out = {"cases": m["cases"]}
        for k in keys:
            v = m
            for part in k.split("."):
                v = v[part]
            out[k] = round(v, 4)
        return out
    s = {"all": pick(report["overall"])}
    for lang in sorted(report["per_language"]):
        s[lang] = pick(report["per_language"][lang])
    return s
intents = json.load(open(f"{tmp}/intents.json"))
entities = json.load(open(f"{tmp}/entities.json"))
res = {
    "command": "scripts/heldout-figures.sh (nlu eval --cases tests/data/{intents,entities}-heldout.jsonl --json)",
    "intents": summary(intents, ["intent_accuracy", "macro_f1", "out_of_scope.recall", "in_scope_rejected", "expected_calibration_error"]),
    "entities": summary(entities, ["entities.precision", "entities.recall", "entities.f1", "intent_accuracy"]),
}
open("models/ops-intents/heldout-results.json", "w").write(json.dumps(res, indent=2) + "\n")

i, e = res["intents"], res["entities"]
pct = lambda v: f"{v * 100:.1f}%"
names = {"all": "all", "en": "English", "zh": "Chinese"}
table = ["| | cases | intent accuracy | macro F1 | out-of-scope recall | in-scope sent to out-of-scope | ECE |",
         "| --- | --- | --- | --- | --- | --- | --- |"]
for k in ("all", "en", "zh"):
    m = i[k]
    table.append(f"| {names[k]} | {m['cases']} | {pct(m['intent_accuracy'])} | {m['macro_f1']:.3f} | "
                 f"{pct(m['out_of_scope.recall'])} | {pct(m['in_scope_rejected'])} | {m['expected_calibration_error']:.3f} |")
table.append("")
table.append(f"Entities (`tests/data/entities-heldout.jsonl`, {e['all']['cases']} cases): F1 {e['all']['entities.f1']:.3f} "
             f"(English {e['en']['entities.f1']:.3f}, Chinese {e['zh']['entities.f1']:.3f}), precision "
             f"{e['all']['entities.precision']:.3f}, recall {e['all']['entities.recall']:.3f}.")
blocks = {
    "table": "\n".join(table),
    "sentence": (f"intent accuracy {pct(i['all']['intent_accuracy'])} (English {pct(i['en']['intent_accuracy'])}, "
                 f"Chinese {pct(i['zh']['intent_accuracy'])}), out-of-scope recall {pct(i['all']['out_of_scope.recall'])}, "
                 f"in-scope texts sent to out-of-scope {pct(i['all']['in_scope_rejected'])}; entity F1 "
                 f"{e['all']['entities.f1']:.3f} (English {e['en']['entities.f1']:.3f}, Chinese {e['zh']['entities.f1']:.3f})"),
}
for path in ("README.md", "models/ops-intents/MODEL_CARD.md", "models/multilingual-e5-small/MODEL_CARD.md"):
    text = open(path).read()
    for name, body in blocks.items():
        text = re.sub(rf"(<!-- heldout:{name} -->).*?(<!-- /heldout:{name} -->)",
                      lambda m: m.group(1) + body + m.group(2), text, flags=re.S)
    open(path, "w").write(text)
print(blocks["sentence"])
PY
