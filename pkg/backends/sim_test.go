package backends

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/internal/jsonscan"
	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/sim"
)

// lockedBuffer is a goroutine-safe log sink for the simulator.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// simServer is a bs-sim server running in-process on 127.0.0.1 with its truth and body logs.
type simServer struct {
	t      *testing.T
	srv    *sim.Server
	hs     *httptest.Server
	truth  lockedBuffer
	bodies lockedBuffer
	closed bool
}

func startSim(t *testing.T, cfg sim.Config) *simServer {
	t.Helper()
	s := &simServer{t: t}
	cfg.TruthLog, cfg.RecordBodies = &s.truth, &s.bodies
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.srv = srv
	s.hs = httptest.NewServer(srv)
	t.Cleanup(s.close)
	return s
}

func (s *simServer) close() {
	if !s.closed {
		s.closed = true
		if err := s.srv.Close(); err != nil {
			s.t.Error(err)
		}
		s.hs.Close()
	}
}

// logs closes the server (flushing its logs) and returns them.
func (s *simServer) logs() ([]sim.TruthRecord, []sim.BodyRecord) {
	s.t.Helper()
	s.close()
	var truth []sim.TruthRecord
	var bodies []sim.BodyRecord
	for _, l := range []struct {
		buf *lockedBuffer
		add func([]byte) error
	}{
		{&s.truth, func(b []byte) error {
			var r sim.TruthRecord
			err := json.Unmarshal(b, &r)
			truth = append(truth, r)
			return err
		}},
		{&s.bodies, func(b []byte) error {
			var r sim.BodyRecord
			err := json.Unmarshal(b, &r)
			bodies = append(bodies, r)
			return err
		}},
	} {
		sc := bufio.NewScanner(bytes.NewReader(l.buf.b.Bytes()))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			if err := l.add(sc.Bytes()); err != nil {
				s.t.Fatalf("sim log line %s: %v", sc.Bytes(), err)
			}
		}
	}
	return truth, bodies
}

