#!/usr/bin/env python3
"""Computes intent probabilities with Python's onnxruntime alone, from a model directory.

Reads texts (one per line) on stdin and prints, per text, a JSON object with the labels and
probabilities. The Rust test `nlu/tests/python_parity.rs` compares them with `nlu parse`.
It repeats what the parser does: the `query: ` prefix, the tokenizer with truncation to the
model's window, the encoder graph, then the head graph (which computes its own n-gram
features from the token ids); for a model whose head reads a middle layer's pooled states
(`pooled_layer` in model.json), their mean over the tokens, at unit length, follows the
sentence embedding in the head's input. When the model has an entity tagger (`tagger.onnx`), it also
runs the tagger graph on the encoder's `token_states` and prints `tag_probabilities`, one
list per token. When it has the cascade's sparse head (`sparse-head.onnx`), it runs it on the
token ids and prints `sparse_probabilities`, `known_fraction` and, for a model with a
tagger, `span_probability`. When it has the cascade's early head (`early-head.onnx`) and the
environment names the encoder's early segment (`NLU_EARLY_SEGMENT`, a file the test writes
by cutting the encoder as the parser does), it runs the segment, pools its hidden states
(mean over the tokens, unit length) and runs the early head: `early_probabilities`.
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

# the layers whose states the encoder's `token_states` output holds, side by side
# (scripts/encoder/build_encoder.py's TOKEN_STATE_LAYERS)
TOKEN_STATE_LAYERS = (4, 8, 12)


def main():
    model_dir = sys.argv[1]
    meta = json.load(open(os.path.join(model_dir, "model.json"), encoding="utf-8"))
    enc_dir = os.path.join(model_dir, meta["encoder"])
    tok = Tokenizer.from_file(os.path.join(enc_dir, "tokenizer.json"))
    tok.enable_truncation(meta["max_tokens"])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    # the parser's setting: basic graph rewrites only (see nlu/src/classifier/session_pool.rs)
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    encoder = ort.InferenceSession(os.path.join(enc_dir, "encoder.onnx"), opts, providers=["CPUExecutionProvider"])
    head = ort.InferenceSession(os.path.join(model_dir, "head.onnx"), opts, providers=["CPUExecutionProvider"])
    tagger_path = os.path.join(model_dir, "tagger.onnx")
    tagger = None
    if os.path.exists(tagger_path):
        tagger = ort.InferenceSession(tagger_path, opts, providers=["CPUExecutionProvider"])
    sparse_path = os.path.join(model_dir, "sparse-head.onnx")
    sparse = None
    if os.path.exists(sparse_path):
        sparse = ort.InferenceSession(sparse_path, opts, providers=["CPUExecutionProvider"])
    # the cascade's early head, when the test hands over the encoder's early segment (the
    # parser cuts the encoder when it loads it; NLU_EARLY_SEGMENT is that segment's file)
    early_path = os.path.join(model_dir, "early-head.onnx")
    segment_path = os.environ.get("NLU_EARLY_SEGMENT")
    early = early_head = None
    if segment_path and os.path.exists(early_path):
        early = ort.InferenceSession(segment_path, opts, providers=["CPUExecutionProvider"])
        early_head = ort.InferenceSession(early_path, opts, providers=["CPUExecutionProvider"])
    for line in sys.stdin.read().splitlines():
        ids = np.array([tok.encode("query: " + line).ids], dtype=np.int64)
        mask = np.ones_like(ids)
        emb, states = encoder.run(["sentence_embedding", "token_states"], {"input_ids": ids, "attention_mask": mask})
        if meta.get("pooled_layer"):
            # the head also reads a middle layer's token states: their mean over the tokens,
            # unit length, after the sentence embedding (the parser's `Encoder::with_pooled_layer`)
            dim = emb.shape[1]
            block = TOKEN_STATE_LAYERS.index(meta["pooled_layer"])
            pooled = states[0][:, block * dim:(block + 1) * dim].mean(axis=0)
            pooled = pooled / np.linalg.norm(pooled)
            emb = np.concatenate([emb, pooled[None, :].astype(np.float32)], axis=1)
        probs = head.run(["probabilities"], {"sentence_embedding": emb, "input_ids": ids, "attention_mask": mask})[0][0]
        row = {"text": line, "labels": meta["labels"], "probabilities": [float(p) for p in probs]}
        if tagger is not None:
            tags = tagger.run(["tag_probabilities"], {"token_states": states})[0][0]
            row["tag_probabilities"] = [[float(p) for p in piece] for piece in tags]
        if sparse is not None:
            names = [o.name for o in sparse.get_outputs()]
            out = dict(zip(names, sparse.run(names, {"input_ids": ids, "attention_mask": mask})))
            row["sparse_probabilities"] = [float(p) for p in out["probabilities"][0]]
            row["known_fraction"] = float(out["known_fraction"][0][0])
            if "span_probability" in out:
                row["span_probability"] = float(out["span_probability"][0][0])
        if early is not None:
            hidden = early.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            pooled = hidden.mean(axis=1)
            pooled = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
            p = early_head.run(["probabilities"], {"sentence_embedding": pooled.astype(np.float32),
                                                   "input_ids": ids, "attention_mask": mask})[0][0]
            row["early_probabilities"] = [float(v) for v in p]
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
