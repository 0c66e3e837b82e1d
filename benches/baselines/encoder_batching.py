"""Does batching the encoder's texts pay? The committed encoder
(models/multilingual-e5-small/encoder.onnx) in Python's onnxruntime, with the parser's
settings (one intra-op thread, basic graph rewrites), over a corpus one text at a time and
in padded batches of texts sorted by length: throughput, and how far each text's sentence
embedding moves with the texts beside it (the int8 encoder quantizes its activations with
one scale per batch).

usage: python3 benches/baselines/encoder_batching.py [--corpus benches/chat-corpus.txt]
       (needs tests/python/requirements.txt: onnxruntime, tokenizers, numpy)
"""

import argparse
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

import common

ENC = common.ROOT / "models" / "multilingual-e5-small"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(common.ROOT / "benches" / "chat-corpus.txt"))
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    tok = Tokenizer.from_file(str(ENC / "tokenizer.json"))
    texts = common.read_corpus(a.corpus)
    ids = [tok.encode("query: " + t).ids for t in texts]
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    s = ort.InferenceSession(str(ENC / "encoder.onnx"), so, providers=["CPUExecutionProvider"])

    def run(batch):
        n = max(len(e) for e in batch)
        x = np.zeros((len(batch), n), np.int64)
        m = np.zeros((len(batch), n), np.int64)
        for i, e in enumerate(batch):
            x[i, : len(e)] = e
            m[i, : len(e)] = 1
        return s.run(["sentence_embedding"], {"input_ids": x, "attention_mask": m})[0]

    for e in ids[:20]:
        run([e])
    t = time.perf_counter()
    single = [run([e])[0] for e in ids]
    print(f"{len(ids)} texts, {np.mean([len(e) for e in ids]):.1f} tokens on average")
    print(f"one at a time: {len(ids) / (time.perf_counter() - t):.0f} texts/s")
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for size in (4, 8, 16, 32):
        t = time.perf_counter()
        got = {}
        for k in range(0, len(order), size):
            chunk = order[k : k + size]
            for i, row in zip(chunk, run([ids[i] for i in chunk])):
                got[i] = row
        rate = len(ids) / (time.perf_counter() - t)
        moved = max(float(np.abs(got[i] - single[i]).max()) for i in range(len(ids)))
        print(f"batches of {size}: {rate:.0f} texts/s, embedding moved by up to {moved:.3f}")


if __name__ == "__main__":
    main()
