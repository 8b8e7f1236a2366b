package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a simulated LLM inference server. It implements http.Handler; Serve and Shutdown run
// it on a listener.
type Server struct {
	cfg      Config
	llama    bool // cfg.Mimic == MimicLlamaCpp
	pc       promptCounter
	cache    *prefixCache // nil without Config.PrefixCache
	slots    slots
	seq      atomic.Uint64 // generation requests received
	epoch    time.Time     // server start; carries a monotonic reading
	epochNS  int64         // epoch as Unix nanoseconds
	started  int64         // epoch as Unix seconds, for "created" of model cards
	truth    *jsonlWriter
	bodies   *jsonlWriter
	hs       *http.Server
	quit     chan struct{} // closed by Close: in-flight requests stop at their next event
	quitCtx  context.Context
	quitNow  context.CancelFunc // cancels quitCtx, after quit is closed
	life     sync.RWMutex       // handlers hold it shared; Close takes it exclusively to wait for them
	closed   bool               // guarded by life
	closeErr error
	once     sync.Once
	stopOnce sync.Once
}

// New returns a server with cfg's zero fields set to their defaults, or an error naming every
// invalid field.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("sim: invalid configuration: %w", err)
	}
	now := time.Now()
	s := &Server{
		cfg:     cfg,
		llama:   cfg.Mimic == MimicLlamaCpp,
		pc:      promptCounter{charsPerToken: cfg.CharsPerToken, keys: cfg.PrefixCache},
		slots:   slots{limit: cfg.MaxConcurrency},
		epoch:   now,
		epochNS: now.UnixNano(),
		started: now.Unix(),
		quit:    make(chan struct{}),
	}
	s.quitCtx, s.quitNow = context.WithCancel(context.Background())
	if cfg.PrefixCache {
		s.cache = newPrefixCache(cfg.PrefixCacheBlocks)
	}
	if cfg.TruthLog != nil {
		s.truth = newJSONLWriter(cfg.TruthLog)
	}
	if cfg.RecordBodies != nil {
		s.bodies = newJSONLWriter(cfg.RecordBodies)
	}
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ConnContext:       withConn,
	}
	return s, nil
}

// connKey is the request context key of the request's connection (withConn).
type connKey struct{}

// withConn is the http.Server ConnContext hook of Serve: it puts each connection in its requests'
// context, so streamed events can be written to it directly (gen.flush).
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// streamConn returns the connection to write the events of r's streamed response to, or nil to
// write them through net/http: when the server was not started with Serve (the Server used as a
// plain http.Handler), and for requests older than HTTP/1.1, whose responses are not chunked.
// It must be called after the response headers, which decide the chunked encoding, were flushed.
func streamConn(r *http.Request) net.Conn {
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 {
		return nil
	}
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	return c
}

// ns converts t to Unix nanoseconds on the server's clock: start wall time plus the monotonic time
// elapsed since start.
func (s *Server) ns(t time.Time) int64 { return s.epochNS + int64(t.Sub(s.epoch)) }

// Serve accepts HTTP/1.1 connections on l until Shutdown. It returns http.ErrServerClosed after a
// shutdown.
func (s *Server) Serve(l net.Listener) error { return s.hs.Serve(l) }

// Shutdown stops accepting connections and waits for in-flight requests to finish until ctx is
// done; requests still running then are abandoned (recorded with outcome "shutdown") and their
// connections closed. It then flushes the truth and body logs. It returns ctx's error if the
// wait was cut short, else the first log write error.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.hs.Shutdown(ctx)
	if err != nil {
		s.stop() // before the connections close, so abandoned requests are recorded as "shutdown"
		_ = s.hs.Close()
	}
	return errors.Join(err, s.Close())
}

// stop tells in-flight requests to end at their next event.
func (s *Server) stop() {
	s.stopOnce.Do(func() {
		close(s.quit)
		s.quitNow() // after: a request woken by quitCtx finds quit closed
	})
}

// abandoned returns the reason a request ended early when its connection failed: the server's
// shutdown if it is under way, else the client's going away.
func (s *Server) abandoned() *errStop {
	select {
	case <-s.quit:
		return &errStop{OutcomeShutdown}
	default:
		return &errStop{OutcomeClientClosed}
	}
}

