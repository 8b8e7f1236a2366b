#!/usr/bin/env python3
"""Generate golden tokenizer vectors for pkg/tokenizer from the real HF libraries.

Usage (from the repo root, after `make testdata`):

    python3 -m venv .cache/venv-ref
    .cache/venv-ref/bin/pip install tokenizers transformers jinja2
    .cache/venv-ref/bin/python scripts/gen-tokenizer-vectors.py

For each tokenizer in .cache/testdata/tokenizers/<name>/ it loads
transformers.AutoTokenizer (what the reference benchmark uses) and, as a cross
check, the raw `tokenizers.Tokenizer`, and writes
pkg/tokenizer/testdata/<name>.json with:

  - vocab_size (base vocabulary, HF `tokenizer.vocab_size`), len (with added
    tokens), num_special_tokens_to_add, the ids of added tokens flagged special,
    transformers' all_special_ids, bos/eos tokens and ids;
  - encode cases: text -> ids with add_special_tokens=True (`tokenizer.encode(text)`)
    and False, and the decode of the special-token ids with
    skip_special_tokens False and True;
  - decode cases: id lists (consecutive id ranges as the reference's random
    prompts use, ranges crossing into added tokens) -> text.

The Go tests assert exact equality with these files.
"""

import json
import os
import sys
import warnings

import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import AutoTokenizer

warnings.filterwarnings("ignore")
transformers.logging.set_verbosity_error()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SRC = os.path.join(ROOT, ".cache", "testdata", "tokenizers")
OUT = os.path.join(ROOT, "pkg", "tokenizer", "testdata")

NAMES = ["qwen3", "llama3"]

TEXTS = [
    "",
    " ",
    "Hello world",
    "Hello, world! How are you today?",
    "  leading spaces",
    "trailing spaces   ",
    "  multiple   spaces    between   words  ",
    "Don't you're I'll we've she'd it's they'RE",
    "DON'T YOU'RE I'LL WE'VE SHE'D IT'S",
    "12345678901234567890",
    "3.14159 1,000,000 2024-01-15 0x1F -42 1e-9",
    "\t\t\ttabs\tand\ttabs\t",
    "line1\n\nline2\r\nline3\n\n\n",
    "    \n    \n\t\n",
    "你好，世界！这是一个测试。",
    "日本語のテキストとカタカナ、ひらがな。",
    "한국어 텍스트입니다",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flag 🇯🇵 heart ❤️",
    "e\u0301 vs \u00e9 (combining vs precomposed)",
    "A\u030angstro\u0308m cafe\u0301 nai\u0308ve",
    "ohm \u2126 vs omega \u03a9, angstrom \u212b",
    "ﬁ ligature ① ｆｕｌｌｗｉｄｔｈ",
    "NBSP\u00a0em\u2003space zwsp\u200bend",
    "def f(x):\n    return x**2  # square\n",
    '{"key": [1, 2, 3], "nested": {"a": null, "b": true}}',
    "https://example.com/path?q=1&r=2#frag",
    "mathematical ∑∫√∞ ≤ ≥ ≠ ±",
    "=" * 64,
    "a" * 300,
    "<think>\nreasoning here\n</think>\n\nanswer",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<|endoftext|>",
    "text<|im_end|>more text<|eot_id|>end",
    "<|im_start|><|im_start|>",
    "MiXeD CaSe WoRdS and camelCaseIdentifiers snake_case_names",
    "The quick brown fox jumps over the lazy dog. " * 4,
    "NUL\x00inside\x00\x00text",  # a C-string API would cut this at the first NUL
]


def decode_cases(vocab_size, total, nul_id):
    """Id lists to decode: consecutive ranges like the reference's random prompts."""
    cases = [
        [nul_id - 2, nul_id - 1, nul_id, nul_id, nul_id + 1],  # decodes to text with NUL bytes
        [100, total + 1000, 101],  # an id beyond the vocabulary is skipped
        list(range(0, 64)),
        list(range(1000, 1064)),
        list(range(50000, 50128)),
        [(vocab_size - 20 + j) % vocab_size for j in range(40)],  # wraps around vocab_size
        list(range(vocab_size - 8, min(total, vocab_size + 8))),  # crosses into added tokens
        [128, 129, 130, 131],  # lone byte tokens -> invalid UTF-8
    ]
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in NAMES:
        d = os.path.join(SRC, name)
        if not os.path.isfile(os.path.join(d, "tokenizer.json")):
            sys.exit(f"missing {d}/tokenizer.json: run `make testdata` (scripts/fetch-testdata.sh)")
        tok = AutoTokenizer.from_pretrained(d)
        raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        with open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        source = ""
        if os.path.isfile(os.path.join(d, "SOURCE")):
            with open(os.path.join(d, "SOURCE"), encoding="utf-8") as f:
                source = f.read().strip()

        special_ids = sorted(i for i, t in raw.get_added_tokens_decoder().items() if t.special)

        enc = []
        raw_mismatch = 0
        for text in TEXTS:
            ids = tok.encode(text)  # add_special_tokens=True, what the reference uses
            ids_ns = tok.encode(text, add_special_tokens=False)
            if raw.encode(text, add_special_tokens=True).ids != ids:
                raw_mismatch += 1
                print(f"{name}: raw tokenizers differs from transformers on {text!r}", file=sys.stderr)
            if raw.encode(text, add_special_tokens=False).ids != ids_ns:
                raw_mismatch += 1
                print(f"{name}: raw tokenizers differs (no special) on {text!r}", file=sys.stderr)
            enc.append(
                {
                    "text": text,
                    "ids": ids,
                    "ids_no_special": ids_ns,
                    "decode": tok.decode(ids, skip_special_tokens=False),
                    "decode_skip_special": tok.decode(ids, skip_special_tokens=True),
                }
            )

        dec = []
        nul = tok.encode("\x00", add_special_tokens=False)
        assert len(nul) == 1, nul
        for ids in decode_cases(tok.vocab_size, len(tok), nul[0]):
            dec.append(
                {
                    "ids": ids,
                    "text": tok.decode(ids, skip_special_tokens=False),
                    "text_skip_special": tok.decode(ids, skip_special_tokens=True),
                }
            )

        out = {
            "generator": "scripts/gen-tokenizer-vectors.py",
            "source": source,
            "versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
            "tokenizer_class": type(tok).__name__,
            "vocab_size": tok.vocab_size,
            "len": len(tok),
            "num_special_tokens_to_add": tok.num_special_tokens_to_add(),
            "special_ids": special_ids,
            "all_special_ids": sorted(tok.all_special_ids),
            "bos_token": tok.bos_token,
            "bos_token_id": tok.bos_token_id,
            "eos_token": tok.eos_token,
            "eos_token_id": tok.eos_token_id,
            "add_bos_token": cfg.get("add_bos_token"),
            "raw_tokenizers_mismatches": raw_mismatch,
            "encode": enc,
            "decode": dec,
        }
        path = os.path.join(OUT, f"{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(f"wrote {os.path.relpath(path, ROOT)}: {len(enc)} encode, {len(dec)} decode cases, "
              f"raw/transformers mismatches: {raw_mismatch}")


if __name__ == "__main__":
    main()
