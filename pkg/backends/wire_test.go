package backends

// Recorded response bytes, shaped exactly like the servers send them (field sets and order taken
// from SGLang, vLLM and Triton responses).

const wireNative = `data: {"text":"Hel","output_ids":[9707],"meta_info":{"id":"7c2f1e","finish_reason":null,"prompt_tokens":7,"weight_version":"default","total_retractions":0,"completion_tokens":1,"cached_tokens":3,"e2e_latency":0.0312}}

data: {"text":"Hello","output_ids":[9707,14990],"meta_info":{"id":"7c2f1e","finish_reason":null,"prompt_tokens":7,"weight_version":"default","total_retractions":0,"completion_tokens":3,"cached_tokens":3,"e2e_latency":0.0401}}

data: {"text":"Hello","output_ids":[9707,14990],"meta_info":{"id":"7c2f1e","finish_reason":null,"prompt_tokens":7,"weight_version":"default","total_retractions":0,"completion_tokens":3,"cached_tokens":3,"e2e_latency":0.0452}}

data: {"text":"Hello w\u00f6r","output_ids":[9707,14990,1879],"meta_info":{"id":"7c2f1e","finish_reason":null,"prompt_tokens":7,"weight_version":"default","total_retractions":0,"completion_tokens":4,"cached_tokens":3,"spec_verify_ct":2,"spec_accept_length":2.0,"e2e_latency":0.0513}}

data: {"text":"Hello w\u00f6rld\n","output_ids":[9707,14990,1879,198],"meta_info":{"id":"7c2f1e","finish_reason":{"type":"length","length":5},"prompt_tokens":7,"weight_version":"default","total_retractions":0,"completion_tokens":5,"cached_tokens":3,"spec_verify_ct":3,"spec_accept_length":1.6666666666666667,"e2e_latency":0.0634}}

data: [DONE]

`

// SGLang /v1/completions: usage only in the final chunk, whose text is empty.
const wireSGLangCompletions = `data: {"id":"a1b2","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,"text":" The","logprobs":null,"finish_reason":null,"matched_stop":null}],"usage":null}

data: {"id":"a1b2","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,"text":" sky","logprobs":null,"finish_reason":null,"matched_stop":null}],"usage":null}

data: {"id":"a1b2","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,"text":" is blue","logprobs":null,"finish_reason":null,"matched_stop":null}],"usage":null}

data: {"id":"a1b2","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"length","matched_stop":null}],"usage":{"prompt_tokens":5,"total_tokens":9,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":2}}}

data: [DONE]

`

// vLLM /v1/completions with stream_options.include_usage: a final usage chunk with choices: [].
const wireVLLMCompletions = `data: {"id":"cmpl-1","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,"text":" The","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}

data: {"id":"cmpl-1","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,"text":" sky","logprobs":null,"finish_reason":"length","stop_reason":null}],"usage":null}

data: {"id":"cmpl-1","object":"text_completion","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":5,"total_tokens":7,"completion_tokens":2}}

data: [DONE]

`

// vLLM with continuous_usage_stats: every chunk carries the cumulative usage.
const wireVLLMContinuous = `data: {"id":"cmpl-2","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,"text":" The","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":{"prompt_tokens":5,"total_tokens":6,"completion_tokens":1}}

data: {"id":"cmpl-2","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,"text":" sky is","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":{"prompt_tokens":5,"total_tokens":8,"completion_tokens":3}}

data: {"id":"cmpl-2","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,"text":" blue","logprobs":null,"finish_reason":"length","stop_reason":null}],"usage":{"prompt_tokens":5,"total_tokens":9,"completion_tokens":4}}

data: {"id":"cmpl-2","object":"text_completion","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":5,"total_tokens":9,"completion_tokens":4}}

data: [DONE]

`

// Chat with reasoning_content, a role-only first chunk, a finish chunk and a usage chunk.
const wireChat = `data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":null,"content":null,"reasoning_content":"Let me"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":null,"content":null,"reasoning_content":" think."},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":null,"content":"2+2","reasoning_content":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":null,"content":" = 4","reasoning_content":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":null,"content":null,"reasoning_content":null},"logprobs":null,"finish_reason":"stop","matched_stop":151645}],"usage":null}

data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":9,"total_tokens":15,"completion_tokens":6,"prompt_tokens_details":null}}

data: [DONE]

`

// vLLM's Kimi parser streams reasoning in "reasoning"; reasoning_content wins when both are set.
const wireChatReasoning = `data: {"id":"c2","choices":[{"index":0,"delta":{"reasoning":"Hmm"},"finish_reason":null}]}

data: {"id":"c2","choices":[{"index":0,"delta":{"reasoning":"dup","reasoning_content":"Ok"},"finish_reason":null}]}

data: {"id":"c2","choices":[{"index":0,"delta":{"content":"Yes"},"finish_reason":"stop"}]}

data: [DONE]

`

// Triton generate_stream: "data:" without a space, no terminator.
const wireTRT = `data:{"model_name":"ensemble","model_version":"1","sequence_end":false,"sequence_id":0,"sequence_start":false,"text_output":"Hello"}

data:{"model_name":"ensemble","model_version":"1","sequence_end":false,"sequence_id":0,"sequence_start":false,"text_output":""}

data:{"model_name":"ensemble","model_version":"1","sequence_end":false,"sequence_id":0,"sequence_start":false,"text_output":" there"}

`

// truss: completions-shaped chunks, no terminator.
const wireTruss = `data: {"id":"t1","choices":[{"index":0,"text":"Hi","finish_reason":null}]}

data: {"id":"t1","choices":[{"index":0,"text":"!","finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}

`

const bodyNative = `{"text":"Hello world","output_ids":[9707,1879],"meta_info":{"id":"n1","finish_reason":{"type":"stop","matched":151645},"prompt_tokens":7,"completion_tokens":2,"cached_tokens":0,"spec_verify_ct":1,"spec_accept_length":2.0}}`

const bodyCompletions = `{"id":"cmpl-3","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,"text":" blue","logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":5,"total_tokens":7,"completion_tokens":2}}`

const bodyChat = `{"id":"chatcmpl-4","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"4","reasoning_content":"2+2 is 4.","tool_calls":null},"logprobs":null,"finish_reason":"stop","matched_stop":151645,"meta_info":{"spec_accept_length":3.5,"spec_verify_ct":2}}],"usage":{"prompt_tokens":9,"total_tokens":16,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":4}}}`