// Close makes in-flight requests stop at their next event, waits for their handlers to return,
// and flushes the truth and body logs. It does not close listeners (see Shutdown). Requests that
// arrive afterwards get 503. Close returns the first log write error; it is safe to call twice.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.stop()
		s.life.Lock()
		s.closed = true
		s.life.Unlock()
		for _, j := range []*jsonlWriter{s.truth, s.bodies} {
			if j != nil {
				if err := j.close(); err != nil {
					s.closeErr = errors.Join(s.closeErr, fmt.Errorf("sim: writing log: %w", err))
				}
			}
		}
	})
	return s.closeErr
}

// endpoint describes a generation route.
type endpoint struct {
	name   string // as written in TruthRecord.Endpoint
	kind   kind
	prefix string // response id prefix
	model  string // Triton model name from the path
	sse    bool   // Triton generate_stream: always an event stream
}

// route maps a generation path to its endpoint.
func route(path string) (endpoint, bool) {
	switch path {
	case "/generate":
		return endpoint{name: "generate", kind: kindNative}, true
	case "/v1/completions":
		return endpoint{name: "completions", kind: kindCompletions, prefix: "cmpl-"}, true
	case "/v1/chat/completions":
		return endpoint{name: "chat", kind: kindChat, prefix: "chatcmpl-"}, true
	case "/v1/models/model:predict":
		return endpoint{name: "truss", kind: kindCompletions, prefix: "cmpl-"}, true
	}
	if rest, ok := strings.CutPrefix(path, "/v2/models/"); ok {
		model, op, ok := strings.Cut(rest, "/")
		if v, ok := strings.CutPrefix(op, "versions/"); ok { // .../versions/<n>/generate[_stream]
			_, op, _ = strings.Cut(v, "/")
		}
		if ok && model != "" {
			switch op {
			case "generate_stream":
				return endpoint{name: "trt", kind: kindTriton, model: model, sse: true}, true
			case "generate":
				return endpoint{name: "trt", kind: kindTriton, model: model}, true
			}
		}
	}
	return endpoint{}, false
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		writeJSON(w, http.StatusServiceUnavailable, []byte(`{"detail":"bs-sim is shutting down"}`))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if s.bodies != nil {
		s.bodies.write(newBodyRecord(s.ns(received), r, body))
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, []byte(`{"detail":"request body larger than `+strconv.FormatInt(s.cfg.MaxBodyBytes, 10)+` bytes (bs-sim --max-body-bytes)"}`))
		return
	case err != nil:
		return // the client went away while sending its body
	}

	ep, isGen := route(r.URL.Path)
	if s.llama {
		if !s.llamaRequestID(w, r) {
			if isGen {
				s.llamaRejectGen(r, ep, received)
			}
			return
		}
		isGen = isGen && (ep.kind == kindCompletions || ep.kind == kindChat) && ep.name != "truss"
	}
	authorized := s.authorized(r)
	if isGen {
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		s.serveGen(w, r, body, ep, received, authorized)
		return
	}
	if !authorized {
		writeUnauthorized(w)
		return
	}
	s.serveInfo(w, r)
}

// authorized checks the API key. /health* and /metrics are always allowed, as in SGLang.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.APIKey == "" || r.Method == http.MethodOptions {
		return true
	}
	p := r.URL.Path
	if strings.HasPrefix(p, "/health") || strings.HasPrefix(p, "/metrics") {
		return true
	}
	return r.Header.Get("Authorization") == "Bearer "+s.cfg.APIKey
}

func writeUnauthorized(w http.ResponseWriter) {
	writeJSON(w, http.StatusUnauthorized, []byte(`{"error":"Unauthorized"}`))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeText(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, []byte(`{"detail":"Method Not Allowed"}`))
}

