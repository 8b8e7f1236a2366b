#!/usr/bin/env python3
"""gen-dataset-vectors.py — reference vectors for bs-gen --compat sglang.

Runs SGLang's OWN dataset functions (sglang.benchmark.datasets.*, from the sglang wheel on PyPI)
with the test tokenizers and writes what they return to pkg/datasets/testdata/sglang-vectors.json.
Nothing of the reference is re-implemented here, except the three-line LoRA pick of
sglang.benchmark.serving.benchmark() (random.choice / np.random.choice per row), which lives inside
the request loop and cannot be called on its own.

Setup (done by this script when run with the system python3):
  .cache/venv-sglang-min (torch-free; a full sglang install in .cache/venv-sglang pulls torch): pip install --no-deps sglang==$SGLANG_VERSION, plus the few packages the
  dataset modules import (transformers, tokenizers, numpy, tqdm, requests, jinja2).
sglang/__init__.py pulls in torch; the script registers the packages sglang, sglang.benchmark and
sglang.benchmark.datasets as bare namespace modules, so only the dataset modules themselves
(and sglang/benchmark/utils.py) are imported.

Inputs: the tokenizers fetched by scripts/fetch-testdata.sh (.cache/testdata/tokenizers/{qwen3,llama3})
and pkg/datasets/testdata/sharegpt-small.json (written by this script, deterministic).
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".cache", "venv-sglang-min")
SGLANG_VERSION = os.environ.get("SGLANG_VERSION", "0.5.23")
DEPS = ["transformers==5.19.0", "tokenizers==0.23.2", "numpy", "tqdm", "requests", "jinja2"]
OUT_DIR = os.path.join(ROOT, "pkg", "datasets", "testdata")


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    marker = os.path.join(VENV, ".bs-ready-" + SGLANG_VERSION)
    if not os.path.exists(marker):
        pip = [py, "-m", "pip", "install", "-q"]
        subprocess.check_call(pip + ["--no-deps", "sglang==" + SGLANG_VERSION])
        subprocess.check_call(pip + DEPS)
        open(marker, "w").close()
    os.execv(py, [py] + sys.argv)


ensure_venv()

import importlib.util  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import types  # noqa: E402

import numpy as np  # noqa: E402


SGLANG_DIR = os.path.dirname(importlib.util.find_spec("sglang").origin)


def bare_package(name):
    base = SGLANG_DIR
    parts = name.split(".")[1:]
    mod = types.ModuleType(name)
    mod.__path__ = [os.path.join(base, *parts)]
    sys.modules[name] = mod


for pkg in ("sglang", "sglang.benchmark", "sglang.benchmark.datasets"):
    bare_package(pkg)

# The GSP generator caches to ~/.cache/sglang; keep that out of the user's home.
os.environ["HOME"] = tempfile.mkdtemp(prefix="bs-gsp-home-")

from sglang.benchmark.datasets.generated_shared_prefix import sample_generated_shared_prefix_requests  # noqa: E402
from sglang.benchmark.datasets.random import sample_random_requests  # noqa: E402
from sglang.benchmark.datasets.sharegpt import sample_sharegpt_requests  # noqa: E402
from sglang.benchmark.utils import get_tokenizer  # noqa: E402
import sglang.version  # noqa: E402

WORDS = ("the quick brown fox jumps over a lazy dog hello world café 日本語 naïve abc 123 4567 !! .. , ; : ? "
         "it's don't x y z and of in er ing Assistant: \n emoji🙂 tab\t").split(" ")


def write_sharegpt(path, n=120, seed=7):
    r = random.Random(seed)

    def sentence(k):
        return " ".join(r.choice(WORDS) for _ in range(k))

    data = []
    for i in range(n):
        turns = [{"from": "human", "value": sentence(r.randint(1, 60))},
                 {"from": "gpt", "value": sentence(r.randint(1, 90))}]
        if i % 17 == 5:
            turns = turns[:1]
        if i % 23 == 4:
            turns[0]["value"] = ""
        key = "conversation" if i % 11 == 3 else "conversations"
        data.append({"id": str(i), key: turns})
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)


def lora_pick(n, names, dist, alpha):
    # serving.py benchmark(): one pick per dispatched row, after the dataset is built.
    if dist == "uniform":
        return [random.choice(names) for _ in range(n)]
    if dist == "distinct":
        return [names[i % len(names)] for i in range(n)]
    weights = np.array([alpha ** -i for i in range(len(names))])
    probs = weights / np.sum(weights)
    return [str(np.random.choice(names, p=probs)) for _ in range(n)]


def rows_json(rows):
    out = []
    for r in rows:
        p = r.prompt
        if isinstance(p, np.ndarray):
            p = p.tolist()
        out.append({"prompt": p, "prompt_len": int(r.prompt_len), "output_len": int(r.output_len),
                    "routing_key": r.routing_key})
    return out


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    sharegpt = os.path.join(OUT_DIR, "sharegpt-small.json")
    write_sharegpt(sharegpt)
    rel_sharegpt = os.path.relpath(sharegpt, OUT_DIR)
    cases = []
    for tname in ("qwen3", "llama3"):
        tok = get_tokenizer(os.path.join(ROOT, ".cache", "testdata", "tokenizers", tname))

        def add(name, options, fn, lora=None):
            seed_all(options.get("seed", 42))
            rows = fn()
            case = {"name": name, "tokenizer": tname, "options": options, "rows": rows_json(rows)}
            if lora:
                case["lora"] = lora_pick(len(rows), *lora)
                case["options"].update({"lora_names": lora[0], "lora_distribution": lora[1], "lora_zipf_alpha": lora[2]})
            cases.append(case)

        for ds, rs in (("random", True), ("random-ids", False)):
            for tp in (False, True):
                for seed, ratio, inl, outl in ((42, 0.0, 64, 32), (7, 1.0, 48, 8), (42, 0.5, 300, 16)):
                    opts = {"dataset": ds, "seed": seed, "num_prompts": 20, "random_input_len": inl,
                            "random_output_len": outl, "random_range_ratio": ratio, "tokenize_prompt": tp,
                            "dataset_path": rel_sharegpt}
                    add(f"{ds}-tp{int(tp)}-s{seed}-r{ratio}-in{inl}", opts,
                        lambda: sample_random_requests(inl, outl, 20, ratio, tok, sharegpt, random_sample=rs,
                                                       return_text=not tp))
        add("random-lora-uniform", {"dataset": "random-ids", "seed": 42, "num_prompts": 12, "random_input_len": 8,
                                    "random_output_len": 8, "random_range_ratio": 0.0, "tokenize_prompt": True},
            lambda: sample_random_requests(8, 8, 12, 0.0, tok, "", random_sample=False, return_text=False),
            lora=(["a", "b", "c"], "uniform", 1.5))
        add("random-lora-skewed", {"dataset": "random-ids", "seed": 42, "num_prompts": 12, "random_input_len": 8,
                                   "random_output_len": 8, "random_range_ratio": 0.0, "tokenize_prompt": True},
            lambda: sample_random_requests(8, 8, 12, 0.0, tok, "", random_sample=False, return_text=False),
            lora=(["a", "b", "c", "d"], "skewed", 1.7))

        for name, kw in (("sharegpt-default", {}),
                         ("sharegpt-suffix-template", {"prompt_suffix": " Please answer.", "apply_chat_template": True}),
                         ("sharegpt-fixed-context", {"fixed_output_len": 12, "context_len": 60})):
            opts = {"dataset": "sharegpt", "seed": 42, "num_prompts": 40, "dataset_path": rel_sharegpt}
            for k, v in kw.items():
                opts[{"fixed_output_len": "sharegpt_output_len", "context_len": "sharegpt_context_len"}.get(k, k)] = v
            add(name, opts, lambda: sample_sharegpt_requests(sharegpt, 40, tok, **kw))

        gsp_cases = (
            ("gsp-uniform", {}),
            ("gsp-ordered", {"ordered": True}),
            ("gsp-turns", {"num_turns": 3}),
            ("gsp-zipf", {"group_distribution": "zipf", "zipf_alpha": 1.2}),
            ("gsp-ratio", {"range_ratio": 0.5}),
            ("gsp-ids", {"input_ids": True}),
            ("gsp-routing", {"send_routing_key": True}),
        )
        for name, kw in gsp_cases:
            base = dict(num_groups=4, prompts_per_group=3, system_prompt_len=40, question_len=10, output_len=16,
                        range_ratio=1.0, seed=42)
            base.update({k: v for k, v in kw.items() if k in base})
            extra = {k: v for k, v in kw.items() if k not in base}
            opts = {"dataset": "generated-shared-prefix", "seed": 42,
                    "gsp": {"num_groups": 4, "prompts_per_group": 3, "system_prompt_len": 40, "question_len": 10,
                            "output_len": 16, "range_ratio": base["range_ratio"]}}
            for k, v in extra.items():
                if k == "input_ids":
                    opts["tokenize_prompt"] = v
                else:
                    opts["gsp"][k] = v
            # A fresh HOME per case: the reference's pickle cache key ignores --gsp-ordered and other
            # options, so a cached earlier case would be returned instead (reference weakness 13).
            os.environ["HOME"] = tempfile.mkdtemp(prefix="bs-gsp-home-")
            add(name, opts, lambda: sample_generated_shared_prefix_requests(tokenizer=tok, **base, **extra))

    doc = {"generator": "scripts/gen-dataset-vectors.py",
           "versions": {"sglang": sglang.version.__version__, "numpy": np.__version__,
                        "transformers": __import__("transformers").__version__,
                        "tokenizers": __import__("tokenizers").__version__,
                        "python": sys.version.split()[0]},
           "cases": cases}
    out = os.path.join(OUT_DIR, "sglang-vectors.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(out, len(cases), "cases", file=sys.stderr)


if __name__ == "__main__":
    main()
