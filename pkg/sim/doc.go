// Package sim is bs-sim: a simulated LLM inference server that speaks, byte for byte where it
// matters, the HTTP protocols that SGLang's bench_serving (and bs-fire) talk to, with latencies,
// queueing and faults under the caller's control. It is the target of the bs demo and of every bs
// test, and the calibration target for bs-fire's own overhead.
//
// # Endpoints
//
// Generation (POST; each writes one TruthRecord):
//
//	/generate                                SGLang native
//	/v1/completions                          OpenAI completions (vLLM / SGLang)
//	/v1/chat/completions                     OpenAI chat completions
//	/v2/models/<model>/generate_stream       Triton generate extension (TensorRT-LLM ensemble), SSE
//	/v2/models/<model>/generate              same, one JSON body
//	/v1/models/model:predict                 truss (OpenAI completions body and chunks)
//
// Information and control: GET /health and /health_generate (200, empty body); GET /v1/models and
// /v1/models/<id>; GET /model_info and /get_model_info; GET /server_info and /get_server_info;
// GET or POST /flush_cache, /reset_prefix_cache, /start_profile, /stop_profile (200 and SGLang's
// plain-text reply; they do nothing, except that the first two clear the simulated prefix cache,
// see below). Unknown paths get 404 {"detail":"Not Found"}.
//
// # Requests
//
// One prompt per request: a list of prompts (SGLang "text" list, OpenAI "prompt" list of several
// strings, nested token-id lists) is rejected with 400. The number of tokens to generate is the
// request's maximum (native sampling_params.max_new_tokens; OpenAI max_completion_tokens, else
// max_tokens; Triton max_tokens) or Config.DefaultOutputLen. With Config.EOSAfter = K > 0, a
// request that does not set ignore_eos stops after max(K, min_tokens) tokens (Triton: min_length)
// if that is below its maximum, with finish reason "stop". Other fields (temperature, top_p,
// lora_path, image_data, logprobs...) are accepted and ignored.
//
// Prompt tokens are counted exactly when the prompt is token ids (native input_ids, OpenAI prompt
// as a list of integers). Text prompts are estimated: the number of whitespace-separated words, or
// ceil(characters / Config.CharsPerToken). Chat counts the text of every message and text part;
// image parts and chat-template tokens count zero. The estimate is reported as prompt_tokens.
//
// Generated text: token k of request seq is the word vocab[hash(Seed, seq, k)], one of 143 common
// words with a leading space (" the", " of", ...), each exactly one token in the cl100k_base,
// o200k_base and r50k_base encodings, so the client's retokenised count equals completion_tokens.
// Token ids (output_ids) are synthetic: 1000 + word index; the simulated EOS id is 2.
//
// Response ids: the native "rid" if given, else the X-Request-Id request header, else 32 hex
// digits derived from (Seed, seq). OpenAI ids add "cmpl-" or "chatcmpl-". The id is echoed in the
// X-Request-Id response header.
//
// # Timing
//
// A request is admitted when it gets a running slot (Config.MaxConcurrency, FIFO queue). Token i
// (0-based) is due at admission + TTFT + PrefillPerToken·(prompt_tokens − cached_tokens) + i·ITL
// (cached_tokens is 0 without the prefix cache), each latency
// perturbed by Jitter; deadlines are absolute, so lateness never accumulates. An event carrying
// tokens [a, b) is written when token b−1 is due (TokensPerChunk tokens per event), then flushed
// to the socket. Stream headers (200, Content-Type text/event-stream; charset=utf-8, chunked)
// are flushed as soon as the request is validated and has its place in the queue, before it waits
// for a slot, as vLLM sends them before scheduling; non-streamed
// responses are sent whole when the last token is due, with a Content-Length. Go timers fire
// about 0.1–1 ms late on Linux; Config.Spin trades CPU for sub-millisecond accuracy. The truth log
// records when every event actually left (see TruthRecord).
//
// # Wire formats
//
// Every event is "data: <compact JSON>\n\n". Examples with max tokens 2 (... abbreviates).
//
// Native /generate, streaming: text and output_ids are cumulative, completion_tokens counts all
// tokens so far, finish_reason is null until the last event, e2e_latency (seconds since the
// request arrived) is in the last event only, and so are spec_accept_length and spec_verify_ct
// (= ceil(completion_tokens / SpecAcceptLength)) when SpecAcceptLength is set:
//
//	data: {"text":" the","output_ids":[1000],"meta_info":{"id":"ID","finish_reason":null,"prompt_tokens":3,"weight_version":"default","completion_tokens":1,"cached_tokens":0}}
//	data: {"text":" the world","output_ids":[1000,1107],"meta_info":{"id":"ID","finish_reason":{"type":"length","length":2},"prompt_tokens":3,"weight_version":"default","completion_tokens":2,"cached_tokens":0,"e2e_latency":0.0147}}
//	data: [DONE]
//
// A simulated EOS ends with "finish_reason":{"type":"stop","matched":2}. Not streaming: the last
// event's object alone, as application/json.
//
// OpenAI completions (and truss), streaming: text is the new text only; the event with the last
// token carries finish_reason "length" or "stop". With stream_options.include_usage a usage-only
// chunk follows; with include_usage and continuous_usage_stats every chunk also carries usage:
//
//	data: {"id":"cmpl-ID","object":"text_completion","created":1764500000,"model":"M","choices":[{"index":0,"text":" the","logprobs":null,"finish_reason":null,"stop_reason":null}]}
//	data: {"id":"cmpl-ID",...,"choices":[{"index":0,"text":" world","logprobs":null,"finish_reason":"length","stop_reason":null}]}
//	data: {"id":"cmpl-ID","object":"text_completion","created":1764500000,"model":"M","choices":[],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2}}
//	data: [DONE]
//
// Not streaming: {"id","object":"text_completion","created","model","choices":[{"index":0,"text":
// <all>,"logprobs":null,"finish_reason","stop_reason":null}],"usage":{...}}.
//
// OpenAI chat, streaming: a role chunk first (sent with the first token), then content deltas; the
// last content chunk has finish_reason and "stop_reason":null; usage rules as for completions:
//
//	data: {"id":"chatcmpl-ID","object":"chat.completion.chunk","created":1764500000,"model":"M","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}
//	data: {"id":"chatcmpl-ID",...,"choices":[{"index":0,"delta":{"content":" the"},"logprobs":null,"finish_reason":null}]}
//	data: {"id":"chatcmpl-ID",...,"choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":"length","stop_reason":null}]}
//	data: [DONE]
//
// Not streaming: object "chat.completion", choices[0].message {"role":"assistant","content":<all>}.
//
// Triton generate_stream: the TensorRT-LLM ensemble sends the new text of each step in
// text_output (the request's accumulate_tokens key is not an input of the ensemble; only the
// tensorrt_llm_bls model, when configured with accumulate_tokens, sends accumulated text — see
// Config.TritonAccumulate). Keys are in Triton's alphabetical order; there is no [DONE]:
//
//	data: {"context_logits":0.0,"cum_log_probs":0.0,"generation_logits":0.0,"model_name":"ensemble","model_version":"1","output_log_probs":0.0,"sequence_end":false,"sequence_id":0,"sequence_start":false,"text_output":" the"}
//
// With "stream": false the whole output is one event; POST .../generate returns the same object as
// application/json.
//
// # Errors
//
// Errors use each protocol's shape, both as HTTP error bodies (application/json) and as in-band
// stream events: native {"error":{"message":M}}; OpenAI {"error":{"message":M,"type":
// "BadRequestError","param":null,"code":400}}; Triton {"error":M}. A missing or wrong API key gets
// 401 {"error":"Unauthorized"} everywhere except /health* and /metrics. An in-band stream error
// (Config.StreamErrorAfter) is followed by "data: [DONE]" for native and OpenAI streams, as SGLang
// and vLLM do, and ends the stream; Config.DropAfter closes the connection without ending the
// chunked body. Faults fire for a deterministic subset of requests (FailRate, StreamErrorRate,
// DropRate drawn from Seed and seq) and apply to streamed responses only, except FailRate.
//
// # Prefix cache
//
// With Config.PrefixCache (bs-sim --prefix-cache; capacity Config.PrefixCacheBlocks, bs-sim
// --prefix-cache-blocks, default 2^20 blocks) bs-sim simulates a prefix cache, so that a client's
// cache report (bs-fire --cache-report) can be tested with real hits. Each prompt has a byte key
// (the text; 4 bytes per token id; for chat, every message's role and text with separators; Triton
// text_input) cut into 64-byte blocks named by a chain hash. A request's hit is the run of leading
// blocks already cached, as a fraction of the key, times prompt_tokens, rounded down, and at most
// prompt_tokens − 1; the request's blocks are cached at once, so an identical prompt that follows
// hits. A full cache is cleared; /flush_cache and /reset_prefix_cache clear it. Lookups happen once
// per request in the order requests reach them (after the body is parsed, before the slot queue).
// The details are in cache.go.
//
// The hit shortens the prefill (see Timing) and is reported: native meta_info.cached_tokens (0
// without the flag); OpenAI usage gains "prompt_tokens_details":{"cached_tokens":N} after
// completion_tokens (as SGLang with --enable-cache-report, and vLLM, send it), wherever usage is
// sent; and when an OpenAI request sets "return_cached_tokens_details": true, SGLang's
// "sglext":{"cached_tokens_details":{"device":N,"host":0}} member follows usage in the
// non-streamed body and in the usage-only chunk of a stream, or, in a stream without
// stream_options.include_usage, ends the chunk carrying the last token. bs-sim has one cache tier:
// every hit is on the device. The truth log records the hit as cached_tokens. Without the flag the
// responses are unchanged: cached_tokens 0, neither member.
//
// # Mimicking llama.cpp
//
// With Config.Mimic = MimicLlamaCpp (bs-sim --mimic llamacpp) the OpenAI endpoints speak the
// dialect of llama.cpp's Python server instead (no usage in streams, role-only first chat chunk,
// empty final chunk, ": ping" comments, UUID-only X-Request-Id, one request at a time, …); the
// list is at the top of llamacpp.go.
package sim