// serveGen handles one generation request from validation to the last byte, and writes its truth
// record.
func (s *Server) serveGen(w http.ResponseWriter, r *http.Request, body []byte, ep endpoint, received time.Time, authorized bool) {
	seq := s.seq.Add(1) - 1
	xrid := r.Header.Get("X-Request-Id")
	g := &gen{s: s, kind: ep.kind, seq: seq, received: received, created: received.Unix(), text: getBuf(), buf: getBuf()}
	if ep.kind == kindNative {
		g.ids = getBuf()
	}
	defer g.release()
	rec := &TruthRecord{Seq: seq, Endpoint: ep.name, Path: r.URL.Path, XRequestID: xrid, ReceivedNS: s.ns(received)}
	g.rec = rec
	outcome := s.generate(w, r, body, ep, g, authorized)
	rec.Outcome = outcome
	if rec.EndNS == 0 {
		rec.EndNS = s.ns(time.Now())
	}
	rec.CompletionTokens = g.sent
	if outcome == OutcomeOK {
		rec.FinishReason = "length"
		if g.stop {
			rec.FinishReason = "stop"
		}
	}
	if s.truth != nil {
		s.truth.write(rec)
	}
	if outcome == OutcomeDropped {
		// Close the connection without ending the chunked response.
		panic(http.ErrAbortHandler)
	}
}

// generate runs a generation request and returns its outcome, filling g.rec as it goes.
func (s *Server) generate(w http.ResponseWriter, r *http.Request, body []byte, ep endpoint, g *gen, authorized bool) string {
	rec := g.rec
	fail := func(status int, msg string, outcome string) string {
		rec.Status, rec.Error = status, msg
		writeJSON(w, status, appendErrorBody(nil, ep.kind, status, msg))
		return outcome
	}
	id := r.Header.Get("X-Request-Id")
	if id == "" {
		id = fmt.Sprintf("%016x%016x", draw(s.cfg.Seed, g.seq, saltID, 0), draw(s.cfg.Seed, g.seq, saltID, 1))
	}
	rec.ID = id
	if !authorized {
		rec.Status = http.StatusUnauthorized
		writeUnauthorized(w)
		return OutcomeUnauthorized
	}

	var p genParams
	var err error
	switch ep.kind {
	case kindNative:
		p, err = parseNative(body, s.pc)
	case kindCompletions:
		p, err = parseCompletions(body, s.pc)
	case kindChat:
		p, err = parseChat(body, s.pc)
	case kindTriton:
		p, err = parseTriton(body, s.pc, ep.sse)
	}
	if err == nil && p.maxTokens < 0 && p.maxTokens != unset {
		err = badf("the maximum number of tokens must not be negative, got %d", p.maxTokens)
	}
	if err == nil && p.minTokens < 0 {
		err = badf("the minimum number of tokens must not be negative, got %d", p.minTokens)
	}
	if err != nil {
		return fail(http.StatusBadRequest, err.Error(), OutcomeBadRequest)
	}
	if s.llama {
		p = s.llamaParams(p, ep.kind)
		if p.promptTokens+p.maxTokens > s.cfg.MaxModelLen {
			return s.llamaContextExceeded(w, g, p)
		}
	}
	if p.maxTokens == unset {
		p.maxTokens = s.cfg.DefaultOutputLen
	}
	g.p = p

	if p.rid != "" {
		id = p.rid
	}
	g.idJSON = appendJSONString(nil, ep.prefix+id)
	model := p.model
	switch {
	case ep.kind == kindTriton:
		model = ep.model
	case model == "":
		model = s.cfg.Model
	}
	g.modelJSON = appendJSONString(nil, model)
	rec.ID = id
	rec.Stream = p.stream
	rec.PromptTokens = p.promptTokens
	rec.MaxTokens = p.maxTokens
	if s.llama {
		rec.ID = llamaUUID(s.cfg.Seed, g.seq)
		g.idJSON = appendJSONString(nil, ep.prefix+rec.ID)
	} else {
		w.Header().Set("X-Request-Id", id)
	}

	if s.cfg.FailRate > 0 && unit(s.cfg.Seed, g.seq, saltFail, 0) < s.cfg.FailRate {
		return fail(s.cfg.FailStatus, "simulated failure (bs-sim --fail-rate)", OutcomeFailed)
	}
	if s.cache != nil {
		// Once per request, before it queues: the hit depends on the requests that reached this
		// point before it, and the request's own blocks are cached for those that follow.
		g.cached = s.cache.lookup(p.key, p.promptTokens)
		rec.CachedTokens = g.cached
	}
	g.plan()

	rc := http.NewResponseController(w)
	ctx := r.Context()
	rec.Status = http.StatusOK
	place := s.slots.join() // the queue is in arrival order, even if headers go out first
	if p.stream {
		// Headers go out before the wait for a slot, as vLLM sends them before scheduling.
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		if s.llama {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Accel-Buffering", "no")
			g.nextPing = time.Now().Add(s.cfg.PingInterval)
		}
		w.WriteHeader(http.StatusOK)
		if err := rc.Flush(); err != nil {
			s.slots.leave(place)
			return s.abandoned().outcome
		}
		g.conn = streamConn(r)
	}
	if s.llama && p.stream {
		if !g.llamaWaitSlot(ctx, w, rc, place) {
			return s.abandoned().outcome
		}
	} else if !s.slots.wait(place, ctx.Done(), s.quit) {
		return s.abandoned().outcome
	}
	defer s.slots.release()
	defer g.wakeOnStop(ctx)()
	g.t0 = time.Now()
	rec.AdmittedNS = s.ns(g.t0)
	var outcome string
	if p.stream {
		outcome = g.stream(ctx, w, rc)
	} else {
		outcome = g.unary(ctx, w, rc)
	}
	rec.EndNS = s.ns(time.Now()) // before the slot is released
	return outcome
}

