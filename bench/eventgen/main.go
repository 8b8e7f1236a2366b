// Command eventgen writes a synthetic event stream for throughput measurements of bs-stat:
//
//	go run ./bench/eventgen -n 1000000 -chunks 256 | bs-stat -q --no-series -o /dev/null
//
// Each event is a successful streamed request of -chunks chunks of one token (native /generate style,
// with server usage), sent every 1 ms; times vary deterministically so statistics are not trivial.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n := flag.Int("n", 1000000, "number of events")
	chunks := flag.Int("chunks", 256, "chunk times per event")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339Nano)
	fmt.Fprintf(w, `{"kind":"header","format":1,"stream":"events","tool":"eventgen","version":"bench","start_time":%q,"run":{"backend":"sglang","base_url":"http://127.0.0.1:1","endpoint":"/generate","model":"m","request_rate":1000,"arrival":"poisson","num_prompts":%d,"stream":true}}`+"\n", start, *n)
	buf := make([]byte, 0, 16<<10)
	for i := range *n {
		sent := int64(i) * 1_000_000
		buf = buf[:0]
		buf = append(buf, `{"id":`...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, `,"seq":`...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, `,"request_id":"bench-`...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, `","scheduled_ns":`...)
		buf = strconv.AppendInt(buf, sent, 10)
		buf = append(buf, `,"sent_ns":`...)
		buf = strconv.AppendInt(buf, sent+int64(i%97)*1000, 10)
		buf = append(buf, `,"headers_ns":`...)
		buf = strconv.AppendInt(buf, sent+2_000_000, 10)
		t := int64(40_000_000 + (i*7919)%20_000_000)
		buf = append(buf, `,"chunk_ns":[`...)
		for j := range *chunks {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, t, 10)
			t += 15_000_000 + int64((i*31+j*17)%5_000_000)
		}
		buf = append(buf, `],"chunk_tokens":[`...)
		for j := range *chunks {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '1')
		}
		buf = append(buf, `],"end_ns":`...)
		buf = strconv.AppendInt(buf, sent+int64(i%97)*1000+t, 10)
		buf = append(buf, `,"ok":true,"status":200,"finish_reason":"length","prompt_len":1024,"output_len":`...)
		buf = strconv.AppendInt(buf, int64(*chunks), 10)
		buf = append(buf, `,"usage_prompt_tokens":1024,"usage_completion_tokens":`...)
		buf = strconv.AppendInt(buf, int64(*chunks), 10)
		buf = append(buf, "}\n"...)
		if _, err := w.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, "eventgen:", err)
			os.Exit(1)
		}
	}
}
