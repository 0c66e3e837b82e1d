#!/usr/bin/env python3
"""Computes intent probabilities with Python's onnxruntime alone, from a model directory.

Reads texts (one per line) on stdin and prints, per text, a JSON object with the labels and
probabilities. The Rust test `nlu/tests/python_parity.rs` compares them with `nlu parse`.
It repeats what the parser does: the `query: ` prefix, the tokenizer with truncation to the
model's window, the encoder graph, then the head graph (which computes its own n-gram
features from the token ids); for a model whose head reads a middle layer's pooled states
(`pooled_layer` in model.json), their mean over the tokens, at unit length, follows the
sentence embedding in the head's input. When the model has an entity tagger (`tagger.onnx`), it also
runs the tagger graph on the encoder's `token_states` (and, for a tagger that reads a lexicon
of annotated values, on the `lexicon` features that `lexicon_features` computes as
`nlu/src/tagger/lexicon.rs` does) and prints `tag_probabilities`, one list per token. When it has the cascade's sparse head (`sparse-head.onnx`), it runs it on the
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


QUERY_PREFIX = "query: "


def normalize_char(c):
    """`nlu::entities::normalize_char`: full-width forms folded, lower case."""
    o = ord(c)
    if 0xFF01 <= o <= 0xFF5E:
        c = chr(o - 0xFEE0)
    else:
        c = {"\u3000": " ", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
             "\u3002": ".", "\u3001": ","}.get(c, c)
    low = c.lower()
    return low if len(low) == 1 else c


def is_cjk(c):
    o = ord(c)
    return 0x2E80 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FFFF or 0xAC00 <= o <= 0xD7AF


def is_latin_word(c):
    return (c.isascii() and (c.isalnum() or c == "_")) or (c.isalnum() and not c.isascii() and not is_cjk(c))


def stands_alone(norm, s, e):
    """`Text::stands_alone`: a Latin edge touches no Latin letter or digit, nor a `-`, `.` or
    `/` next to one."""

    def latin(i):
        return 0 <= i < len(norm) and is_latin_word(norm[i])

    def free(outside, beyond):
        if 0 <= outside < len(norm) and norm[outside] in "-./":
            return not latin(beyond)
        return not latin(outside)

    left = not latin(s) or free(s - 1, s - 2)
    right = not latin(e - 1) or free(e, e + 1)
    return left and right


def piece_spans(enc, text):
    """Each piece's character range in the text without the prefix (`Encoder::tokenize`)."""
    full = QUERY_PREFIX + text
    prefix, prefix_chars = len(QUERY_PREFIX.rstrip()), len(QUERY_PREFIX)
    spans = []
    for (start, end), special in zip(enc.offsets, enc.special_tokens_mask):
        if special == 1 or end <= prefix:
            spans.append(None)
            continue
        end = min(end, len(full))
        start = min(start, end)
        while start < end and full[start].isspace():
            start += 1
        spans.append((max(start, prefix_chars) - prefix_chars, max(end, prefix_chars) - prefix_chars))
    return spans


def lexicon_features(lexicon, types, text, spans):
    """`LexiconMatcher::features`: per piece, 1 in column 2k where it begins a known value of
    type k and in column 2k + 1 where it continues one."""
    norm = "".join(normalize_char(c) for c in text)
    out = np.zeros((len(spans), 2 * types), dtype=np.float32)
    for value, kinds in lexicon.items():
        at = norm.find(value)
        while at >= 0:
            s, e = at, at + len(value)
            if stands_alone(norm, s, e):
                begun = False
                for i, piece in enumerate(spans):
                    if piece is None:
                        continue
                    a, b = piece
                    if not (s <= a < e if a < b else s < a < e):
                        continue
                    offset = 1 if (begun or a >= b) else 0
                    begun = begun or a < b
                    for k in kinds:
                        out[i, 2 * k + offset] = 1.0
            at = norm.find(value, at + 1)
    return out


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
        enc = tok.encode(QUERY_PREFIX + line)
        ids = np.array([enc.ids], dtype=np.int64)
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
            inputs = {"token_states": states}
            lexicon = meta["tagger"].get("lexicon")
            if lexicon:
                f = lexicon_features(lexicon, len(meta["tagger"]["types"]), line, piece_spans(enc, line))
                inputs["lexicon"] = f[None, :, :]
                row["lexicon_features"] = f.tolist()
            tags = tagger.run(["tag_probabilities"], inputs)[0][0]
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