// serveInfo answers the non-generation endpoints.
func (s *Server) serveInfo(w http.ResponseWriter, r *http.Request) {
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	path := r.URL.Path
	if s.llama {
		s.llamaInfo(w, r)
		return
	}
	switch path {
	case "/health", "/health_generate":
		if !get {
			methodNotAllowed(w, "GET")
			return
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	case "/v1/models":
		if !get {
			methodNotAllowed(w, "GET")
			return
		}
		b := append([]byte(`{"object":"list","data":[`), s.modelCard()...)
		writeJSON(w, http.StatusOK, append(b, "]}"...))
		return
	case "/model_info", "/get_model_info":
		if !get {
			methodNotAllowed(w, "GET")
			return
		}
		b := []byte(`{"model_path":`)
		b = appendJSONString(b, s.cfg.Model)
		b = append(b, `,"tokenizer_path":`...)
		b = appendJSONString(b, s.cfg.TokenizerPath)
		b = append(b, `,"is_generation":true,"preferred_sampling_params":null,"weight_version":"default"}`...)
		writeJSON(w, http.StatusOK, b)
		return
	case "/server_info", "/get_server_info":
		if !get {
			methodNotAllowed(w, "GET")
			return
		}
		writeJSON(w, http.StatusOK, s.serverInfo())
		return
	}
	if text, ok := plainEndpoints[path]; ok {
		if !get && !post {
			methodNotAllowed(w, "GET, POST")
			return
		}
		if s.cache != nil && (path == "/flush_cache" || path == "/reset_prefix_cache") {
			s.cache.flush()
		}
		writeText(w, http.StatusOK, text)
		return
	}
	if name, ok := strings.CutPrefix(path, "/v1/models/"); ok && get {
		if name == s.cfg.Model {
			writeJSON(w, http.StatusOK, s.modelCard())
			return
		}
		b := []byte(`{"error":{"message":`)
		b = appendJSONString(b, "The model '"+name+"' does not exist")
		b = append(b, `,"type":"invalid_request_error","param":"model","code":"model_not_found"}}`...)
		writeJSON(w, http.StatusNotFound, b)
		return
	}
	writeJSON(w, http.StatusNotFound, []byte(`{"detail":"Not Found"}`))
}

// plainEndpoints are the cache and profiler endpoints, which answer GET or POST with 200 and the
// plain text SGLang sends (vLLM's /reset_prefix_cache sends an empty body). With Config.PrefixCache
// /flush_cache and /reset_prefix_cache clear the simulated cache (even with requests running,
// unlike SGLang); otherwise they do nothing.
var plainEndpoints = map[string]string{
	"/flush_cache":        "Cache flushed.\nPlease check backend logs for more details. (When there are running or waiting requests, the operation will not be performed.)\n",
	"/reset_prefix_cache": "",
	"/start_profile":      "Start profiling.\n",
	"/stop_profile":       "Stop profiling. This will take some time.\n",
}

// modelCard returns the OpenAI model object of the served model.
func (s *Server) modelCard() []byte {
	b := []byte(`{"id":`)
	b = appendJSONString(b, s.cfg.Model)
	b = append(b, `,"object":"model","created":`...)
	b = strconv.AppendInt(b, s.started, 10)
	b = append(b, `,"owned_by":"bs-sim","root":`...)
	b = appendJSONString(b, s.cfg.Model)
	b = append(b, `,"parent":null,"max_model_len":`...)
	b = appendInt(b, s.cfg.MaxModelLen)
	return append(b, '}')
}

// SimInfo is the bs_sim object of /server_info: the simulator's settings and load.
type SimInfo struct {
	TTFTNS            int64   `json:"ttft_ns"`
	PrefillPerTokenNS int64   `json:"prefill_per_token_ns"`
	ITLNS             int64   `json:"itl_ns"`
	Jitter            string  `json:"jitter"`
	Seed              uint64  `json:"seed"`
	TokensPerChunk    int     `json:"tokens_per_chunk"`
	MaxConcurrency    int     `json:"max_concurrency"`
	DefaultOutputLen  int     `json:"default_output_len"`
	EOSAfter          int     `json:"eos_after"`
	CharsPerToken     float64 `json:"chars_per_token"`
	SpecAcceptLength  float64 `json:"spec_accept_length"`
	Requests          uint64  `json:"requests"`
	Running           int     `json:"running"`
	Waiting           int     `json:"waiting"`
}

// serverInfo returns the /server_info body: a subset of SGLang's (server arguments, internal_states
// and version) plus a bs_sim object. internal_states[0].avg_spec_accept_length is present only with
// SpecAcceptLength, as SGLang reports it only with speculative decoding on.
func (s *Server) serverInfo() []byte {
	running, waiting := s.slots.load()
	state := map[string]any{}
	var algo *string
	if x := s.cfg.SpecAcceptLength; x > 0 {
		state["avg_spec_accept_length"] = x
		a := "SIMULATED"
		algo = &a
	}
	var maxRunning *int
	if s.cfg.MaxConcurrency > 0 {
		maxRunning = &s.cfg.MaxConcurrency
	}
	info := struct {
		ModelPath            string           `json:"model_path"`
		TokenizerPath        string           `json:"tokenizer_path"`
		ServedModelName      string           `json:"served_model_name"`
		MaxRunningRequests   *int             `json:"max_running_requests"`
		SpeculativeAlgorithm *string          `json:"speculative_algorithm"`
		InternalStates       []map[string]any `json:"internal_states"`
		Version              string           `json:"version"`
		Sim                  SimInfo          `json:"bs_sim"`
	}{
		ModelPath: s.cfg.Model, TokenizerPath: s.cfg.TokenizerPath, ServedModelName: s.cfg.Model,
		MaxRunningRequests: maxRunning, SpeculativeAlgorithm: algo,
		InternalStates: []map[string]any{state}, Version: "bs-sim",
		Sim: SimInfo{
			TTFTNS: int64(s.cfg.TTFT), PrefillPerTokenNS: int64(s.cfg.PrefillPerToken), ITLNS: int64(s.cfg.ITL),
			Jitter: s.cfg.Jitter.String(), Seed: s.cfg.Seed, TokensPerChunk: s.cfg.TokensPerChunk,
			MaxConcurrency: s.cfg.MaxConcurrency, DefaultOutputLen: s.cfg.DefaultOutputLen,
			EOSAfter: s.cfg.EOSAfter, CharsPerToken: s.cfg.CharsPerToken, SpecAcceptLength: s.cfg.SpecAcceptLength,
			Requests: s.seq.Load(), Running: running, Waiting: waiting,
		},
	}
	b, err := json.Marshal(info)
	if err != nil { // plain data: cannot fail
		panic(err)
	}
	return b
}
