"""Regenerates benches/REPORT.md and benches/figures/*.png from benches/results/*.json.

The results are written by benches/run-report.sh (which calls this script last); running this
script alone re-renders the committed results.

usage: make_report.py [--results benches/results] [--out benches/REPORT.md]
"""

import argparse
import json
import re
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PUBLISHED = {
    "clinc150": "BERT fine-tuned (Larson et al. 2019): 96.2% in-scope / 52.3% out-of-scope recall "
    "with a threshold; 96.9% / 40.3% with out-of-scope as a trained class",
    "snips": "Joint BERT (Chen et al. 2019): 98.6% intent accuracy",
    "banking77": "BERT-large: 93.7% accuracy",
}
PUBLISHED_ROWS = {
    ("clinc150", "threshold"): (96.2, 52.3),
    ("clinc150", "class"): (96.9, 40.3),
    ("snips", None): 98.6,
    ("banking77", None): 93.7,
}



def rasa_epochs(result):
    """The epochs a Rasa result was trained with, from its `engine` string."""
    m = re.search(r"\((\d+) epochs", result.get("engine", ""))
    return m.group(1) if m else "?"

def load(path):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None


def pct(x, digits=1):
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def num(x, fmt="{:.2f}"):
    return "–" if x is None else fmt.format(x)


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def figures(res, figdir, bench_runs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figdir.mkdir(parents=True, exist_ok=True)
    made = []
    # 1. latency distribution
    ort_py = res.get("ort-python")
    if bench_runs:
        b = bench_runs[0]
        fig, ax = plt.subplots(figsize=(8, 4.2))
        series = [("nlu parse (Rust)", b["parse_samples_ms"]), ("bare ORT session (Rust)", b["bare_samples_ms"])]
        if ort_py:
            series.append(("Python onnxruntime: tokenize + run", ort_py["tokenize_and_run_samples_ms"]))
        hi = max(max(s) for _, s in series if s)
        for name, s in series:
            if not s:
                continue
            xs = sorted(s)
            ys = [(i + 1) / len(xs) for i in range(len(xs))]
            ax.step(xs, ys, where="post", label=f"{name} (p50 {statistics.median(xs):.1f} ms)")
        ax.set_xscale("log")
        ax.set_xlabel("latency per text, ms (log scale)")
        ax.set_ylabel("fraction of texts")
        ax.set_title(f"Single-thread latency over the fixed corpus ({b['corpus_texts']} texts x rounds)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(figdir / "latency.png", dpi=110)
        plt.close(fig)
        made.append("latency.png")
    # 2. confusion pairs
    panels = []
    for key, title in [("nlu-clinc150", "CLINC150 (out-of-scope as a class, argmax)"), ("nlu-banking77", "Banking77"), ("nlu-snips", "SNIPS")]:
        r = res.get(key)
        if not r:
            continue
        run = next((x for x in r["runs"] if x.get("oos_mode") in (None, "class")), r["runs"][0])
        argmax = next((p for p in run["scores"] if p["policy"] == "argmax"), None)
        pairs = (argmax or {}).get("confusions") or run["confusions"]
        pairs = pairs[:12]
        if pairs:
            panels.append((title, pairs))
    if panels:
        fig, axes = plt.subplots(len(panels), 1, figsize=(10.5, 3.6 * len(panels)))
        axes = axes if len(panels) > 1 else [axes]
        for ax, (title, pairs) in zip(axes, panels):
            labels = [f"{a} → {b}" for a, b, _ in pairs][::-1]
            counts = [n for _, _, n in pairs][::-1]
            ax.barh(range(len(pairs)), counts, color="#c0504d")
            ax.set_yticks(range(len(pairs)))
            ax.set_yticklabels(labels, fontsize=7)
            ax.set_xlabel("test errors (expected → got)")
            ax.set_title(title, fontsize=10)
        fig.tight_layout()
        fig.savefig(figdir / "confusions.png", dpi=110)
        plt.close(fig)
        made.append("confusions.png")
    # 3. reliability diagrams
    rel = []
    for key, title in [("nlu-clinc150", "CLINC150"), ("nlu-snips", "SNIPS"), ("nlu-banking77", "Banking77")]:
        r = res.get(key)
        if not r:
            continue
        for run in r["runs"]:
            name = title + (f" ({run['oos_mode']})" if run.get("oos_mode") else "")
            rel.append((name, run["reliability"]))
    if rel:
        fig, ax = plt.subplots(figsize=(5.5, 5))
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        for name, bins in rel:
            pts = [(b["confidence"], b["accuracy"]) for b in bins if b["count"] >= 10]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=4, label=name)
        ax.set_xlabel("mean top-1 confidence in bin")
        ax.set_ylabel("accuracy in bin")
        ax.set_title("Reliability of calibrated confidences (test splits)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
        fig.savefig(figdir / "reliability.png", dpi=110)
        plt.close(fig)
        made.append("reliability.png")
    return made


def tagger_section(w, tagger, ds):
    """The entity tagger's slot scores (benches/results/tagger-DS.json), then the hand-written
    record of its design (benches/report/tagger.md)."""
    slots = tagger["slots"]
    t = slots["scores"]["all"]
    w("#### Slots: the entity tagger")
    w("")
    w("The same run of `nlu benchmark --dataset snips` trains the entity tagger on the training split's "
      f"slot annotations (`seq.out`, {slots['types']} types; the BIO tags become character spans of the text) "
      "the way `nlu train` does, saves it as `tagger.onnx`, and scores the test split through that graph. "
      "Exact span and type, micro-averaged, as conlleval counts:")
    w("")
    w("| system | precision | recall | F1 | train time |")
    w("|---|---|---|---|---|")
    w("| **nlu** tagger (token states of layers 4, 8, 12; a hidden layer of 192 over 3-token windows and the "
      "sentence's mean state; 3-token windows of it give each piece's tag scores; trained as a linear-chain CRF "
      "under the BIO constraints, decoded by Viterbi with the learnt transition scores) | "
      f"{pct(t['precision'])} | {pct(t['recall'])} | **{100 * t['f1']:.1f}** | {slots['fit_seconds']:.0f} s fit "
      f"(the token states come from the embedding pass: {tagger['texts_embedded']:,} texts in {tagger['embed_seconds']:.0f} s) |")
    w(f"| the same, on the validation split | | | {100 * slots['val_f1']:.1f} | |")
    w("| published: Joint BERT (fine-tuned, Chen et al. 2019) | | | 97.0 | |")
    w("")
    w(f"Command: `{tagger['command']}` (its `slots` part, in `benches/results/tagger-{ds}.json`); measured {tagger['measured']}.")
    w("")
    include_fragment(w, "tagger.md")


def include_fragment(w, name):
    """Writes benches/report/NAME (a hand-written record, without its leading HTML comment),
    when it exists."""
    fragment = ROOT / "benches" / "report" / name
    if not fragment.exists():
        return
    text = fragment.read_text(encoding="utf-8")
    body = text.split("-->", 1)[1].strip() if text.startswith("<!--") else text.strip()
    for line in body.splitlines():
        w(line)
    w("")


def cascade_section(w, c):
    """The cascade (benches/results/cascade.json, from benches/cascade.sh): latency per stage and
    accuracy against the full model, then the hand-written record of its design
    (benches/report/cascade.md)."""
    w("## The cascade: the encoder only where it is needed")
    w("")
    w(f"Measured by `{c['command']}` on {c['date']} at commit `{c['commit']}`; load average {c['load_before_latency']} "
      f"before the latency runs and {c['load_after_latency']} after (2 cores; nothing else of ours ran beside them). "
      "Each pair of rows comes from one command with and without `--full`, so the ratio is steadier than the milliseconds.")
    w("")
    w("### Latency, one thread, by the stage that answered")
    w("")
    w("| corpus | mode | stage | share | mean ms | p50 ms | p90 ms | p99 ms | p50 / bare encoder p50 | texts/s on 2 threads | RSS after load |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for l in c["latency"]:
        p = l["parse"]
        ratio = l["parse_over_bare_p50"]
        w(f"| `{l['corpus']}` ({l['texts']} texts) | {l['mode']} | **all** | 100% | {p['mean_ms']:.2f} | **{p['p50_ms']:.2f}** | "
          f"{p['p90_ms']:.2f} | {p['p99_ms']:.2f} | {ratio if ratio is not None else '-'} | {l['throughput_per_s']:.0f} | "
          f"{num(l['rss_after_load_mib'], '{:.0f}')} MiB |")
        if l["mode"] == "cascade":
            for st in l["stages"]:
                w(f"| | | {st['stage']} | {pct(st['share'])} | {st['mean_ms']:.2f} | {st['p50_ms']:.2f} | {st['p90_ms']:.2f} | {st['p99_ms']:.2f} | | | |")
        b = l.get("bare_encoder")
        if b and l["mode"] == "full":
            w(f"| | | bare encoder run (same tokens) | | {b['mean_ms']:.2f} | {b['p50_ms']:.2f} | {b['p90_ms']:.2f} | {b['p99_ms']:.2f} | | | |")
    w("")
    w("### Accuracy: the cascade against the full model")
    w("")
    w("Public benchmarks (`nlu benchmark`; the exit threshold is chosen on the validation split, on Banking77 out of fold "
      "on the training split; the headline policy of each run):")
    w("")
    w("| dataset | thresholds (sparse / early) | answered by the sparse head (calibration / test) | answered by the early head (calibration / test) | accuracy full → cascade | in-scope accuracy full → cascade | out-of-scope recall full → cascade |")
    w("|---|---|---|---|---|---|---|")
    for r in c["benchmarks"]:
        f, k = r["full"], r["cascade"]
        name = r["dataset"] + (f" (out-of-scope as {r['oos_mode']}, {f['policy']})" if r["oos_mode"] else f" ({f['policy']})")
        early = r.get("early")
        early_share = f"{pct(early['calibration_answered'])} / **{pct(early['answered'])}**" if early else "-"
        thresholds = f"{r['threshold']} / {early['threshold']}" if early else f"{r['threshold']} / -"
        rec = (f"{pct(f['out_of_scope_recall'])} → {pct(k['out_of_scope_recall'])} "
               f"({100 * (k['out_of_scope_recall'] - f['out_of_scope_recall']):+.1f})") if f["out_of_scope_recall"] is not None else "-"
        w(f"| {name} | {thresholds} | {pct(r['calibration_answered'])} / **{pct(r['answered'])}** | {early_share} | "
          f"{pct(f['accuracy'])} → {pct(k['accuracy'])} ({100 * (k['accuracy'] - f['accuracy']):+.2f}) | "
          f"{pct(f['in_scope_accuracy'])} → {pct(k['in_scope_accuracy'])} ({100 * (k['in_scope_accuracy'] - f['in_scope_accuracy']):+.2f}) | {rec} |")
    w("")
    w("ChatOps held-out files and cross-lingual transfer (`nlu eval`, with and without `--full`):")
    w("")
    w("| cases | model | answered by the sparse / early / full stage (the accuracy of each on its texts) | intent accuracy full → cascade | out-of-scope recall full → cascade | in-scope rejected full → cascade | entity F1 full → cascade |")
    w("|---|---|---|---|---|---|---|")
    rows = [(f"tests/data/{k}-heldout.jsonl", "ops-intents", v) for k, v in c["chatops"].items()]
    for key, v in c["crosslingual"].items():
        lang, s = key.split("-")
        rows.append((f"tests/data/intents-{s}.jsonl", f"trained on training-data/{lang} only", v))
    for cases, model, v in rows:
        st = v["cascade"]["stages"]
        total = sum(st.values()) or 1
        share = " / ".join(pct(st.get(s, 0) / total) for s in ("sparse", "early", "full"))
        per = v["cascade"].get("per_stage") or {}
        if per:
            share += " (" + " / ".join(pct(per[s]["intent_accuracy"]) if s in per else "-" for s in ("sparse", "early", "full")) + ")"
        groups = [("all", v["full"]["all"], v["cascade"]["all"])]
        groups += [(l, v["full"][l], v["cascade"][l]) for l in ("en", "zh") if l in v["full"]]
        for g, f, k in groups:
            w(f"| `{cases}` ({g}, {f['cases']}) | {model} | {share if g == 'all' else ''} | "
              f"{pct(f['intent_accuracy'])} → {pct(k['intent_accuracy'])} | {pct(f['out_of_scope_recall'])} → {pct(k['out_of_scope_recall'])} | "
              f"{pct(f['in_scope_rejected'])} → {pct(k['in_scope_rejected'])} | {f['entity_f1']:.3f} → {k['entity_f1']:.3f} |")
    w("")
    include_fragment(w, "cascade.md")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=str(ROOT / "benches" / "results"))
    ap.add_argument("--out", default=str(ROOT / "benches" / "REPORT.md"))
    ap.add_argument("--no-figures", action="store_true")
    a = ap.parse_args()
    rdir = Path(a.results)
    res = {p.stem: load(p) for p in sorted(rdir.glob("*.json"))}
    bench_runs = [res[k] for k in sorted(res) if k.startswith("bench-run")]
    machine = res.get("machine") or {}
    made = [] if a.no_figures else figures(res, ROOT / "benches" / "figures", bench_runs)

    L = []
    w = L.append
    w("# Benchmarks: speed, size and accuracy of `nlu`")
    w("")
    w("<!-- generated by benches/report/make_report.py from benches/results/*.json; do not edit by hand -->")
    w("")
    w(f"Measured on {machine.get('date', '?')} at commit `{machine.get('commit', '?')}`, on "
      f"{machine.get('cpu', '?')} ({machine.get('cores', '?')} cores, {machine.get('memory', '?')}), "
      f"{machine.get('os', '')}. Load average when the speed runs started: {machine.get('load_before', '?')}; "
      f"after: {machine.get('load_after', '?')}.")
    w("")
    w("**Caveats.** This is a small shared machine (2 cores) on which other jobs ran at the same time, so "
      "absolute timings are noisy: every speed figure is the median of "
      f"{len(bench_runs) or 'several'} runs of `nlu bench`, and each run itself takes the percentiles over "
      "every corpus text several times. Ratios measured within one run (parse against the bare model run, "
      "interleaved text by text) are steadier than absolute milliseconds. Accuracy figures are deterministic "
      "up to floating-point summation order (fixed seeds, no sampling). Published figures are quoted from "
      "the papers, not re-measured.")
    w("")

    # ---------- headline
    b = {}
    if bench_runs:
        keys = ["load_ms", "reload_ms", "throughput_per_s", "throughput_1_thread_per_s",
                "rss_after_load_mib", "peak_rss_single_thread_mib", "peak_rss_threads_mib",
                "overhead_ratio_p50", "overhead_ratio_median_per_text"]
        b = {k: med([r.get(k) for r in bench_runs]) for k in keys}
        for part in ["parse", "bare", "tokenize", "parse_interleaved"]:
            for q in ["p50_ms", "p90_ms", "p99_ms", "mean_ms"]:
                b[f"{part}.{q}"] = med([(r.get(part) or {}).get(q) for r in bench_runs])
        b["threads"] = bench_runs[0]["threads"]
        b["corpus"] = bench_runs[0]["corpus_texts"]

    def run_of(ds, mode=None):
        r = res.get(f"nlu-{ds}")
        if not r:
            return None
        return next((x for x in r["runs"] if x.get("oos_mode") == mode), None)

    def policy(run, name):
        return next((s for s in run["scores"] if s["policy"] == name), None) if run else None

    w("## Headline figures")
    w("")
    w("| figure | value |")
    w("|---|---|")
    ct = policy(run_of("clinc150", "threshold"), "fallback_val_accuracy")
    ctb = policy(run_of("clinc150", "threshold"), "fallback")
    cc = policy(run_of("clinc150", "class"), "argmax")
    if ct:
        w(f"| CLINC150, out-of-scope by threshold: in-scope accuracy / out-of-scope recall | "
          f"{pct(ct['in_scope_accuracy'])} / {pct(ct['out_of_scope']['recall'])} (threshold maximizing validation accuracy); "
          f"{pct(ctb['in_scope_accuracy'])} / {pct(ctb['out_of_scope']['recall'])} (threshold maximizing in-scope accuracy + out-of-scope recall) |")
    if cc:
        w(f"| CLINC150, out-of-scope as a class: in-scope accuracy / out-of-scope recall | "
          f"{pct(cc['in_scope_accuracy'])} / {pct(cc['out_of_scope']['recall'])} (argmax, the literature's setting) |")
    for ds, name in [("snips", "SNIPS"), ("banking77", "Banking77")]:
        p = policy(run_of(ds), "argmax")
        if p:
            w(f"| {name} intent accuracy | {pct(p['accuracy'])} |")
        tagger = (res.get(f"tagger-{ds}") or {}).get("slots")
        if tagger:
            t = tagger["scores"]["all"]
            w(f"| {name} slots (entity tagger): precision / recall / F1, exact span and type | "
              f"{pct(t['precision'])} / {pct(t['recall'])} / {100 * t['f1']:.1f} (Joint BERT: 97.0) |")
    if b:
        w(f"| `parse` latency of the full model (every text through the encoder; `bench-run*.json`), 1 thread, p50 / p99 | {num(b['parse.p50_ms'])} ms / {num(b['parse.p99_ms'])} ms |")
        w(f"| overhead: `parse` p50 / bare ONNX Runtime encoder run p50 (same tokens) | {num(b['overhead_ratio_p50'], '{:.3f}')} "
          f"(median per-text ratio {num(b['overhead_ratio_median_per_text'], '{:.3f}')}) |")
        w(f"| throughput on {b['threads']} threads | {num(b['throughput_per_s'], '{:.0f}')} texts/s "
          f"({num(b['throughput_1_thread_per_s'], '{:.0f}')} on 1 thread) |")
        w(f"| memory of a loaded parser (peak RSS, 1 thread / {b['threads']} threads) | "
          f"{num(b['peak_rss_single_thread_mib'], '{:.0f}')} MiB / {num(b['peak_rss_threads_mib'], '{:.0f}')} MiB |")
        w(f"| model load (first, with ONNX Runtime / again) | {num(b['load_ms'], '{:.0f}')} ms / {num(b['reload_ms'], '{:.0f}')} ms |")
    for l in (res.get("cascade") or {}).get("latency", []):
        if l["mode"] == "cascade":
            share = lambda name: next((st["share"] for st in l["stages"] if st["stage"] == name), 0)
            w(f"| the cascade on `{l['corpus']}`: `parse` p50 / p99, share answered by the sparse head / by the early head, texts/s on 2 threads | "
              f"{l['parse']['p50_ms']:.2f} ms / {l['parse']['p99_ms']:.2f} ms, {pct(share('sparse'))} / {pct(share('early'))}, {l['throughput_per_s']:.0f} "
              f"(p50 / bare encoder p50: {l['parse_over_bare_p50']}; see *The cascade*) |")
    w("")

    # ---------- targets
    if b:
        w("### Targets")
        w("")
        w("| target | measured | met |")
        w("|---|---|---|")
        r = b["overhead_ratio_p50"]
        w(f"| single-thread `parse` p50 within 10% of the bare model run on the same input | ratio {num(r, '{:.3f}')} | {'yes' if r and r <= 1.10 else 'no'} |")
        m = b["peak_rss_single_thread_mib"]
        w(f"| peak memory of a loaded parser under 250 MB | {num(m, '{:.0f}')} MiB ({num(m * 1.048576 if m else None, '{:.0f}')} MB) | {'yes' if m and m * 1.048576 < 250 else 'no'} |")
        l = b["load_ms"]
        w(f"| model load under 1 s | {num(l, '{:.0f}')} ms | {'yes' if l and l < 1000 else 'no'} |")
        w("| no allocation-heavy work per parse that a profile shows | see *Where the time goes* | see there |")
        w("")

    if res.get("cascade"):
        cascade_section(w, res["cascade"])

    # ---------- speed
    w("## Speed and size")
    w("")
    if b:
        w(f"`nlu bench` over the fixed corpus `benches/corpus.txt` ({b['corpus']} texts: short and long, English "
          "and Chinese), one ONNX Runtime intra-op thread per session, medians over runs:")
        w("")
        w("| what (1 thread) | p50 ms | p90 ms | p99 ms | mean ms |")
        w("|---|---|---|---|---|")
        for part, name in [("parse", "`Parser::parse` (tokenize, encoder, head, decision)"),
                           ("parse_interleaved", "`Parser::parse`, interleaved with the bare run"),
                           ("bare", "bare `ort` session of `encoder.onnx` on the same token ids (Rust)"),
                           ("tokenize", "tokenization alone (Rust: `tokenizers` pipeline, compact Unigram model)")]:
            w(f"| {name} | {num(b[part + '.p50_ms'])} | {num(b[part + '.p90_ms'])} | {num(b[part + '.p99_ms'])} | {num(b[part + '.mean_ms'])} |")
        py = res.get("ort-python")
        if py:
            for part, name in [("tokenize_and_run", "Python onnxruntime + tokenizers: tokenize and run (no head)"),
                               ("run_only", "Python onnxruntime: run on pre-tokenized ids")]:
                l = py[part]
                w(f"| {name} | {num(l['p50_ms'])} | {num(l['p90_ms'])} | {num(l['p99_ms'])} | {num(l['mean_ms'])} |")
        for ds in ["snips", "clinc150", "banking77"]:
            t = res.get(f"tfidf-{ds}")
            if t:
                l = t[0]["latency"]
                w(f"| TF-IDF + logistic regression (scikit-learn), one query, {ds} model | {num(l['p50_ms'])} | {num(l['p90_ms'])} | {num(l['p99_ms'])} | {num(l['mean_ms'])} |")
        for ds in ["snips", "clinc150", "banking77"]:
            rr = res.get(f"rasa-{ds}")
            if rr:
                l = rr["latency"]
                w(f"| Rasa 3.6.21 DIET `Agent.parse_message`, {ds} model (test texts) | {num(l['p50_ms'])} | {num(l['p90_ms'])} | {num(l['p99_ms'])} | {num(l['mean_ms'])} |")
        w("")
        w("The Rust and Python encoder rows run the same texts. The TF-IDF and Rasa rows run the test split of their dataset "
          "(shorter English texts), so compare them as orders of magnitude.")
        w("")
        w("| size and throughput | value |")
        w("|---|---|")
        w(f"| `parse` / bare run, p50 over p50 | {num(b['overhead_ratio_p50'], '{:.3f}')} |")
        w(f"| `parse` / bare run, median of per-text ratios | {num(b['overhead_ratio_median_per_text'], '{:.3f}')} |")
        w(f"| throughput, 1 thread | {num(b['throughput_1_thread_per_s'], '{:.1f}')} texts/s |")
        w(f"| throughput, {b['threads']} threads | {num(b['throughput_per_s'], '{:.1f}')} texts/s |")
        w(f"| resident memory after load | {num(b['rss_after_load_mib'], '{:.0f}')} MiB |")
        w(f"| peak resident memory, 1 thread | {num(b['peak_rss_single_thread_mib'], '{:.0f}')} MiB |")
        w(f"| peak resident memory, {b['threads']} threads (one encoder session each, sharing the weights) | {num(b['peak_rss_threads_mib'], '{:.0f}')} MiB |")
        w(f"| model load, first in the process (includes loading ONNX Runtime) | {num(b['load_ms'], '{:.0f}')} ms |")
        w(f"| model load, again | {num(b['reload_ms'], '{:.0f}')} ms |")
        if py:
            w(f"| Python onnxruntime: load / RSS after load (interpreter included) | {num(py['load_ms'], '{:.0f}')} ms / {num(py['rss_after_load_mib'], '{:.0f}')} MiB |")
        for ds in ["snips", "clinc150", "banking77"]:
            rr = res.get(f"rasa-{ds}")
            if rr:
                w(f"| Rasa DIET ({ds}): load / RSS after load | {num(rr['load_seconds'] * 1000, '{:.0f}')} ms / {num(rr['rss_after_load_mib'], '{:.0f}')} MiB |")
        w("")
        w("Individual `nlu bench` runs (p50 ms / p99 ms / ratio / throughput):  " + "; ".join(
            f"{r['parse']['p50_ms']:.2f} / {r['parse']['p99_ms']:.2f} / {r['overhead_ratio_p50']:.3f} / {r['throughput_per_s']:.0f}"
            for r in bench_runs))
        w("")
    crit = res.get("criterion")
    if crit:
        w("### Criterion (per stage)")
        w("")
        w("`cargo bench -p nlu --bench pipeline`; median of criterion's estimate, microseconds:")
        w("")
        inputs = ["en_short", "zh_short", "en_long", "zh_long"]
        w("| benchmark | " + " | ".join(inputs) + " |")
        w("|---|" + "---|" * len(inputs))
        for group in ["tokenize", "encoder", "head", "sparse_head", "parse", "parse_cascade", "overhead/bare_ort", "overhead/parse"]:
            row = [crit.get(f"{group}/{i}") for i in inputs]
            if any(v is not None for v in row):
                w(f"| {group} | " + " | ".join(num(v / 1e3 if v else None, '{:.1f}') for v in row) + " |")
        if crit.get("parse_batch/mixed_32"):
            w(f"| parse_batch (32 mixed texts, {machine.get('cores', '?')} threads) | {num(crit['parse_batch/mixed_32'] / 1e3, '{:.0f}')} µs per batch | | | |")
        ratios = [crit.get(f"overhead/parse/{i}") / crit.get(f"overhead/bare_ort/{i}")
                  for i in inputs if crit.get(f"overhead/parse/{i}") and crit.get(f"overhead/bare_ort/{i}")]
        if ratios:
            w("")
            w("Overhead ratio from criterion (parse / bare_ort): " + ", ".join(
                f"{i} {r:.3f}" for i, r in zip(inputs, ratios)))
        w("")
    prof = (ROOT / "benches" / "results" / "profile.md")
    w("### Where the time goes")
    w("")
    if prof.exists():
        w(prof.read_text().strip())
    else:
        w("(no profile recorded)")
    w("")

    # ---------- accuracy
    w("## Accuracy on public benchmarks")
    w("")
    w("Ours: the frozen multilingual-e5-small encoder (int8) with the head trained by `nlu benchmark` (logistic "
      "regression over the sentence embedding and hashed token n-grams, L-BFGS), calibrated by temperature scaling "
      "on the validation split (Banking77 has none: 5-fold out-of-fold predictions on train), scored on the test "
      "split through the saved ONNX head with the parser's decision rule. The *threshold* rows reject when the top "
      "calibrated probability is below a threshold chosen on the validation split (3,000 in-scope + 100 "
      "out-of-scope queries), either to maximize plain accuracy there (the conservative point, comparable to the "
      "literature's) or to maximize in-scope accuracy plus out-of-scope recall (weighting the two equally); *argmax* rows never reject (the literature's setting for closed-set accuracy and "
      "for out-of-scope as a trained class).")
    w("")
    w("### CLINC150 (`data_full.json`: 15,000 train / 3,100 val / 5,500 test incl. 1,000 out-of-scope)")
    w("")
    w("| system | out-of-scope | in-scope accuracy | out-of-scope recall | out-of-scope precision | train time |")
    w("|---|---|---|---|---|---|")
    labels = {
        ("threshold", "fallback_val_accuracy"): "threshold {t:.3f}, max. val accuracy",
        ("threshold", "fallback"): "threshold {t:.3f}, max. val in-scope acc. + OOS recall",
        ("class", "argmax"): "trained class",
        ("class", "fallback_val_accuracy"): "trained class + threshold {t:.3f}, max. val accuracy",
        ("class", "fallback"): "trained class + threshold {t:.3f}, max. val in-scope acc. + OOS recall",
    }
    for (mode, pol), how in labels.items():
        p = policy(run_of("clinc150", mode), pol)
        if p:
            run = run_of("clinc150", mode)
            w(f"| **nlu** (this report) | {how.format(t=p['fallback'])} | {pct(p['in_scope_accuracy'])} | {pct(p['out_of_scope']['recall'])} | "
              f"{pct(p['out_of_scope']['precision'])} | {run['fit_seconds']:.0f} s fit (+ embedding) |")
    t = res.get("tfidf-clinc150")
    if t:
        for run in t:
            mode = run["oos_mode"]
            for pol in (["fallback_val_accuracy", "fallback"] if mode == "threshold" else ["argmax"]):
                p = run["scores"].get(pol)
                if not p:
                    continue
                how = labels[(mode, pol)].format(t=p["fallback"])
                w(f"| TF-IDF word+char n-grams + LR (scikit-learn) | {how} | {pct(p['in_scope_accuracy'])} | "
                  f"{pct(p.get('oos_recall'))} | {pct(p.get('oos_precision'))} | {run['fit_seconds']:.0f} s |")
    rr = res.get("rasa-clinc150")
    if rr:
        p = rr["scores"]
        w(f"| Rasa 3.6.21 DIET, {rasa_epochs(rr)} epochs | trained class | {pct(p['in_scope_accuracy'])} | {pct(p.get('oos_recall'))} | "
          f"{pct(p.get('oos_precision'))} | {rr['train_seconds']:.0f} s |")
    w("| BERT fine-tuned, published (Larson et al. 2019) | threshold | 96.2% | 52.3% | – | – |")
    w("| BERT fine-tuned, published (Larson et al. 2019) | trained class | 96.9% | 40.3% | – | – |")
    w("")
    for ds, title, n in [("snips", "SNIPS (Joint-BERT split: 13,084 train / 700 dev / 700 test, 7 intents)", "98.6% (Joint BERT, Chen et al. 2019)"),
                         ("banking77", "Banking77 (10,003 train / 3,080 test, 77 intents)", "93.7% (BERT-large)")]:
        w(f"### {title}")
        w("")
        w("| system | accuracy | macro-F1 | train time |")
        w("|---|---|---|---|")
        run = run_of(ds)
        if run:
            p = policy(run, "argmax")
            w(f"| **nlu** (this report) | {pct(p['accuracy'])} | {p['macro_f1']:.3f} | {run['fit_seconds']:.0f} s fit + embedding |")
            pf = policy(run, "fallback")
            w(f"| nlu with its fallback policy (threshold {pf['fallback']:.3f}; rejections count as errors) | {pct(pf['accuracy'])} | {pf['macro_f1']:.3f} | |")
        t = res.get(f"tfidf-{ds}")
        if t:
            p = t[0]["scores"]["argmax"]
            w(f"| TF-IDF word+char n-grams + LR (scikit-learn) | {pct(p['accuracy'])} | – | {t[0]['fit_seconds']:.0f} s |")
        rr = res.get(f"rasa-{ds}")
        if rr:
            w(f"| Rasa 3.6.21 DIET, {rasa_epochs(rr)} epochs | {pct(rr['scores']['accuracy'])} | – | {rr['train_seconds']:.0f} s |")
        w(f"| published | {n} | – | – |")
        w("")
        tagger = res.get(f"tagger-{ds}")
        if tagger:
            tagger_section(w, tagger, ds)
    # training cost
    rows = []
    for ds in ["clinc150", "snips", "banking77"]:
        r = res.get(f"nlu-{ds}")
        if r:
            fits = ", ".join(f"{x['fit_seconds']:.0f} s" + (f" ({x['oos_mode']})" if x.get("oos_mode") else "") for x in r["runs"])
            rows.append(f"| {ds} | {r['texts_embedded']} | {r['embed_seconds']:.0f} s | {fits} |")
    if rows:
        w("### Training cost of `nlu benchmark` (2 cores)")
        w("")
        w("| dataset | texts embedded (train+val+test) | embedding | head fit (incl. calibration) |")
        w("|---|---|---|---|")
        L.extend(rows)
        w("")
        w("Wall times on the shared machine, which vary with the other jobs (see the caveats). Each text is "
          "embedded alone, on all cores; independent heads (CLINC150's two out-of-scope settings, Banking77's "
          "calibration folds) are fitted side by side.")
        w("")
    cal = []
    for ds in ["clinc150", "snips", "banking77"]:
        r = res.get(f"nlu-{ds}")
        if r:
            for x in r["runs"]:
                head = policy(x, "argmax")
                cal.append(f"| {ds}{' (' + x['oos_mode'] + ')' if x.get('oos_mode') else ''} | {x['temperature']:.2f} | "
                           f"{x['heldout_ece_before']:.3f} → {x['heldout_ece_after']:.3f} | {head['expected_calibration_error']:.3f} |")
    if cal:
        w("### Calibration")
        w("")
        w("| model | temperature | held-out ECE before → after scaling | test ECE (argmax) |")
        w("|---|---|---|---|")
        L.extend(cal)
        w("")
    rasa_note = (ROOT / "benches" / "results" / "rasa-notes.md")
    w("### Rasa")
    w("")
    if rasa_note.exists():
        w(rasa_note.read_text().strip())
    else:
        w("Rasa's figures come from `benches/baselines/rasa/run.sh` (see *Reproduce*).")
    w("")

    # ---------- head design
    cross = res.get("head-crosslingual")
    gated = {ds: res.get(f"head-gated-{ds}") for ds in ["clinc150", "snips", "banking77"]}
    if cross or any(gated.values()):
        w("## Head design: the joint head against the gated head")
        w("")
        w("The head above (*joint*: one logistic regression over the sentence embedding and 8,192 hashed "
          "token uni/bigram slots) learns the training language's words: trained on one language, the n-gram "
          "weights swamp the multilingual embedding for the other. The *gated* head adds a second logistic "
          "regression over the embedding alone, calibrates each on its own, and mixes their logits per text by "
          "the share of the text's tokens that occur in the training data (g = clip((share - 0.25) / 0.35, 0, 1); "
          "`dense + g (joint - dense)`), inside the ONNX graph. In-language texts get the joint model; texts in "
          "a language the training data lacks get the dense one.")
        w("")
    if any(gated.values()):
        w("### Public benchmarks, joint (above) and gated")
        w("")
        w("| benchmark | figure | joint | gated |")
        w("|---|---|---|---|")
        def both(ds, mode, pol, key):
            old = policy(run_of(ds, mode), pol)
            r = gated.get(ds)
            run = next((x for x in r["runs"] if x.get("oos_mode") == mode), None) if r else None
            new = policy(run, pol)
            get = lambda p: None if not p else (p["out_of_scope"]["recall"] if key == "oos" else p[key])
            return pct(get(old)), pct(get(new))
        for ds, mode, pol, key, name in [
            ("clinc150", "threshold", "fallback_val_accuracy", "in_scope_accuracy", "CLINC150 threshold (max. val accuracy): in-scope accuracy"),
            ("clinc150", "threshold", "fallback_val_accuracy", "oos", "CLINC150 threshold (max. val accuracy): out-of-scope recall"),
            ("clinc150", "threshold", "fallback", "in_scope_accuracy", "CLINC150 threshold (max. in-scope acc. + OOS recall): in-scope accuracy"),
            ("clinc150", "threshold", "fallback", "oos", "CLINC150 threshold (max. in-scope acc. + OOS recall): out-of-scope recall"),
            ("clinc150", "class", "argmax", "in_scope_accuracy", "CLINC150 trained class: in-scope accuracy"),
            ("clinc150", "class", "argmax", "oos", "CLINC150 trained class: out-of-scope recall"),
            ("snips", None, "argmax", "accuracy", "SNIPS accuracy"),
            ("banking77", None, "argmax", "accuracy", "Banking77 accuracy"),
        ]:
            old_v, new_v = both(ds, mode, pol, key)
            w(f"| {ds} | {name} | {old_v} | {new_v} |")
        w("")
        w("Gated figures: `benches/head-comparison.sh` (`nlu benchmark --dataset D --head gated`, embeddings read "
          "from the cache `.cache/embeddings` that the first run writes; results in "
          "`benches/results/head-gated-*.json`).")
        w("")
    if cross:
        w("### Cross-lingual transfer on the ChatOps data")
        w("")
        w("Trained on one language of `training-data/` only (`nlu train --data training-data/en --head H`), "
          "scored on both languages of the held-out file and of the dev file (intent accuracy; an out-of-scope "
          "case is right when rejected; in brackets the share of in-scope cases rejected):")
        w("")
        w("| trained on | head | cases | English | Chinese | other / trained language |")
        w("|---|---|---|---|---|---|")
        for r in cross["runs"]:
            other = "zh" if r["trained_on"] == "en" else "en"
            cell = lambda l: f"{pct(r[l]['intent_accuracy'])} ({pct(r[l]['in_scope_rejected'])})" if l in r else "–"
            ratio = (r[other]["intent_accuracy"] / r[r["trained_on"]]["intent_accuracy"]
                     if other in r and r[r["trained_on"]]["intent_accuracy"] else None)
            w(f"| {r['trained_on']} | {r['head']} | `{r['cases']}` | {cell('en')} | {cell('zh')} | "
              f"{'–' if ratio is None else f'{ratio:.2f}'} |")
        w("")
        w(f"Command: `{cross['command']}`.")
        w("")
    include_fragment(w, "head.md")

    # ---------- figures
    if made or any((ROOT / "benches" / "figures" / f).exists() for f in ["latency.png", "confusions.png", "reliability.png"]):
        w("## Figures")
        w("")
        w("Latency distribution (single thread, every corpus text, every round):")
        w("")
        w("![latency](figures/latency.png)")
        w("")
        w("The confusion pairs that matter (most frequent test errors, expected → got):")
        w("")
        w("![confusions](figures/confusions.png)")
        w("")
        w("Reliability diagram of the calibrated top-1 confidences on the test splits (bins with ≥ 10 texts):")
        w("")
        w("![reliability](figures/reliability.png)")
        w("")

    # ---------- reproduce
    w("## Reproduce")
    w("")
    w("Everything (release build, `nlu bench` ×3, `nlu benchmark` on the three datasets, the Python baselines, "
      "criterion, this report):")
    w("")
    w("```sh")
    w("scripts/install-onnxruntime.sh")
    w("benches/run-report.sh            # ~25 min on 2 cores; datasets from datasets/")
    w("benches/baselines/rasa/run.sh snips clinc150 banking77   # Rasa, separately: ~10-20 min install, 1-4 h per dataset on a busy 2-core machine")
    w("benches/head-comparison.sh        # the gated head's benchmarks and the cross-lingual figures (head-*.json; embeddings cached in .cache/embeddings)")
    w("benches/cascade.sh                # the cascade against the full model: benchmarks, held-out files, cross-lingual, latency (cascade*.json)")
    w("python3 benches/report/make_report.py         # re-render from benches/results/*.json (needs matplotlib)")
    w("```")
    w("")
    w("Single steps:")
    w("")
    w("```sh")
    w("cargo build --release -p nlu")
    w("target/release/nlu bench --threads 2 --json > benches/results/bench-run1.json")
    w("target/release/nlu benchmark --dataset clinc150 --json     # both out-of-scope modes")
    w("target/release/nlu benchmark --dataset snips --out /tmp/models   # keeps the trained model dirs")
    w("target/release/nlu benchmark --dataset banking77 --path datasets/banking77")
    w("cargo bench -p nlu --bench pipeline")
    w("benches/ci-quick.sh              # what CI runs: compile and a few iterations of every bench")
    w("```")
    w("")
    w("Python packages are pinned in `benches/baselines/requirements.txt` (venv `.cache/bench-venv`) and "
      "`benches/baselines/rasa/requirements.txt` (+ `requirements.lock`, venv `.cache/rasa-venv`, Python 3.10).")
    w("")
    Path(a.out).write_text("\n".join(L) + "\n")
    print(f"wrote {a.out}" + (f" and figures {', '.join(made)}" if made else ""))


if __name__ == "__main__":
    main()
