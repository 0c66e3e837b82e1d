#!/usr/bin/env bash
# Regenerates benches/REPORT.md and benches/figures/*.png, measuring everything on this
# machine: `nlu bench` (3 runs, medians), `nlu benchmark` on CLINC150 (both out-of-scope
# modes), SNIPS and Banking77, the Python baselines (onnxruntime latency, TF-IDF + logistic
# regression), criterion's per-stage benches, then renders the report. Rasa is a separate
# step (benches/baselines/rasa/run.sh); its results in benches/results/rasa-*.json are
# included when present.
#
# usage: benches/run-report.sh [--skip-accuracy] [--skip-criterion] [--runs N]
# env:   NLU_DATASETS (default datasets/, vendored), CARGO_TARGET_DIR
# Takes ~25 minutes on 2 cores. Run it on an otherwise idle machine if you can.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
skip_acc=0 skip_crit=0 runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-accuracy) skip_acc=1 ;;
    --skip-criterion) skip_crit=1 ;;
    --runs) runs=$2; shift ;;
    *) echo "usage: $0 [--skip-accuracy] [--skip-criterion] [--runs N]" >&2; exit 2 ;;
  esac
  shift
done
datasets=${NLU_DATASETS:-$root/datasets}
target=${CARGO_TARGET_DIR:-$root/target}
results=$root/benches/results
mkdir -p "$results"
scripts/install-onnxruntime.sh
py=$(benches/baselines/setup.sh)
cargo build --release -p nlu --bin nlu
nlu="$target/release/nlu"

machine() {
  python3 - "$@" <<'PY'
import json, os, platform, subprocess, sys, datetime
out = sys.argv[1]
d = json.load(open(out)) if os.path.exists(out) and len(sys.argv) > 2 else {}
load = open("/proc/loadavg").read().split()[:3]
if len(sys.argv) > 2:
    d["load_after"] = " ".join(load)
else:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
    d = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "cpu": cpu, "cores": os.cpu_count(), "memory": f"{int(mem) / 1048576:.0f} GiB RAM",
        "os": f"{platform.system()} {platform.release()}", "load_before": " ".join(load),
    }
json.dump(d, open(out, "w"), indent=2)
PY
}

machine "$results/machine.json"
echo "== nlu bench x$runs"
# 20 passes over the corpus (800 interleaved parse/bare pairs per run): with the default 5, the
# p50-over-p50 overhead ratio moved between 0.95 and 1.15 from run to run on this busy machine
for i in $(seq 1 "$runs"); do
  "$nlu" bench --threads 2 --rounds 20 --json > "$results/bench-run$i.json"
done
echo "== Python onnxruntime latency"
"$py" benches/baselines/ort_latency.py --out "$results/ort-python.json" > /dev/null
machine "$results/machine.json" after

if [ "$skip_acc" = 0 ]; then
  echo "== nlu benchmark"
  "$nlu" benchmark --dataset snips --path "$datasets/snips_jointbert" --json > "$results/nlu-snips.json"
  "$nlu" benchmark --dataset banking77 --path "$datasets/banking77" --json > "$results/nlu-banking77.json"
  "$nlu" benchmark --dataset clinc150 --path "$datasets/clinc150" --json > "$results/nlu-clinc150.json"
  echo "== TF-IDF baseline"
  for ds in snips banking77 clinc150; do
    folder=$ds; [ "$ds" = snips ] && folder=snips_jointbert
    "$py" benches/baselines/tfidf.py --dataset "$ds" --path "$datasets/$folder" --out "$results/tfidf-$ds.json" > /dev/null
  done
fi

if [ "$skip_crit" = 0 ]; then
  echo "== criterion"
  cargo bench -p nlu --bench pipeline -- --warm-up-time 1 --measurement-time 4
  "$py" benches/report/criterion_estimates.py "$target" "$results/criterion.json"
fi

"$py" benches/report/make_report.py
