"""Baseline (1): the same encoder (models/multilingual-e5-small/encoder.onnx) driven from
Python's onnxruntime with the same tokenizer (tokenizer.json through `tokenizers`), one
intra-op thread, on the fixed corpus of `nlu bench`. Reports the latency of tokenize + run
and of the run alone on pre-tokenized ids, and resident memory after loading.

usage: ort_latency.py [--corpus benches/corpus.txt] [--rounds 5] [--out FILE.json]
"""

import argparse
import json
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

import common

ENC = common.ROOT / "models" / "multilingual-e5-small"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(common.ROOT / "benches" / "corpus.txt"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out")
    a = ap.parse_args()
    corpus = common.read_corpus(a.corpus)
    rss0 = common.rss_mib()
    t0 = time.perf_counter()
    tok = Tokenizer.from_file(str(ENC / "tokenizer.json"))
    tok.enable_truncation(128)
    tok.no_padding()
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(ENC / "encoder.onnx"), so, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3
    rss_load = common.rss_mib()

    def tokenize(text):
        return np.array([tok.encode("query: " + text).ids], dtype=np.int64)

    def run(ids):
        return sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]

    ids = [tokenize(t) for t in corpus]
    for t, i in zip(corpus, ids):
        run(tokenize(t))
    full, bare, toks = [], [], []
    for _ in range(a.rounds):
        for t, i in zip(corpus, ids):
            s = time.perf_counter()
            run(tokenize(t))
            full.append(time.perf_counter() - s)
            s = time.perf_counter()
            run(i)
            bare.append(time.perf_counter() - s)
    for _ in range(a.rounds):
        for t in corpus:
            s = time.perf_counter()
            tokenize(t)
            toks.append(time.perf_counter() - s)
    out = {
        "runtime": f"onnxruntime {ort.__version__}, tokenizers (Python), 1 intra-op thread",
        "corpus_texts": len(corpus),
        "load_ms": load_ms,
        "tokenize_and_run": common.latency(full),
        "run_only": common.latency(bare),
        "tokenize": common.latency(toks),
        "rss_before_load_mib": rss0,
        "rss_after_load_mib": rss_load,
        "peak_rss_mib": common.peak_rss_mib(),
        "tokenize_and_run_samples_ms": [x * 1e3 for x in full],
        "run_only_samples_ms": [x * 1e3 for x in bare],
    }
    text = json.dumps(out, indent=2)
    if a.out:
        open(a.out, "w").write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
