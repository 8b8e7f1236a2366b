// Package metrics turns event records into summaries: the reference benchmark's metrics (SGLang
// bench_serving's calculate_metrics, fact sheet §5) computed bit for bit as it computes them, plus the
// bs extras documented in docs/metrics.md (per-chunk and per-token ITL, latency from the scheduled
// time, goodput against SLOs, schedule lag, token-count drift, error breakdown, groups and windows).
//
// An Accumulator is fed one event at a time (vegeta style: Add, then Summaries). It keeps only what
// exact percentiles need: a few numbers per request and the chunk arrival times (plus per-chunk token
// counts when the server reported them), never the events themselves.
package metrics

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

// Tokenizer re-counts generated text (retokenized output counts). *tokenizer.Tokenizer satisfies it;
// this package stays pure Go.
type Tokenizer interface {
	Encode(text string, addSpecialTokens bool) []int
}

// CompatSGLang selects the reference's own per-backend counting rules (Options.Compat).
const CompatSGLang = "sglang"

// Group-by keys accepted in Options.GroupBy.
var GroupKeys = []string{"lora", "group", "session", "backend", "host", "file"}

// Options choose what an Accumulator computes.
type Options struct {
	// Compat is "" (bs rules) or CompatSGLang (what the reference would have counted per backend).
	Compat string
	// Percentiles are extra percentiles (0–100) reported for every distribution.
	Percentiles []float64
	// SLO bounds in seconds by metric (ttft, tpot, e2e, itl, ttft_sched, e2e_sched); nil for none.
	SLO map[string]float64
	// Tokenizer re-counts generated text when events carry it; nil to skip.
	Tokenizer Tokenizer
	// GroupBy is "" or one of GroupKeys: one summary per distinct value.
	GroupBy string
	// SkipFirst drops requests sent in the first SkipFirst of the run; SkipLast those sent in the
	// last SkipLast before the last response ended. Window, if set, keeps only requests sent in
	// [Window[0], Window[1]) after the first send. All three may combine.
	SkipFirst, SkipLast time.Duration
	Window              *[2]time.Duration
	// LagThreshold is the p99 schedule lag above which the client is judged the bottleneck when the
	// input has no trailer to say so (default 10 ms).
	LagThreshold time.Duration
	// Details keeps per-request arrays (the reference's --output-details) in the summary.
	Details bool
	// Series adds compact chart data (time series, CDFs) to the summary.
	Series bool
}

// Backend families, as the reference's request functions treat them.
var (
	nativeBackends     = map[string]bool{"sglang": true, "sglang-native": true}
	completionBackends = map[string]bool{"sglang-oai": true, "vllm": true, "lmdeploy": true}
	chatBackends       = map[string]bool{"sglang-oai-chat": true, "vllm-chat": true, "lmdeploy-chat": true}
	embeddingBackends  = map[string]bool{"sglang-embedding": true, "vllm-embedding": true}
)

// IsEmbedding reports whether backend is an embeddings backend (no output tokens, no TTFT section).
func IsEmbedding(backend string) bool { return embeddingBackends[backend] }

// stream is one input stream: its header (time base, run description), file name and trailer.
type stream struct {
	file     string
	header   *records.Header
	trailer  *records.Trailer
	base     int64 // header StartTime in Unix ns (0 without a header)
	backend  string
	native   bool
	retokITL bool // chunk texts are retokenized for the reference's accept-length ITL rule
}

// row is what is kept of one event.
type row struct {
	sent, end, sched int64 // absolute Unix ns
	blk              int32 // block of Accumulator.store holding the chunks
	chunkOff         int32 // first chunk in that block
	nChunks          int32
	stream           int32
	group            int32
	seq              int32
	id               int32
	promptLen        int32
	textLen          int32
	visionLen        int32
	outputLen        int32 // requested
	sumTok           int32 // Σ chunk_tokens, -1 unknown
	usageOut         int32 // server completion tokens, -1 unknown
	usagePrompt      int32 // server prompt tokens, -1 unknown
	retok            int32 // retokenized output, -1 unknown
	errKind          int16 // index in Accumulator.kinds, -1 for success
	cache            int32 // index in Accumulator.caches, -1 when the server reported no cache hit
	ok               bool
	multiTurn        bool
}

// Accumulator builds summaries from events. Call Begin for each input stream's header, Add for each
// event, End for its trailer, then Summaries.
type Accumulator struct {
	opts    Options
	streams []*stream
	cur     int
	rows    []row
	// store holds every event's chunk data.
	store      chunkStore
	groups     []string
	groupIndex map[string]int32
	kinds      []string
	kindIndex  map[string]int16
	texts      []string // with Details: generated text per row
	caches     []cacheHit
	backends   []string // storage-tier backend names of caches, index+1 in cacheHit.backend
	errs       []string // with Details: error message per row
	notes      []string
	noteSeen   map[string]bool
}

