"""Scores a trained Rasa model on a dataset's test split: accuracy (and out-of-scope recall
and precision for CLINC150, where out-of-scope is a trained class), single-message parse
latency, resident memory after loading.

usage: evaluate.py --model FILE.tar.gz --dataset D --train-seconds S --out FILE.json
"""

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--train-seconds", type=float, required=True)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    logging.disable(logging.WARNING)
    import rasa
    from rasa.core.agent import Agent

    train, _, test = common.read(a.dataset, None, "class")
    rss0 = common.rss_mib()
    t0 = time.perf_counter()
    agent = Agent.load(a.model)
    load_s = time.perf_counter() - t0
    rss_load = common.rss_mib()
    loop = asyncio.new_event_loop()
    parse = lambda text: loop.run_until_complete(agent.parse_message(text))
    for t, _ in test[:20]:
        parse(t)
    preds, lat = [], []
    for t, _ in test:
        s = time.perf_counter()
        r = parse(t)
        lat.append(time.perf_counter() - s)
        preds.append((r.get("intent") or {}).get("name"))
    gold = [l for _, l in test]
    res = {
        "engine": f"Rasa Open Source {rasa.__version__}, DIETClassifier ({a.epochs} epochs, intents only)",
        "dataset": a.dataset,
        "oos_mode": "class" if a.dataset == "clinc150" else None,
        "train_examples": len(train),
        "test_examples": len(test),
        "train_seconds": a.train_seconds,
        "load_seconds": load_s,
        "scores": common.scores(preds, gold),
        "latency": common.latency(lat),
        "rss_before_load_mib": rss0,
        "rss_after_load_mib": rss_load,
        "peak_rss_mib": common.peak_rss_mib(),
    }
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
