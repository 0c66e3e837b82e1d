#!/usr/bin/env python3
"""Measures what an early exit would cost (issue 19's planned second stage): cuts the committed
int8 encoder after layer k (k = 2 and 4) into an early segment (input_ids, attention_mask ->
that layer's hidden states) and a late one (hidden states, attention_mask ->
sentence_embedding, token_states) with onnx.utils.Extractor, checks that running the two in a
row gives the whole encoder's embedding, and times each on benches/chat-corpus.txt (one
thread, 3 passes; p50 and p99 in ms). Writes nothing to the repository (segments go to a
temporary folder).

usage: .cache/encoder-venv/bin/python scripts/encoder/segments.py
       (the venv of scripts/encoder/build.sh, which has onnx, onnxruntime and tokenizers)
"""
import os
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx.utils import Extractor
from tokenizers import Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENC = os.path.join(ROOT, "models", "multilingual-e5-small")


def main():
    model = onnx.load(os.path.join(ENC, "encoder.onnx"))
    # the embeddings' LayerNormalization, then two per layer: layer k ends with the (2k+1)-th
    norms = [n for n in model.graph.node if n.op_type == "LayerNormalization"]
    extractor = Extractor(model)
    tok = Tokenizer.from_file(os.path.join(ENC, "tokenizer.json"))
    tok.enable_truncation(128)
    with open(os.path.join(ROOT, "benches", "chat-corpus.txt"), encoding="utf-8") as f:
        texts = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1

    def feeds(text):
        ids = np.array([tok.encode("query: " + text).ids], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": np.ones_like(ids)}

    def timed(session, outputs):
        samples = []
        for _ in range(3):
            for text in texts:
                f = feeds(text)
                start = time.perf_counter()
                session.run(outputs, f)
                samples.append(time.perf_counter() - start)
        return np.median(samples) * 1e3, np.percentile(samples, 99) * 1e3

    full = ort.InferenceSession(os.path.join(ENC, "encoder.onnx"), so, providers=["CPUExecutionProvider"])
    print("whole encoder: p50 %.2f ms, p99 %.2f ms" % timed(full, ["sentence_embedding"]))
    with tempfile.TemporaryDirectory() as tmp:
        for k in (2, 4):
            hidden = norms[2 * k].output[0]
            early_path = os.path.join(tmp, f"early-{k}.onnx")
            late_path = os.path.join(tmp, f"late-{k}.onnx")
            onnx.save(extractor.extract_model(["input_ids", "attention_mask"], [hidden]), early_path)
            onnx.save(extractor.extract_model([hidden, "attention_mask"], ["sentence_embedding", "token_states"]),
                      late_path)
            early = ort.InferenceSession(early_path, so, providers=["CPUExecutionProvider"])
            late = ort.InferenceSession(late_path, so, providers=["CPUExecutionProvider"])
            diff = 0.0
            for text in texts:
                f = feeds(text)
                h = early.run([hidden], f)[0]
                a = late.run(["sentence_embedding"], {hidden: h, "attention_mask": f["attention_mask"]})[0]
                b = full.run(["sentence_embedding"], f)[0]
                diff = max(diff, float(np.abs(a - b).max()))
            p50, p99 = timed(early, [hidden])
            print(f"layers 1-{k}: p50 {p50:.2f} ms, p99 {p99:.2f} ms; early + late segments against the whole "
                  f"encoder: max abs difference {diff:g} over {len(texts)} texts; "
                  f"segment files {os.path.getsize(early_path) / 1e6:.1f} + {os.path.getsize(late_path) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
