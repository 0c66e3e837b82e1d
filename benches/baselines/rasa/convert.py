"""Writes a dataset's training split as Rasa NLU YAML and a DIET config.

usage: convert.py --dataset D --out DIR [--epochs 100]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common  # noqa: E402

CONFIG = """# DIET as in Rasa's default NLU pipeline (rasa init), intents only.
recipe: default.v1
assistant_id: nlu-benchmark
language: en
pipeline:
- name: WhitespaceTokenizer
- name: RegexFeaturizer
- name: LexicalSyntacticFeaturizer
- name: CountVectorsFeaturizer
- name: CountVectorsFeaturizer
  analyzer: char_wb
  min_ngram: 1
  max_ngram: 4
- name: DIETClassifier
  epochs: {epochs}
  constrain_similarities: true
  entity_recognition: false
policies: []
"""


def escape(text):
    # Rasa reads [text](entity) as an entity annotation; these datasets have none
    return text.replace("[", "(").replace("]", ")").replace("\n", " ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=100)
    a = ap.parse_args()
    train, _, _ = common.read(a.dataset, None, "class")
    by = {}
    for t, l in train:
        by.setdefault(l, []).append(t)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ['version: "3.1"', "nlu:"]
    for label in sorted(by):
        lines.append(f"- intent: {label}")
        lines.append("  examples: |")
        lines.extend(f"    - {escape(t)}" for t in by[label])
    (out / "train.yml").write_text("\n".join(lines) + "\n")
    (out / "config.yml").write_text(CONFIG.format(epochs=a.epochs))
    print(f"{a.dataset}: {len(train)} examples, {len(by)} intents -> {out}")


if __name__ == "__main__":
    main()
