package backends

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/records"
)

// Streams of n events shaped like the servers' (see wire_test.go for single recorded examples).

func nativeStream(n int) []byte {
	var b bytes.Buffer
	var text strings.Builder
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		text.WriteString(" word")
		ids = append(ids, fmt.Sprint(1000+i))
		fin := "null"
		if i == n-1 {
			fin = fmt.Sprintf(`{"type":"length","length":%d}`, n)
		}
		fmt.Fprintf(&b, `data: {"text":%q,"output_ids":[%s],"meta_info":{"id":"7c2f1e0a9b","finish_reason":%s,"prompt_tokens":1024,"weight_version":"default","total_retractions":0,"completion_tokens":%d,"cached_tokens":512,"e2e_latency":0.%d}}`+"\n\n",
			text.String(), ids[len(ids)-1], fin, i+1, 100+i)
	}
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

func completionsStream(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `data: {"id":"cmpl-8a7c6b5d4e3f","object":"text_completion","created":1700000000,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,"text":" word","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}`+"\n\n")
	}
	b.WriteString(`data: {"id":"cmpl-8a7c6b5d4e3f","object":"text_completion","created":1700000000,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[],"usage":{"prompt_tokens":1024,"total_tokens":2048,"completion_tokens":1024}}` + "\n\ndata: [DONE]\n\n")
	return b.Bytes()
}

func chatStream(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-8a7c6b5d4e3f","object":"chat.completion.chunk","created":1700000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"role":null,"content":" word","reasoning_content":null,"tool_calls":null},"logprobs":null,"finish_reason":null,"matched_stop":null}],"usage":null}`+"\n\n")
	}
	b.WriteString(`data: {"id":"chatcmpl-8a7c6b5d4e3f","object":"chat.completion.chunk","created":1700000000,"model":"Qwen/Qwen3-8B","choices":[],"usage":{"prompt_tokens":1024,"total_tokens":2048,"completion_tokens":1024}}` + "\n\ndata: [DONE]\n\n")
	return b.Bytes()
}

// benchParse parses a whole stream per iteration and reports the cost per SSE event.
func benchParse(b *testing.B, name string, wire []byte, events int) {
	be, err := New(name, baseOpts())
	if err != nil {
		b.Fatal(err)
	}
	bk := be.(*backend)
	r := bytes.NewReader(wire)
	var clock int64
	now := func() int64 { clock++; return clock }
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		r.Reset(wire)
		st := statePool.Get().(*reqState)
		ev := records.Event{OutputLen: events}
		bk.parse(context.Background(), st, &ev, r, true, now)
		putState(st)
		if !ev.OK || len(ev.ChunkNS) != events {
			b.Fatalf("%v %s %d", ev.OK, ev.Error, len(ev.ChunkNS))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(events), "ns/event")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N)/float64(events), "cpu-ns/event")
	}
}

func BenchmarkParseNative1k(b *testing.B)      { benchParse(b, "sglang", nativeStream(1000), 1000) }
func BenchmarkParseNative100(b *testing.B)     { benchParse(b, "sglang", nativeStream(100), 100) }
func BenchmarkParseCompletions1k(b *testing.B) { benchParse(b, "vllm", completionsStream(1000), 1000) }
func BenchmarkParseChat1k(b *testing.B)        { benchParse(b, "sglang-oai-chat", chatStream(1000), 1000) }

// BenchmarkChatChunkEncodingJSON is the baseline the scanner replaced: decoding one chat chunk into
// small structs with encoding/json.
func BenchmarkChatChunkEncodingJSON(b *testing.B) {
	line := []byte(`{"id":"chatcmpl-8a7c6b5d4e3f","object":"chat.completion.chunk","created":1700000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"role":null,"content":" word","reasoning_content":null,"tool_calls":null},"logprobs":null,"finish_reason":null,"matched_stop":null}],"usage":null}`)
	type delta struct {
		Content          *string `json:"content"`
		ReasoningContent *string `json:"reasoning_content"`
		Reasoning        *string `json:"reasoning"`
	}
	type chunk struct {
		ID      string `json:"id"`
		Choices []struct {
			Delta        delta   `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
		Error json.RawMessage `json:"error"`
	}
	b.ReportAllocs()
	cpu0 := processCPU()
	defer func() {
		if cpu := processCPU() - cpu0; cpu > 0 {
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		}
	}()
	for i := 0; i < b.N; i++ {
		var c chunk
		if err := json.Unmarshal(line, &c); err != nil || len(c.Choices) != 1 {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildChatBody(b *testing.B) {
	be, _ := New("vllm-chat", baseOpts())
	bk := be.(*backend)
	p := &records.Prompt{Text: strings.Repeat("lorem ipsum ", 400), OutputLen: 256}
	var bl builder
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := bk.buildBody(&bl, p, nil); err != nil {
			b.Fatal(err)
		}
	}
}
