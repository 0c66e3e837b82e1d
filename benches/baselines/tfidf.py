"""Baseline (2): TF-IDF word and character n-grams with logistic regression (scikit-learn),
the classical approach of Snips NLU's intent classifier. Same splits as `nlu benchmark`:
train on train, choose the out-of-scope threshold on val (CLINC150), report on test.

usage: tfidf.py --dataset clinc150|snips|banking77 [--path DIR] [--out FILE.json]
"""

import argparse
import json
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

import common


def model():
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    return make_pipeline(make_union(words, chars), LogisticRegression(C=10.0, max_iter=1000))


def run(dataset, path, mode):
    train, val, test = common.read(dataset, path, mode or "class")
    clf = model()
    t0 = time.perf_counter()
    clf.fit([t for t, _ in train], [l for _, l in train])
    fit_s = time.perf_counter() - t0
    classes = list(clf.classes_)
    gold = [l for _, l in test]
    probs = clf.predict_proba([t for t, _ in test])
    top = probs.argmax(1)
    top_label = [classes[i] for i in top]
    top_p = probs.max(1)
    res = {"dataset": dataset, "oos_mode": mode, "train_examples": len(train), "fit_seconds": fit_s}
    policies = {"argmax": 0.0}
    if val and any(l == common.OOS for _, l in val):
        vp = clf.predict_proba([t for t, _ in val])
        vt = [classes[i] for i in vp.argmax(1)]
        vg = [l for _, l in val]
        policies["fallback"] = common.balanced_threshold(vt, list(vp.max(1)), vg)
        policies["fallback_val_accuracy"] = common.balanced_threshold(vt, list(vp.max(1)), vg, balanced=False)
    res["scores"] = {}
    for name, t in policies.items():
        pred = [common.OOS if p < t else l for l, p in zip(top_label, top_p)]
        res["scores"][name] = dict(common.scores(pred, gold), fallback=t)
    # single-query latency, as an application would call it
    sample = [t for t, _ in test[:300]]
    for t in sample[:20]:
        clf.predict_proba([t])
    lat = []
    for t in sample:
        s = time.perf_counter()
        clf.predict_proba([t])
        lat.append(time.perf_counter() - s)
    res["latency"] = common.latency(lat)
    res["peak_rss_mib"] = common.peak_rss_mib()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--path")
    ap.add_argument("--out")
    a = ap.parse_args()
    modes = ["class", "threshold"] if a.dataset == "clinc150" else [None]
    out = [run(a.dataset, a.path, m) for m in modes]
    text = json.dumps(out, indent=2)
    if a.out:
        open(a.out, "w").write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
