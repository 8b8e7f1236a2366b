#!/usr/bin/env python3
"""make_sharegpt.py — write a small ShareGPT-format JSON file for offline runs.

The reference client's `sharegpt` and `random` datasets both read a ShareGPT
file (a JSON list of {"id", "conversations": [{"from", "value"}, ...]}); with
no valid file they try to download one from the Hugging Face hub, which is not
reachable here. This writes a deterministic one made of plain English-like
sentences: N conversations, each a human turn and a gpt turn, lengths varied.

Usage: make_sharegpt.py OUT.json [--rows 200] [--seed 7]
Standard library only.
"""

import argparse
import json
import os
import random
import sys

WORDS = (
    "the a an of to in for on with at by from about into over after before "
    "model server token request stream latency throughput cache prefix batch "
    "queue schedule time first last output input prompt answer question reply "
    "system user assistant quick brown fox jumps lazy dog river mountain city "
    "house garden water light music story simple clear small large early late "
    "read write send receive measure compare count check build run stop start "
    "good better best fast slow new old long short high low open close "
    "because while when where which that this these those every each some many"
).split()


def sentence(rng, n):
    words = [rng.choice(WORDS) for _ in range(n)]
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice([".", ".", ".", "?", "!"])


def paragraph(rng, n_sentences):
    return " ".join(sentence(rng, rng.randint(5, 18)) for _ in range(n_sentences))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="output JSON path")
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if a.rows < 1:
        sys.exit("make_sharegpt: --rows must be >= 1")
    rng = random.Random(a.seed)
    rows = []
    for i in range(a.rows):
        human = paragraph(rng, rng.randint(1, 12))
        gpt = paragraph(rng, rng.randint(1, 8))
        rows.append({"id": f"tiny-{i:05d}", "conversations": [
            {"from": "human", "value": human},
            {"from": "gpt", "value": gpt},
        ]})
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
