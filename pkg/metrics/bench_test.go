package metrics

import (
	"bytes"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

// benchEvents returns a JSONL event stream (header + n events with 256 chunk times each), like a
// streaming run of 256-token answers.
func benchEvents(b testing.TB, n int) []byte {
	var buf bytes.Buffer
	w := records.NewWriter(&buf)
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	if err := w.WriteHeader(records.Header{Stream: records.StreamEvents, Tool: "bench", StartTime: &start,
		Run: &records.Run{Backend: "sglang", RequestRate: records.Rate(100), NumPrompts: n, Stream: true}}); err != nil {
		b.Fatal(err)
	}
	usage := 256
	for i := range n {
		ev := records.Event{ID: i, Seq: i, RequestID: "0123456789abcdef", ScheduledNS: int64(i) * 10_000_000,
			SentNS: int64(i)*10_000_000 + 12345, OK: true, Status: 200, PromptLen: 1024, OutputLen: 256,
			UsagePromptTokens: &usage, UsageCompletionTokens: &usage, FinishReason: "length"}
		t := int64(50_000_000 + i%1000*1000)
		for j := range 256 {
			ev.ChunkNS = append(ev.ChunkNS, t)
			ev.ChunkTokens = append(ev.ChunkTokens, 1)
			t += 20_000_000 + int64((i*31+j*17)%5_000_000)
		}
		ev.HeadersNS = ev.SentNS + 1_000_000
		ev.EndNS = ev.SentNS + t
		if err := w.Write(&ev); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeAccumulate measures the decode + accumulate path per event (256 chunks each).
func BenchmarkDecodeAccumulate(b *testing.B) {
	data := benchEvents(b, b.N)
	b.SetBytes(int64(len(data) / b.N))
	b.ResetTimer()
	acc, _ := New(Options{})
	rd := records.NewReaderFrom[records.Event](records.StreamEvents, "bench", bytes.NewReader(data))
	if err := acc.ReadAll(rd); err != nil {
		b.Fatal(err)
	}
	if acc.Len() != b.N {
		b.Fatalf("%d events", acc.Len())
	}
}
