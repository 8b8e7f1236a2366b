#!/usr/bin/env python3
"""Independent check of testdata/payloads.golden.

Models, with plain Python dicts, how the reference (sglang.benchmark.serving, fact sheet §3) builds
each backend's request body, plus bs's one documented body change (stream_options.include_usage on
streamed completions/chat requests unless --compat sglang), and compares the result byte for byte
with the bodies bs built. Usage (from pkg/backends):

    BS_DUMP_CASES=/tmp/cases.json go test -run TestPayloadGolden . && python3 testdata/payload_oracle.py /tmp/cases.json
"""
import copy
import json
import sys

NATIVE = {"sglang", "sglang-native"}
COMPLETIONS = {"sglang-oai", "vllm", "lmdeploy"}
CHAT = {"sglang-oai-chat", "vllm-chat", "lmdeploy-chat"}


def want_usage(extra):
    opts = extra.get("stream_options") or {}
    opts.setdefault("include_usage", True)
    extra["stream_options"] = opts


def build(backend, o, p, msgs):
    extra = {}
    if o.get("ExtraBody"):
        extra.update(o["ExtraBody"])
    extra = {**extra, **(p.get("extra_body") or {})}
    compat = o.get("Compat") == "sglang"
    stream = o["Stream"]
    lora = p.get("lora")
    images = p.get("images")
    if backend in NATIVE:
        prompt = p.get("ids") or p.get("text", "")
        sp = {"temperature": float(o["Temperature"]), "max_new_tokens": p["output_len"],
              "ignore_eos": o["IgnoreEOS"]}
        if o["TopP"] < 1.0:
            sp["top_p"] = float(o["TopP"])
        payload = {("text" if isinstance(prompt, str) else "input_ids"): prompt,
                   "sampling_params": sp, "stream": stream, "lora_path": lora,
                   "return_logprob": o["ReturnLogprob"],
                   "return_routed_experts": o["ReturnRoutedExperts"],
                   "logprob_start_len": o["LogprobStartLen"], **extra}
        if o["TopLogprobsNum"] > 0:
            payload["top_logprobs_num"] = o["TopLogprobsNum"]
        if o.get("TokenIDsLogprob") is not None:
            payload["token_ids_logprob"] = o["TokenIDsLogprob"]
        if images:
            payload["image_data"] = images
        return payload
    if backend in COMPLETIONS:
        if stream and not compat and extra.get("stream") is not False:
            want_usage(extra)
        payload = {"model": o["Model"], "prompt": p.get("text", ""), "best_of": 1,
                   "max_tokens": p["output_len"], "stream": stream}
        if "temperature" not in extra:
            payload["temperature"] = 0.0
        if "ignore_eos" not in extra:
            payload["ignore_eos"] = o["IgnoreEOS"]
        if o["ReturnLogprob"] and o["TopLogprobsNum"] > 0:
            payload["logprobs"] = o["TopLogprobsNum"]
        payload.update(extra)
        if lora:
            payload["model"] = lora
            payload["lora_path"] = lora
        if images:
            payload.update({"image_data": images})
        return payload
    if backend in CHAT:
        multi = msgs is not None
        if stream and (multi or not compat) and extra.get("stream") is not False:
            want_usage(extra)
        if multi:
            messages = copy.deepcopy(msgs)
        elif p.get("messages"):
            messages = p["messages"]
        elif images:
            items = [{"type": "image_url", "image_url": {"url": u}} for u in images]
            items.append({"type": "text", "text": p.get("text", "")})
            messages = [{"role": "user", "content": items}]
        else:
            messages = [{"role": "user", "content": p.get("text", "")}]
        payload = {"model": o["Model"], "messages": messages,
                   "max_completion_tokens": p["output_len"], "stream": stream}
        if "temperature" not in extra:
            payload["temperature"] = 0.0
        if "ignore_eos" not in extra:
            payload["ignore_eos"] = o["IgnoreEOS"]
        payload.update(extra)
        if lora:
            payload["model"] = lora
            payload["lora_path"] = lora
        return payload
    if backend == "trt":
        payload = {"accumulate_tokens": True, "text_input": p.get("text", ""),
                   "temperature": 0.000001, "top_p": 1.0, "max_tokens": p["output_len"],
                   "stream": True, "min_length": p["output_len"], "end_id": 1048576, **extra}
        if not o["IgnoreEOS"]:
            del payload["min_length"]
            del payload["end_id"]
        return payload
    if backend == "truss":
        return {"model": o["Model"], "prompt": p.get("text", ""), "temperature": 0.0,
                "best_of": 1, "max_tokens": p["output_len"], "stream": stream,
                "ignore_eos": o["IgnoreEOS"], **extra}
    raise ValueError(backend)


def main():
    cases = json.load(open(sys.argv[1]))
    checked = errors = bad = 0
    for c in cases:
        if c.get("error"):
            errors += 1
            continue
        body = build(c["backend"], c["options"], c["input"], c.get("msgs"))
        want = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        got = c["body_text"]  # the exact bytes bs sends
        if want != got:
            bad += 1
            print("MISMATCH", c["backend"], c["opts"], c["prompt"])
            print("  bs:  ", got)
            print("  ref: ", want)
        checked += 1
    print(f"{checked} bodies checked, {bad} mismatches, {errors} client errors skipped")
    sys.exit(1 if bad else 0)


main()