// TestSimEndToEnd drives every backend against bs-sim, streamed and not, in bs and compat modes,
// and checks the body bs-sim received (byte for byte), its headers, and the event against bs-sim's
// truth log.
func TestSimEndToEnd(t *testing.T) {
	const out = 9
	for _, name := range Names() {
		for _, stream := range []bool{true, false} {
			for _, compat := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/stream=%v/compat=%v", name, stream, compat), func(t *testing.T) {
					s := startSim(t, sim.Config{Seed: 7, TokensPerChunk: 2, SpecAcceptLength: 1.5})
					opts := baseOpts()
					opts.BaseURL, opts.Stream, opts.RecordText = s.hs.URL, stream, true
					opts.Authorization = "Bearer sk-e2e-secret"
					opts.Header = http.Header{"X-Tenant": {"t1"}}
					if compat {
						opts.Compat = CompatSGLang
					}
					be, err := New(name, opts)
					if err != nil {
						t.Fatal(err)
					}
					p := &records.Prompt{ID: 4, Text: "The quick brown fox", PromptLen: 4, OutputLen: out, RoutingKey: "rk-1"}
					ev := &records.Event{ID: 4, RequestID: "bs-req-4"}
					text := be.Send(context.Background(), &http.Client{}, p, nil, ev, time.Now())
					if !ev.OK {
						t.Fatalf("%s: %s", ev.ErrorKind, ev.Error)
					}
					if err := ev.Validate(); err != nil {
						t.Fatal(err)
					}
					truth, bodies := s.logs()
					if len(truth) != 1 || len(bodies) != 1 {
						t.Fatalf("%d truth records, %d bodies", len(truth), len(bodies))
					}
					tr, br := truth[0], bodies[0]

					// The body bs-sim received is exactly the payload, sent to the backend's path.
					var bl builder
					want, _ := be.(*backend).buildBody(&bl, p, nil)
					if br.Body != string(want) || br.Path+"" != strings.TrimPrefix(be.URL(), s.hs.URL) {
						t.Errorf("bs-sim received %s %s\nwant %s", br.Path, br.Body, want)
					}
					h := br.Headers
					if h.Get("X-Request-Id") != "bs-req-4" || tr.XRequestID != "bs-req-4" {
						t.Errorf("X-Request-Id %q / truth %q", h.Get("X-Request-Id"), tr.XRequestID)
					}
					// (bs-sim's body log redacts X-SMG-Routing-Key too: it treats any "*key*" header as
					// a credential, so only its presence is checked.)
					if name == "trt" {
						if h.Get("Authorization") != "" || h.Get("X-Tenant") != "" || h.Get("X-Smg-Routing-Key") != "" {
							t.Errorf("trt sent headers: %v", h)
						}
					} else if h.Get("Accept-Encoding") != "identity" || h.Get("Authorization") != "Bearer REDACTED" || h.Get("X-Tenant") != "t1" || h.Get("X-Smg-Routing-Key") == "" {
						t.Errorf("headers %v", h)
					}

					// The event agrees with what bs-sim says it sent.
					wantStream := stream || name == "trt"
					if tr.Outcome != sim.OutcomeOK || tr.Stream != wantStream || tr.CompletionTokens != out {
						t.Fatalf("truth %+v", tr)
					}
					if len(ev.ChunkNS) != len(tr.ChunkNS) {
						t.Errorf("%d chunks, bs-sim sent %d", len(ev.ChunkNS), len(tr.ChunkNS))
					}
					kind := be.(*backend).spec.kind
					switch {
					case kind == kindNative:
						if fmt.Sprint(ev.ChunkTokens) != fmt.Sprint(tr.ChunkTokens) {
							t.Errorf("chunk_tokens %v, bs-sim %v", ev.ChunkTokens, tr.ChunkTokens)
						}
					case !wantStream && kind != kindTRT:
						if fmt.Sprint(ev.ChunkTokens) != fmt.Sprint([]int{out}) {
							t.Errorf("chunk_tokens %v", ev.ChunkTokens)
						}
					default:
						if ev.ChunkTokens != nil {
							t.Errorf("chunk_tokens %v without per-chunk counts", ev.ChunkTokens)
						}
					}
					// Output tokens: bs asks for usage on streamed OpenAI requests; the reference
					// reads none there, and never for trt/truss.
					wantUsage := true
					switch {
					case kind == kindTRT:
						wantUsage = false
					case kind == kindTruss:
						wantUsage = !stream && !compat
					case kind == kindCompletions || kind == kindChat:
						wantUsage = !stream || !compat
					}
					if wantUsage != (ev.UsageCompletionTokens != nil) || (wantUsage && *ev.UsageCompletionTokens != out) {
						t.Errorf("usage_completion_tokens %v, want %v", ev.UsageCompletionTokens, wantUsage)
					}
					if kind != kindTRT && (ev.FinishReason != "length" || !strings.Contains(ev.ResponseID, "bs-req-4")) {
						t.Errorf("finish %q id %q", ev.FinishReason, ev.ResponseID)
					}
					if kind == kindNative && (ev.SpecVerifyCt == nil || *ev.SpecVerifyCt != 6 || ev.SpecAcceptLength == nil) {
						t.Errorf("spec figures %v %v", ev.SpecVerifyCt, ev.SpecAcceptLength)
					}
					if text == "" || ev.Text != text || strings.Join(ev.ChunkText, "") != text {
						t.Errorf("text %q, event text %q, chunks %q", text, ev.Text, ev.ChunkText)
					}
					if n := len(strings.Fields(text)); n != out {
						t.Errorf("%d words in %q, want %d (one per token)", n, text, out)
					}
				})
			}
		}
	}
}

