#!/usr/bin/env bash
# The cascade's figures: the sparse head, then the early head on the encoder's first layers,
# answering the texts they are sure of, against the full model on every text (`--full`), each
# pair measured in one run. Writes
# benches/results/cascade.json (and cascade-{snips,banking77,clinc150}.json, the whole
# `nlu benchmark` reports), rendered by benches/report/make_report.py:
# - public benchmarks: `nlu benchmark` scores the test split with the full model and through
#   the cascade (exit thresholds chosen on the validation split, or out of fold on Banking77);
# - ChatOps held-out files: `nlu eval`, with and without `--full`;
# - cross-lingual transfer: trained on training-data/en (or zh) only, `nlu eval` on the
#   held-out and dev intents, with and without `--full`;
# - latency: `nlu bench` on benches/corpus.txt and benches/chat-corpus.txt, with and without
#   `--full` (one thread; throughput on 2), last, so that nothing else runs beside it.
# usage: benches/cascade.sh [--skip-benchmarks]   (about 12 minutes; env: CARGO_TARGET_DIR)
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
    "$nlu" benchmark --dataset "$ds" --json > "$results/cascade-$ds.json"
  done
fi
for set in intents entities robustness; do
  "$nlu" eval --cases "tests/data/$set-heldout.jsonl" --json > "$tmp/ops-$set-cascade.json"
  "$nlu" eval --cases "tests/data/$set-heldout.jsonl" --json --full > "$tmp/ops-$set-full.json"
done
for lang in en zh; do
  "$nlu" train --data "training-data/$lang" --out "$tmp/$lang" > /dev/null
  for set in heldout dev; do
    "$nlu" eval --model "$tmp/$lang" --cases "tests/data/intents-$set.jsonl" --json > "$tmp/$lang-$set-cascade.json"
    "$nlu" eval --model "$tmp/$lang" --cases "tests/data/intents-$set.jsonl" --json --full > "$tmp/$lang-$set-full.json"
  done
done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for corpus in corpus chat-corpus; do
  "$nlu" bench --corpus "benches/$corpus.txt" --threads 2 --rounds 10 --json > "$tmp/bench-$corpus-cascade.json"
  "$nlu" bench --corpus "benches/$corpus.txt" --threads 2 --rounds 10 --json --full > "$tmp/bench-$corpus-full.json"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$tmp" "$results" "$load_before" "$load_after" <<'PY'
import datetime, json, subprocess, sys
tmp, results, load_before, load_after = sys.argv[1:5]
def metrics(m):
    return {"cases": m["cases"], "intent_accuracy": round(m["intent_accuracy"], 4),
            "out_of_scope_recall": round(m["out_of_scope"]["recall"], 4),
            "in_scope_rejected": round(m["in_scope_rejected"], 4),
            "entity_f1": round(m["entities"]["f1"], 4)}
def evals(prefix):
    out = {}
    for mode in ("full", "cascade"):
        r = json.load(open(f"{tmp}/{prefix}-{mode}.json"))
        out[mode] = {"all": metrics(r["overall"]),
                     **{l: metrics(m) for l, m in sorted(r["per_language"].items())},
                     "stages": r.get("stages", {}),
                     "per_stage": {s: metrics(m) for s, m in sorted(r.get("per_stage", {}).items())}}
    return out
def policy(p):
    o = p.get("out_of_scope")
    return {"policy": p["policy"], "accuracy": round(p["accuracy"], 4),
            "in_scope_accuracy": round(p["in_scope_accuracy"], 4),
            "out_of_scope_recall": round(o["recall"], 4) if o else None}
benchmarks = []
for ds in ("snips", "banking77", "clinc150"):
    r = json.load(open(f"{results}/cascade-{ds}.json"))
    for run in r["runs"]:
        c = run.get("cascade")
        if not c:
            continue
        e = c.get("early")
        early = {"layer": e["exit"]["layer"], "threshold": round(e["exit"]["rule"]["threshold"], 3),
                 "calibration_answered": round(e["exit"]["rule"]["calibration"]["answered"], 4),
                 "answered": round(e["answered"], 4)} if e else None
        benchmarks.append({"dataset": ds, "oos_mode": run.get("oos_mode"),
                           "threshold": round(c["rule"]["threshold"], 3),
                           "calibrated_on": run["calibrated_on"],
                           "calibration_answered": round(c["rule"]["calibration"]["answered"], 4),
                           "answered": round(c["answered"], 4), "early": early,
                           "full": policy(run["scores"][0]), "cascade": policy(c["scores"][0])})
latency = []
for corpus in ("corpus", "chat-corpus"):
    for mode in ("cascade", "full"):
        b = json.load(open(f"{tmp}/bench-{corpus}-{mode}.json"))
        pick = lambda l: {k: round(l[k], 3) for k in ("mean_ms", "p50_ms", "p90_ms", "p99_ms")}
        latency.append({"corpus": f"benches/{corpus}.txt", "mode": mode, "texts": b["corpus_texts"],
                        "parse": pick(b["parse"]),
                        "stages": [{"stage": s["stage"], "share": round(s["share"], 4), **pick(s["latency"])}
                                   for s in b["stages"]],
                        "bare_encoder": pick(b["bare"]) if b.get("bare") else None,
                        "parse_over_bare_p50": round(b["overhead_ratio_p50"], 3) if b.get("overhead_ratio_p50") else None,
                        "throughput_per_s": round(b["throughput_per_s"], 1), "threads": b["threads"],
                        "rss_after_load_mib": round(b["rss_after_load_mib"], 1) if b.get("rss_after_load_mib") else None,
                        "peak_rss_threads_mib": round(b["peak_rss_threads_mib"], 1) if b.get("peak_rss_threads_mib") else None})
out = {
    "command": "benches/cascade.sh",
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
    "load_before_latency": load_before, "load_after_latency": load_after,
    "benchmarks": benchmarks,
    "chatops": {s: evals(f"ops-{s}") for s in ("intents", "entities", "robustness")},
    "crosslingual": {f"{lang}-{s}": evals(f"{lang}-{s}") for lang in ("en", "zh") for s in ("heldout", "dev")},
    "latency": latency,
}
json.dump(out, open(f"{results}/cascade.json", "w"), indent=2)
open(f"{results}/cascade.json", "a").write("\n")
PY
echo "wrote $results/cascade.json"
