package fire

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStartBody(t *testing.T) {
	five, three, one := 5, 3, 1
	prefix := "pre"
	for _, tc := range []struct {
		name string
		p    Profile
		want string
		stop string
	}{
		// Defaults: the reference's key order, nulls for unset values.
		{"defaults", Profile{Activities: []string{"CPU", "GPU"}, OutputDir: "/tmp/1.5"},
			`{"activities": ["CPU", "GPU"], "num_steps": null, "profile_by_stage": false, "profile_stages": null, "output_dir": "/tmp/1.5", "profile_prefix": null}`,
			`{}`},
		// By stage without a step count asks for 5 steps.
		{"by stage", Profile{Activities: []string{"GPU"}, ByStage: true, Stages: []string{"prefill"}, OutputDir: "/d", Prefix: &prefix},
			`{"activities": ["GPU"], "num_steps": 5, "profile_by_stage": true, "profile_stages": ["prefill"], "output_dir": "/d", "profile_prefix": "pre"}`,
			`{}`},
		// --profile-num-steps is a number; --profile-steps overrides it as a string; start_step is a string at the end.
		{"steps", Profile{NumSteps: &five, Steps: &three, StartStep: &one, OutputDir: "/d"},
			`{"activities": [], "num_steps": "3", "profile_by_stage": false, "profile_stages": null, "output_dir": "/d", "profile_prefix": null, "start_step": "1"}`,
			`{"start_step": "1"}`},
	} {
		if got := string(tc.p.StartBody()); got != tc.want {
			t.Errorf("%s: start body\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if !json.Valid(tc.p.StartBody()) {
			t.Errorf("%s: not JSON", tc.name)
		}
		if got := string(tc.p.StopBody()); got != tc.stop {
			t.Errorf("%s: stop body %s, want %s", tc.name, got, tc.stop)
		}
	}
	if (&Profile{NumSteps: &five}).NeedsStop() || !(&Profile{}).NeedsStop() {
		t.Error("NeedsStop")
	}
	if got := (&Profile{PrefillURLs: []string{"a"}, DecodeURLs: []string{"b"}}).Targets("base"); strings.Join(got, ",") != "a,b" {
		t.Errorf("targets %v", got)
	}
	if got := string(mustJSON("é\"\n")); got != `"\u00e9\"\n"` {
		t.Errorf("mustJSON %s", got)
	}
}

func TestFlushCachePathAndReadyURL(t *testing.T) {
	for _, tc := range [][3]string{
		{"sglang", "60", "/flush_cache?timeout=60"},
		{"sglang-oai-chat", "2.5", "/flush_cache?timeout=2.5"},
		{"vllm", "60", "/reset_prefix_cache"},
		{"vllm-chat", "60", "/reset_prefix_cache"},
		{"lmdeploy", "60", "/flush_cache"},
	} {
		var f float64
		json.Unmarshal([]byte(tc[1]), &f)
		if got := FlushCachePath(tc[0], f); got != tc[2] {
			t.Errorf("%s: %s, want %s", tc[0], got, tc[2])
		}
	}
	if ReadyURL("trt", "http://h:1") != "http://h:1" || ReadyURL("vllm", "http://h:1/") != "http://h:1/v1/models" {
		t.Error("ReadyURL")
	}
}

// controlServer records the control requests it receives.
type controlServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string // "METHOD path?query auth=… body"
	info string
	down int // answer 503 to this many ready polls
}

func newControlServer(t *testing.T) *controlServer {
	cs := &controlServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		cs.mu.Lock()
		cs.reqs = append(cs.reqs, r.Method+" "+r.URL.RequestURI()+" auth="+r.Header.Get("Authorization")+" "+string(b))
		down := cs.down > 0
		if down && r.URL.Path == "/v1/models" {
			cs.down--
		}
		cs.mu.Unlock()
		switch r.URL.Path {
		case "/v1/models":
			if down {
				w.WriteHeader(503)
				return
			}
			io.WriteString(w, `{"object":"list","data":[{"id":"org/model-7b","object":"model"}]}`)
		case "/server_info":
			if cs.info == "" {
				w.WriteHeader(404)
				return
			}
			io.WriteString(w, cs.info)
		case "/flush_cache", "/reset_prefix_cache", "/start_profile", "/stop_profile":
			io.WriteString(w, "ok")
		default:
			w.WriteHeader(500)
		}
	}))
	t.Cleanup(cs.Close)
	return cs
}