// New returns an Accumulator with the given options. It validates them.
func New(opts Options) (*Accumulator, error) {
	if opts.Compat != "" && opts.Compat != CompatSGLang {
		return nil, fmt.Errorf("unknown --compat %q (want %q)", opts.Compat, CompatSGLang)
	}
	if opts.GroupBy != "" && !contains(GroupKeys, opts.GroupBy) {
		return nil, fmt.Errorf("unknown --group-by %q (want one of %s)", opts.GroupBy, strings.Join(GroupKeys, ", "))
	}
	for _, p := range opts.Percentiles {
		if !(p >= 0 && p <= 100) {
			return nil, fmt.Errorf("percentile %v is outside [0, 100]", p)
		}
	}
	for k, v := range opts.SLO {
		if !sloKeys[k] {
			return nil, fmt.Errorf("unknown SLO metric %q (want ttft, tpot, e2e, itl, ttft_sched or e2e_sched)", k)
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("SLO bound %s=%v must be a positive duration", k, v)
		}
	}
	if opts.LagThreshold == 0 {
		opts.LagThreshold = 10 * time.Millisecond
	}
	return &Accumulator{opts: opts, cur: -1, groupIndex: map[string]int32{}, kindIndex: map[string]int16{},
		noteSeen: map[string]bool{}}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (a *Accumulator) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !a.noteSeen[s] {
		a.noteSeen[s] = true
		a.notes = append(a.notes, s)
	}
}

// Begin starts a new input stream with its header (nil for a stream without one). file names the
// input in notes and for --group-by file.
func (a *Accumulator) Begin(h *records.Header, file string) {
	s := &stream{file: file}
	if h != nil {
		hc := *h
		s.header = &hc
		if h.StartTime != nil {
			s.base = h.StartTime.UnixNano()
		}
		if h.Run != nil {
			s.backend = h.Run.Backend
		}
	}
	if h == nil || h.StartTime == nil {
		a.note("%s has no header start time: its times cannot be aligned with other inputs", file)
	}
	s.native = s.backend == "" || nativeBackends[s.backend]
	s.retokITL = a.opts.Compat == CompatSGLang && a.opts.Tokenizer != nil &&
		(s.backend == "sglang-oai" || s.backend == "sglang-oai-chat")
	a.streams = append(a.streams, s)
	a.cur = len(a.streams) - 1
}

// End records the trailer of the current stream (bs-fire writes one when its run ends normally).
func (a *Accumulator) End(t *records.Trailer) {
	if a.cur < 0 {
		a.Begin(nil, "<input>")
	}
	tc := *t
	a.streams[a.cur].trailer = &tc
}

func (a *Accumulator) groupOf(ev *records.Event, s *stream) int32 {
	var v string
	switch a.opts.GroupBy {
	case "":
		return 0
	case "lora":
		v = ev.Lora
	case "group":
		v = ev.Group
	case "session":
		v = ev.Session
	case "backend":
		v = s.backend
	case "host":
		if s.header != nil {
			v = s.header.Host
		}
	case "file":
		v = s.file
	}
	g, ok := a.groupIndex[v]
	if !ok {
		g = int32(len(a.groups))
		a.groups = append(a.groups, v)
		a.groupIndex[v] = g
	}
	return g
}

func optInt(p *int) int32 {
	if p == nil {
		return -1
	}
	return int32(*p)
}