// TestSimMultiTurn replays a two-round conversation on a chat backend: the second request carries
// the first reply, and both ask for usage (in compat mode too, as the reference's multi-turn path).
func TestSimMultiTurn(t *testing.T) {
	for _, compat := range []bool{false, true} {
		s := startSim(t, sim.Config{Seed: 3})
		opts := baseOpts()
		opts.BaseURL = s.hs.URL
		opts.NoText = true // as bs-fire runs: multi-turn rounds still get their replies
		if compat {
			opts.Compat = CompatSGLang
		}
		be, _ := New("sglang-oai-chat", opts)
		p := &records.Prompt{ID: 1, Turns: [][]records.Message{{records.TextMessage("user", "one")}, {records.TextMessage("user", "two")}}, OutputLen: 3}
		var hist []records.Message
		var replies []string
		for round, turn := range p.Turns {
			hist = append(hist, turn...)
			ev := &records.Event{RequestID: fmt.Sprint("r", round), Turn: round + 1}
			reply := be.Send(context.Background(), nil, p, hist, ev, time.Now())
			if !ev.OK || ev.UsageCompletionTokens == nil || *ev.UsageCompletionTokens != 3 {
				t.Fatalf("round %d: %+v", round, ev)
			}
			if reply == "" {
				t.Fatalf("round %d: no reply text with NoText (multi-turn rounds need it)", round)
			}
			replies = append(replies, reply)
			hist = append(hist, records.TextMessage("assistant", reply))
		}
		// A single-turn request with NoText returns no text (the stream kept none) and still succeeds.
		ev := &records.Event{RequestID: "single"}
		if text := be.Send(context.Background(), nil, &records.Prompt{ID: 2, Text: "a b", OutputLen: 3}, nil, ev, time.Now()); text != "" || !ev.OK {
			t.Fatalf("single-turn with NoText: text %q, event %+v", text, ev)
		}
		_, bodies := s.logs()
		if len(bodies) != 3 {
			t.Fatalf("%d bodies", len(bodies))
		}
		second := bodies[1].Body
		wantMsgs := `"messages":[{"role":"user","content":"one"},{"role":"assistant","content":` + string(jsonscan.AppendString(nil, replies[0])) + `},{"role":"user","content":"two"}]`
		if !strings.Contains(second, wantMsgs) || !strings.HasSuffix(second, `"stream_options":{"include_usage":true}}`) {
			t.Errorf("second round body %s\nwant messages %s", second, wantMsgs)
		}
	}
}

// TestSimFaults checks bs-sim's injected failures map to the right error kinds.
func TestSimFaults(t *testing.T) {
	cases := []struct {
		cfg  sim.Config
		kind string
		has  string
	}{
		{sim.Config{StreamErrorAfter: 2, StreamErrorRate: 1}, records.ErrServerEvent, "simulated stream error"},
		{sim.Config{DropAfter: 2, DropRate: 1}, records.ErrStreamBroken, "reading the response"},
		{sim.Config{FailRate: 1, FailStatus: 503}, records.ErrHTTPStatus, "Service Unavailable: "},
		{sim.Config{APIKey: "right-key"}, records.ErrHTTPStatus, "Unauthorized: "},
	}
	for i, c := range cases {
		c.cfg.TokensPerChunk = 1
		s := startSim(t, c.cfg)
		for _, name := range Names() {
			if name == "trt" && c.cfg.APIKey != "" {
				continue // trt sends no Authorization header at all
			}
			opts := baseOpts()
			opts.BaseURL = s.hs.URL
			opts.Authorization = "Bearer wrong-key"
			be, _ := New(name, opts)
			ev := &records.Event{RequestID: "x"}
			be.Send(context.Background(), nil, &records.Prompt{Text: "a b", OutputLen: 6}, nil, ev, time.Now())
			if ev.OK || ev.ErrorKind != c.kind || !strings.Contains(ev.Error, c.has) || strings.Contains(ev.Error, "wrong-key") {
				t.Errorf("case %d %s: %v %q %q", i, name, ev.OK, ev.ErrorKind, ev.Error)
			}
			if c.kind == records.ErrServerEvent && len(ev.ChunkNS) != 2 {
				t.Errorf("case %d %s: %d chunks before the error", i, name, len(ev.ChunkNS))
			}
		}
		s.close()
	}
}