func TestServerCalls(t *testing.T) {
	cs := newControlServer(t)
	cs.down = 1 // the first poll fails, the second succeeds
	s := &Server{Client: NewClient(2), BaseURL: cs.URL, Authorization: "Bearer k"}
	ctx := context.Background()
	if err := s.WaitReady(ctx, ReadyURL("sglang", cs.URL), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	m, err := s.DetectModel(ctx)
	if err != nil || m != "org/model-7b" {
		t.Fatalf("model %q, %v", m, err)
	}
	if err := s.FlushCache(ctx, "sglang", 60); err != nil {
		t.Fatal(err)
	}
	p := &Profile{Activities: []string{"CPU"}, OutputDir: "/x"}
	if err := s.PostProfile(ctx, cs.URL, "/start_profile", p.StartBody()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /v1/models auth=Bearer k ",
		"GET /v1/models auth=Bearer k ",
		"GET /v1/models auth=Bearer k ",
		"POST /flush_cache?timeout=60 auth=Bearer k ",
		"POST /start_profile auth= " + string(p.StartBody()), // no auth on profiler calls, as the reference
	}
	if strings.Join(cs.reqs, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(cs.reqs, "\n"), strings.Join(want, "\n"))
	}
	// /server_info: 404 → nothing; an object → kept compact, accept length read.
	if info, al := s.ServerInfo(ctx); info != nil || al != nil {
		t.Errorf("404 gave %s %v", info, al)
	}
	cs.info = `{"a": 1, "internal_states": [{"avg_spec_accept_length": 2.75}]}`
	info, al := s.ServerInfo(ctx)
	if string(info) != `{"a":1,"internal_states":[{"avg_spec_accept_length":2.75}]}` || al == nil || *al != 2.75 {
		t.Errorf("server info %s %v", info, al)
	}
	cs.info = `[1,2]`
	if info, _ := s.ServerInfo(ctx); info != nil {
		t.Errorf("non-object kept: %s", info)
	}
	// An unreachable server fails the ready check with a clear message, and ServerInfo never fails.
	dead := &Server{Client: NewClient(1), BaseURL: closedURL(t)}
	if err := dead.WaitReady(ctx, ReadyURL("sglang", dead.BaseURL), time.Second); err == nil || !strings.Contains(err.Error(), "not ready") {
		t.Errorf("ready check: %v", err)
	}
	if info, al := dead.ServerInfo(ctx); info != nil || al != nil {
		t.Error("dead server info")
	}
	if err := dead.WaitReady(ctx, "x", 0); err != nil {
		t.Errorf("timeout 0 must skip the check: %v", err)
	}
}

func TestAcceptLength(t *testing.T) {
	for _, tc := range []struct {
		info string
		want float64 // 0 = none
	}{
		{`{"internal_states":[{"avg_spec_accept_length":3.5},{"avg_spec_accept_length":9}]}`, 3.5},                                    // first scheduler
		{`{"decode":[{"internal_states":[{"avg_spec_accept_length":2.25}]}],"internal_states":[{"avg_spec_accept_length":9}]}`, 2.25}, // PD router
		{`{"internal_states":[{}]}`, 0},
		{`{"internal_states":[]}`, 0},
		{`{"internal_states":[{"avg_spec_accept_length":null}]}`, 0},
		{`{"decode":[]}`, 0},
		{`{}`, 0},
	} {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tc.info), &m); err != nil {
			t.Fatal(err)
		}
		got := AcceptLength(m)
		if (got == nil) != (tc.want == 0) || (got != nil && *got != tc.want) {
			t.Errorf("%s: got %v, want %v", tc.info, got, tc.want)
		}
	}
}

// closedURL returns the URL of a 127.0.0.1 port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// Connections opened by Preconnect are the ones the run's first wave uses: no new connection is made.
func TestPreconnectReuse(t *testing.T) {
	var mu sync.Mutex
	conns, active := 0, 0
	ts := newTestServerConnState(t, func(_ net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch st {
		case http.StateNew:
			conns++
		case http.StateActive:
			active++
		}
	})
	ts.hold = make(chan struct{})
	ts.reached, ts.reachAt = make(chan struct{}), 50
	client := NewClient(50)
	if n := Preconnect(context.Background(), client, ts.URL, 50); n != 50 {
		t.Fatalf("Preconnect opened %d connections, want 50", n)
	}
	r := newRunner(ts, textPrompts(50, 1))
	r.Client = client
	go func() { ts.waitReached(t); close(ts.hold) }()
	runStream(t, r)
	mu.Lock()
	defer mu.Unlock()
	if conns != 50 || active != 50 {
		t.Errorf("%d connections accepted, %d used; want the 50 preconnected ones", conns, active)
	}
	client.CloseIdleConnections()
	// Old preconnected connections are not used: the dialer closes them and dials afresh.
	d := client.Transport.(*transport).dialer
	if n := Preconnect(context.Background(), client, ts.URL, 1); n != 1 {
		t.Fatal(n)
	}
	d.pool[0].at = time.Now().Add(-PreconnectMaxAge)
	if c := d.take(d.pool[0].addr); c != nil {
		t.Error("a stale preconnected connection was handed out")
	}
	if Preconnect(context.Background(), http.DefaultClient, ts.URL, 1) != 0 {
		t.Error("Preconnect on a foreign client")
	}
}
