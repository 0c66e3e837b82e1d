"""Shared helpers of the Python baselines: the same dataset splits as the Rust readers
(nlu/src/eval/datasets.rs), percentiles, the balanced out-of-scope threshold, metrics."""

import csv
import json
import os
import time
from pathlib import Path

OOS = "out_of_scope"
ROOT = Path(__file__).resolve().parents[2]


def default_datasets():
    return Path(os.environ.get("NLU_DATASETS", ROOT / "datasets"))


def read_clinc150(folder, mode):
    """mode 'class': oos_train is a class; 'threshold': train on the 150 intents only."""
    d = json.loads((Path(folder) / "data_full.json").read_text())
    fix = lambda items: [(t, OOS if l == "oos" else l) for t, l in items]
    train = fix(d["train"]) + (fix(d["oos_train"]) if mode == "class" else [])
    return train, fix(d["val"]) + fix(d["oos_val"]), fix(d["test"]) + fix(d["oos_test"])


def read_snips(folder):
    def split(name):
        texts = (Path(folder) / name / "seq.in").read_text().splitlines()
        labels = (Path(folder) / name / "label").read_text().splitlines()
        assert len(texts) == len(labels)
        return [(t.strip(), l.strip()) for t, l in zip(texts, labels)]

    return split("train"), split("dev"), split("test")


def read_banking77(folder):
    def split(name):
        with open(Path(folder) / name, newline="") as f:
            return [(r["text"].strip(), r["category"].strip()) for r in csv.DictReader(f)]

    return split("train.csv"), [], split("test.csv")


FOLDERS = {"clinc150": "clinc150", "snips": "snips_jointbert", "banking77": "banking77"}


def read(dataset, path=None, mode="class"):
    folder = Path(path) if path else default_datasets() / FOLDERS[dataset]
    if dataset == "clinc150":
        return read_clinc150(folder, mode)
    if dataset == "snips":
        return read_snips(folder)
    if dataset == "banking77":
        return read_banking77(folder)
    raise SystemExit(f"unknown dataset {dataset}")


def quantile(sorted_values, q):
    """Linear interpolation between closest ranks, as numpy.percentile and nlu::bench."""
    n = len(sorted_values)
    if n == 0:
        return float("nan")
    pos = q * (n - 1)
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def latency(samples_s):
    ms = sorted(s * 1e3 for s in samples_s)
    return {
        "samples": len(ms),
        "mean_ms": sum(ms) / max(len(ms), 1),
        "min_ms": ms[0],
        "p50_ms": quantile(ms, 0.5),
        "p90_ms": quantile(ms, 0.9),
        "p99_ms": quantile(ms, 0.99),
        "max_ms": ms[-1],
    }


def balanced_threshold(top_label, top_prob, gold, balanced=True):
    """Fallback threshold maximizing in-scope accuracy + out-of-scope recall (as
    nlu::train::calibrate::balanced_fallback). top_label: predicted label strings."""
    cands = sorted(set([0.0] + list(top_prob)))
    best = (-1.0, 0.0)
    n_in = max(sum(g != OOS for g in gold), 1) if balanced else 1
    n_out = max(sum(g == OOS for g in gold), 1) if balanced else 1
    # sweep: sort rows by probability
    rows = sorted(zip(top_prob, top_label, gold))
    acc = sum(1 for p, l, g in rows if g != OOS and l == g)
    rec = sum(1 for p, l, g in rows if g == OOS and l == OOS)
    best = (acc / n_in + rec / n_out, 0.0)
    k = 0
    while k < len(rows):
        t = rows[k][0]
        while k < len(rows) and rows[k][0] <= t:
            p, l, g = rows[k]
            if l != OOS:
                if g == OOS:
                    rec += 1
                elif l == g:
                    acc -= 1
            k += 1
        nxt = rows[k][0] if k < len(rows) else t + 1e-6
        s = acc / n_in + rec / n_out
        if s > best[0] + 1e-9:
            best = (s, (t + nxt) / 2)
    return best[1]


def scores(pred, gold):
    """accuracy, in-scope accuracy, out-of-scope recall/precision (None without oos items)."""
    n = len(gold)
    acc = sum(p == g for p, g in zip(pred, gold)) / n
    ins = [(p, g) for p, g in zip(pred, gold) if g != OOS]
    in_acc = sum(p == g for p, g in ins) / max(len(ins), 1)
    out = {"accuracy": acc, "in_scope_accuracy": in_acc}
    if any(g == OOS for g in gold):
        tp = sum(p == OOS and g == OOS for p, g in zip(pred, gold))
        fp = sum(p == OOS and g != OOS for p, g in zip(pred, gold))
        fn = sum(p != OOS and g == OOS for p, g in zip(pred, gold))
        out["oos_recall"] = tp / max(tp + fn, 1)
        out["oos_precision"] = tp / max(tp + fp, 1) if tp + fp else 1.0
    return out


def peak_rss_mib():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mib():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def read_corpus(path):
    return [l.rstrip() for l in Path(path).read_text().splitlines() if l.strip() and not l.startswith("#")]


class Timer:
    def __enter__(self):
        self.t = time.perf_counter()
        return self

    def __exit__(self, *a):
        self.s = time.perf_counter() - self.t
