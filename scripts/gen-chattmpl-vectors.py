#!/usr/bin/env python3
"""Generate golden chat-template renderings for pkg/chattmpl from transformers.

Usage (from the repo root, after `make testdata`):

    python3 -m venv .cache/venv-ref
    .cache/venv-ref/bin/pip install tokenizers transformers jinja2
    .cache/venv-ref/bin/python scripts/gen-chattmpl-vectors.py

For qwen3 and llama3 (.cache/testdata/tokenizers/<name>/) it renders
conversations with AutoTokenizer.apply_chat_template(..., tokenize=False), which
is what the reference benchmark does, and records the special-token context
transformers passes to the template (tokenizer.special_tokens_map) so the Go
test can pass the same. A third set ("custom") renders small templates with
transformers' own Jinja environment and strftime_now pinned to 2025-01-15.
Output: pkg/chattmpl/testdata/<name>.json. The Go tests assert exact equality.
"""

import datetime
import hashlib
import json
import os
import sys
import warnings

import jinja2
import transformers
from transformers import AutoTokenizer
from transformers.utils.chat_template_utils import _compile_jinja_template

warnings.filterwarnings("ignore")
transformers.logging.set_verbosity_error()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SRC = os.path.join(ROOT, ".cache", "testdata", "tokenizers")
OUT = os.path.join(ROOT, "pkg", "chattmpl", "testdata")

CONVERSATIONS = [
    (
        "system_user",
        [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is 2+2? Answer briefly."},
        ],
    ),
    ("user_only", [{"role": "user", "content": "Hello!"}]),
    (
        "multi_turn",
        [
            {"role": "user", "content": '  Say "quotes" & <tags>\nplease.  '},
            {"role": "assistant", "content": "Sure: \"quotes\" & <tags> — done. 你好 😀"},
            {"role": "user", "content": "Now again,\n\twith a tab."},
        ],
    ),
]

PINNED_NOW = datetime.datetime(2025, 1, 15, 9, 5, 7)

CUSTOM_TEMPLATES = [
    ("strftime", "Today: {{ strftime_now('%d %b %Y') }} / {{ strftime_now('%Y-%m-%d %H:%M:%S') }} / {{ strftime_now('%A %B %-d %j %y %I%p %%') }}\n"),
    (
        "loop_namespace",
        "{% set ns = namespace(n=0) %}{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}"
        "{% set ns.n = ns.n + 1 %}[{{ loop.index }}/{{ loop.length }}:{{ m.role | upper }}] {{ m.content | trim }}\n"
        "{% endfor %}count={{ ns.n }}{% if add_generation_prompt %} GEN{% endif %}",
    ),
    (
        "blocks_whitespace",
        "{% for m in messages %}\n  {% if m.role == 'user' %}\nU: {{ m.content }}\n  {% else %}\nO: {{ m.content }}\n  {% endif %}\n{% endfor %}\n"
        "{{ bos_token }}|{{ eos_token }}|{{ messages | length }}|{{ messages[-1]['content'][:5] }}",
    ),
    # Jinja2 turns \r\n and \r in the source into \n and drops one trailing newline.
    ("newlines", "A\r\nB\rC{{ messages[0].role }}\n\n"),
    ("tojson", "{{ messages | tojson }}|{{ messages[0] | tojson }}"),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    versions = {"transformers": transformers.__version__, "jinja2": jinja2.__version__}
    for name in ["qwen3", "llama3"]:
        d = os.path.join(SRC, name)
        if not os.path.isfile(os.path.join(d, "tokenizer_config.json")):
            sys.exit(f"missing {d}/tokenizer_config.json: run `make testdata` (scripts/fetch-testdata.sh)")
        tok = AutoTokenizer.from_pretrained(d)
        template = tok.get_chat_template()
        cases = []
        for conv_name, msgs in CONVERSATIONS:
            for gen in (True, False):
                cases.append(
                    {
                        "name": f"{conv_name}/gen={gen}",
                        "messages": msgs,
                        "add_generation_prompt": gen,
                        "extra": {},
                        "expected": tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen),
                    }
                )
        if name == "qwen3":
            for think in (False, True):
                msgs = CONVERSATIONS[0][1]
                cases.append(
                    {
                        "name": f"system_user/enable_thinking={think}",
                        "messages": msgs,
                        "add_generation_prompt": True,
                        "extra": {"enable_thinking": think},
                        "expected": tok.apply_chat_template(
                            msgs, tokenize=False, add_generation_prompt=True, enable_thinking=think
                        ),
                    }
                )
        write(name, {
            "generator": "scripts/gen-chattmpl-vectors.py",
            "versions": versions,
            "template_sha256": hashlib.sha256(template.encode()).hexdigest(),
            "context": tok.special_tokens_map,
            "cases": cases,
        })

    # Small templates through transformers' Jinja environment, clock pinned.
    def strftime_now(fmt):
        return PINNED_NOW.strftime(fmt)

    cases = []
    for tname, tmpl in CUSTOM_TEMPLATES:
        compiled = _compile_jinja_template(tmpl)
        for conv_name, msgs in CONVERSATIONS:
            ctx = {"bos_token": "<s>", "eos_token": "</s>"}
            cases.append(
                {
                    "name": f"{tname}/{conv_name}",
                    "template": tmpl,
                    "messages": msgs,
                    "add_generation_prompt": True,
                    "extra": ctx,
                    "expected": compiled.render(
                        messages=msgs, tools=None, documents=None, add_generation_prompt=True,
                        strftime_now=strftime_now, **ctx
                    ),
                }
            )
    write("custom", {
        "generator": "scripts/gen-chattmpl-vectors.py",
        "versions": versions,
        "now": PINNED_NOW.isoformat(),
        "cases": cases,
    })


def write(name, obj):
    path = os.path.join(OUT, f"{name}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)}: {len(obj['cases'])} cases")


if __name__ == "__main__":
    main()