// Add accumulates one event of the current stream. The event is not retained.
func (a *Accumulator) Add(ev *records.Event) {
	if a.cur < 0 {
		a.Begin(nil, "<input>")
	}
	s := a.streams[a.cur]
	r := row{
		sent: s.base + ev.SentNS, end: s.base + ev.EndNS, sched: s.base + ev.ScheduledNS,
		nChunks: int32(len(ev.ChunkNS)), stream: int32(a.cur),
		group: a.groupOf(ev, s), seq: int32(ev.Seq), id: int32(ev.ID),
		promptLen: int32(ev.PromptLen), textLen: int32(ev.TextPromptLen), visionLen: int32(ev.VisionPromptLen),
		outputLen: int32(ev.OutputLen), sumTok: -1, usageOut: optInt(ev.UsageCompletionTokens),
		usagePrompt: optInt(ev.UsagePromptTokens), retok: -1, errKind: -1, cache: -1, ok: ev.OK, multiTurn: ev.Turn > 0,
	}
	if ev.CachedTokens != nil || ev.CachedDetails != nil {
		r.cache = int32(len(a.caches))
		a.caches = append(a.caches, a.cacheHitOf(ev))
	}
	if ev.TextPromptLen == 0 && ev.VisionPromptLen == 0 {
		r.textLen = r.promptLen
	}
	if !ev.OK {
		k, ok := a.kindIndex[ev.ErrorKind]
		if !ok {
			k = int16(len(a.kinds))
			a.kinds = append(a.kinds, ev.ErrorKind)
			a.kindIndex[ev.ErrorKind] = k
		}
		r.errKind = k
	}
	var rt []int32
	if s.retokITL {
		rt = make([]int32, len(ev.ChunkNS))
		for j := range rt {
			rt[j] = -1
			if j < len(ev.ChunkText) {
				rt[j] = int32(len(a.opts.Tokenizer.Encode(ev.ChunkText[j], false)))
			}
		}
	}
	r.blk, r.chunkOff = a.store.add(ev.ChunkNS, ev.ChunkTokens, rt)
	if len(ev.ChunkTokens) > 0 {
		var sum int32
		for _, k := range ev.ChunkTokens {
			sum += int32(k)
		}
		r.sumTok = sum
	}
	if a.opts.Tokenizer != nil && ev.OK && (ev.Text != "" || len(ev.ChunkText) > 0) {
		text := ev.Text
		if text == "" {
			text = strings.Join(ev.ChunkText, "")
		}
		r.retok = int32(len(a.opts.Tokenizer.Encode(text, false)))
	}
	if a.opts.Details {
		a.texts = append(a.texts, ev.Text)
		a.errs = append(a.errs, ev.Error)
	}
	a.rows = append(a.rows, r)
}

// cacheHit is what a response said of its prefix-cache hit.
type cacheHit struct {
	cached              int32 // cached prompt tokens (0 when only tiers were given: their sum)
	device, host, store int32
	backend             int16 // 1 + index in Accumulator.backends; 0 when none was named
	tiers               bool  // the response split the hit by tier
}

func (a *Accumulator) cacheHitOf(ev *records.Event) cacheHit {
	var h cacheHit
	if t := ev.CachedDetails; t != nil {
		h.device, h.host, h.store, h.tiers = int32(t.Device), int32(t.Host), int32(t.Storage), true
		h.cached = h.device + h.host + h.store
		if t.StorageBackend != "" {
			k := slices.Index(a.backends, t.StorageBackend)
			if k < 0 {
				k = len(a.backends)
				a.backends = append(a.backends, t.StorageBackend)
			}
			h.backend = int16(k + 1)
		}
	}
	if ev.CachedTokens != nil {
		h.cached = int32(*ev.CachedTokens)
	}
	return h
}

// Len returns the number of events added.
func (a *Accumulator) Len() int { return len(a.rows) }

// blockSize is the number of chunks per storage block (8 MiB of times). Blocks avoid copying one huge
// array as it grows: a run of a million 256-chunk answers keeps 2 GiB of chunk times.
const blockSize = 1 << 20

// chunkStore keeps chunk times (and, where known, token counts and retokenized counts) in blocks; an
// event's chunks are contiguous in one block.
type chunkStore struct {
	times  [][]int64
	toks   [][]int32 // per block; nil when no event of the block reported chunk tokens
	retoks [][]int32 // per block; nil unless the accept-length retokenized ITL rule is in use
}

// add stores one event's chunks and returns where they are.
func (c *chunkStore) add(times []int64, toks []int, retoks []int32) (int32, int32) {
	n := len(times)
	b := len(c.times) - 1
	if b < 0 || len(c.times[b])+n > cap(c.times[b]) {
		c.times = append(c.times, make([]int64, 0, max(blockSize, n)))
		c.toks = append(c.toks, nil)
		c.retoks = append(c.retoks, nil)
		b++
	}
	off := len(c.times[b])
	c.times[b] = append(c.times[b], times...)
	pad := func(p *[]int32) {
		if *p == nil {
			*p = make([]int32, off, cap(c.times[b]))
			for i := range *p {
				(*p)[i] = -1
			}
		}
	}
	if len(toks) > 0 || c.toks[b] != nil {
		pad(&c.toks[b])
		for j := range n {
			v := int32(-1)
			if j < len(toks) {
				v = int32(toks[j])
			}
			c.toks[b] = append(c.toks[b], v)
		}
	}
	if retoks != nil || c.retoks[b] != nil {
		pad(&c.retoks[b])
		for j := range n {
			v := int32(-1)
			if j < len(retoks) {
				v = retoks[j]
			}
			c.retoks[b] = append(c.retoks[b], v)
		}
	}
	return int32(b), int32(off)
}
