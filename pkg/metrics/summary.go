package metrics

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/stats"
)

// Bounds on chart data carried in a summary.
const (
	maxSeriesPoints  = 1000
	maxCDFPoints     = 200
	maxLatencyPoints = 800
	maxFailPoints    = 200
	maxDriftEvents   = 100
)

// Summaries computes the summaries: one for the whole input, or one per group (sorted by group value)
// with --group-by. A run with no events or no successes still gives a valid summary of zeros, with
// notes saying why.
func (a *Accumulator) Summaries() []records.Summary {
	if len(a.rows) == 0 {
		s := records.Summary{Compat: a.opts.Compat}
		s.Notes = append(slices.Clone(a.notes), "no events were read")
		if a.opts.Details {
			s.Details = &records.Details{InputLens: []int{}, OutputLens: []int{}, TTFTs: []float64{},
				ITLs: [][]float64{}, GeneratedTexts: []string{}, Errors: []string{}}
		}
		a.fillRun(&s, nil)
		return []records.Summary{s}
	}
	t0, tEnd := a.rows[0].sent, a.rows[0].end
	for i := range a.rows {
		t0 = min(t0, a.rows[i].sent)
		tEnd = max(tEnd, a.rows[i].end)
	}
	lo, hi := t0, int64(math.MaxInt64)
	windowed := false
	if a.opts.SkipFirst > 0 {
		lo, windowed = t0+int64(a.opts.SkipFirst), true
	}
	if a.opts.SkipLast > 0 {
		hi, windowed = tEnd-int64(a.opts.SkipLast), true
	}
	if w := a.opts.Window; w != nil {
		lo, hi, windowed = max(lo, t0+int64(w[0])), min(hi, t0+int64(w[1])), true
	}
	byGroup := make([][]int, max(len(a.groups), 1))
	for i := range a.rows {
		r := &a.rows[i]
		if r.sent < lo || r.sent >= hi {
			continue
		}
		byGroup[r.group] = append(byGroup[r.group], i)
	}
	order := make([]int, len(byGroup))
	for i := range order {
		order[i] = i
	}
	if a.opts.GroupBy != "" {
		sort.Slice(order, func(x, y int) bool { return a.groups[order[x]] < a.groups[order[y]] })
	}
	var out []records.Summary
	for _, g := range order {
		idx := byGroup[g]
		s := a.summarize(idx)
		if a.opts.GroupBy != "" {
			s.Group = &records.GroupKey{By: a.opts.GroupBy, Value: a.groups[g]}
		}
		if windowed {
			end := tEnd
			if hi < end {
				end = hi
			}
			s.Window = &records.Window{Start: float64(lo-t0) / 1e9, End: float64(end-t0) / 1e9}
			if len(idx) == 0 {
				s.Notes = append(s.Notes, "the window selects no events")
			}
		}
		out = append(out, s)
	}
	return out
}

// outputTokens is the number of output tokens counted for a successful request.
//
// bs rule: the server's usage.completion_tokens if reported, else the sum of chunk_tokens if known,
// else the number of chunks. --compat sglang: what the reference's request function would have
// recorded for the backend (fact sheet §3): native — last completion_tokens (usage, else Σ chunk
// tokens), else the requested length; completions — usage only when it came inside counted chunks
// (Σ chunk tokens), else the requested length; chat — usage if any chunk had it, else the requested
// length; trt/truss — the requested length; embeddings — 0.
func (a *Accumulator) outputTokens(r *row) int {
	if a.opts.Compat != CompatSGLang {
		switch {
		case r.usageOut >= 0:
			return int(r.usageOut)
		case r.sumTok >= 0:
			return int(r.sumTok)
		}
		return int(r.nChunks)
	}
	b := a.streams[r.stream].backend
	switch {
	case embeddingBackends[b]:
		return 0
	case nativeBackends[b] || b == "":
		if r.usageOut >= 0 {
			return int(r.usageOut)
		}
		if r.sumTok >= 0 {
			return int(r.sumTok)
		}
	case completionBackends[b]:
		if r.sumTok >= 0 {
			return int(r.sumTok)
		}
	case chatBackends[b]:
		if r.usageOut >= 0 {
			return int(r.usageOut)
		}
	}
	return int(r.outputLen)
}

// perRequest holds the per-request value arrays of one summary, in dispatch order.
type perRequest struct {
	ttft, e2e, tpot            []float64
	ttftSched, e2eSched, queue []float64
	outLen                     []float64
}

// summarize computes one summary over the given rows.
func (a *Accumulator) summarize(idx []int) records.Summary {
	compat := a.opts.Compat == CompatSGLang
	s := records.Summary{Compat: a.opts.Compat, Requests: len(idx)}
	s.Notes = slices.Clone(a.notes)
	// Dispatch order: input stream, then seq (the reference's lists are in dispatch order).
	slices.SortFunc(idx, func(x, y int) int {
		rx, ry := &a.rows[x], &a.rows[y]
		return cmp.Or(cmp.Compare(rx.stream, ry.stream), cmp.Compare(rx.seq, ry.seq), cmp.Compare(x, y))
	})
	streamsUsed := map[int32]bool{}
	for _, i := range idx {
		streamsUsed[a.rows[i].stream] = true
	}
	a.fillRun(&s, streamsUsed)
	mode := itlMode{retok: compat && s.AcceptLength != nil && *s.AcceptLength > 0}

	var firstSent, lastEnd int64 = math.MaxInt64, math.MinInt64
	multiTurn := false
	for _, i := range idx {
		r := &a.rows[i]
		firstSent = min(firstSent, r.sent)
		lastEnd = max(lastEnd, r.end)
		multiTurn = multiTurn || r.multiTurn
	}
	if len(idx) > 0 {
		fs, le := time.Unix(0, firstSent).UTC(), time.Unix(0, lastEnd).UTC()
		s.FirstSent, s.LastEnd = &fs, &le
		s.Duration = float64(lastEnd-firstSent) / 1e9
	}

	var pr perRequest
	totalOut, retokTotal, retokMissing := 0, 0, 0
	var errs map[string]int
	for _, i := range idx {
		r := &a.rows[i]
		if !r.ok {
			if errs == nil {
				errs = map[string]int{}
			}
			errs[a.kinds[r.errKind]]++
			continue
		}
		s.Completed++
		out := a.outputTokens(r)
		totalOut += out
		if !(compat && multiTurn) {
			s.TotalInput += int(r.promptLen)
			s.TotalInputText += int(r.textLen)
			s.TotalInputVision += int(r.visionLen)
		}
		if r.retok >= 0 {
			retokTotal += int(r.retok)
		} else {
			retokMissing++
		}
		lat := float64(r.end-r.sent) / 1e9
		hasTTFT := r.nChunks > 0
		ttft := 0.0
		if hasTTFT {
			ttft = float64(a.firstChunk(r)) / 1e9
		}
		if hasTTFT || compat {
			pr.ttft = append(pr.ttft, ttft)
			if out > 1 {
				pr.tpot = append(pr.tpot, (lat-ttft)/float64(out-1))
			}
		}
		if hasTTFT {
			pr.ttftSched = append(pr.ttftSched, float64(r.sent-r.sched+a.firstChunk(r))/1e9)
		}
		pr.e2e = append(pr.e2e, lat)
		pr.e2eSched = append(pr.e2eSched, float64(r.end-r.sched)/1e9)
		pr.outLen = append(pr.outLen, float64(out))
	}
	for _, i := range idx {
		r := &a.rows[i]
		pr.queue = append(pr.queue, float64(r.sent-r.sched)/1e9)
	}
	s.Failed = s.Requests - s.Completed
	s.Errors = errs
	if s.Requests > 0 {
		s.ErrorRate = float64(s.Failed) / float64(s.Requests)
	}
	s.TotalOutput = totalOut
	if compat && multiTurn {
		s.Notes = append(s.Notes, "multi-turn run: input token totals are 0, as the reference reports them (--compat sglang)")
	}
	if a.opts.Tokenizer != nil && s.Completed > 0 {
		if retokMissing == s.Completed {
			s.Notes = append(s.Notes, "retokenized output not computed: the events carry no text (run bs-fire with --record-text)")
		} else {
			v := retokTotal
			s.TotalOutputRetokenized = &v
			if retokMissing > 0 {
				s.Notes = append(s.Notes, fmt.Sprintf("retokenized output covers %d of %d successful requests (the others carry no text)",
					s.Completed-retokMissing, s.Completed))
			}
		}
	}

	switch {
	case s.Requests > 0 && s.Completed == 0:
		s.Notes = append(s.Notes, fmt.Sprintf("no request succeeded (%d failed): every latency statistic and throughput is 0", s.Failed))
	}
	dur := s.Duration
	if dur > 0 {
		s.RequestThroughput = float64(s.Completed) / dur
		s.InputThroughput = float64(s.TotalInput) / dur
		s.OutputThroughput = float64(s.TotalOutput) / dur
		s.TotalThroughput = float64(s.TotalInput+s.TotalOutput) / dur
		s.Concurrency = stats.Sum(pr.e2e) / dur
		if s.TotalOutputRetokenized != nil {
			o := float64(*s.TotalOutputRetokenized) / dur
			t := float64(s.TotalInput+*s.TotalOutputRetokenized) / dur
			s.OutputThroughputRetokenized, s.TotalThroughputRetokenized = &o, &t
		}
	} else if s.Requests > 0 {
		s.Notes = append(s.Notes, "duration is 0: throughputs and concurrency are reported as 0")
	}

	// Peaks (and the per-second series) before the value arrays are sorted.
	buckets := a.peaks(idx, &s)
	s.PeakInFlight = a.peakInFlight(idx)

	// SLO needs each request's own values, so it runs before the arrays are sorted.
	if a.opts.SLO != nil {
		s.SLO = a.slo(idx, mode, dur)
	}

	p := a.opts.Percentiles
	s.E2E = stats.Describe(pr.e2e, p, a.cdfAlso(len(pr.e2e))...)
	s.TTFT = stats.Describe(pr.ttft, p, a.cdfAlso(len(pr.ttft))...)
	s.TPOT = stats.Describe(pr.tpot, p)
	s.TTFTSched = stats.Describe(pr.ttftSched, p)
	s.E2ESched = stats.Describe(pr.e2eSched, p)
	s.Queue = stats.Describe(pr.queue, p)
	s.OutputLen = stats.Describe(pr.outLen, p)

	// The pooled ITL lists can be large: build, describe and drop one at a time.
	bad := 0
	size := 0
	for _, i := range idx {
		if r := &a.rows[i]; r.ok {
			size += max(int(r.sumTok), int(r.nChunks))
		}
	}
	itl := make([]float64, 0, size)
	for _, i := range idx {
		if r := &a.rows[i]; r.ok {
			itl = a.appendRefITL(itl, r, mode, &bad)
		}
	}
	s.ITL = stats.Describe(itl, p, a.cdfAlso(len(itl))...)
	if bad > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d chunks retokenized to no tokens or had no text: their ITL was kept undivided (the reference divides by zero)", bad))
	}
	var series *records.Series
	if a.opts.Series {
		series = &records.Series{}
		series.ITLCDF = cdf(itl)
		series.TTFTCDF = cdf(pr.ttft)
		series.E2ECDF = cdf(pr.e2e)
	}
	itl = itl[:0]
	for _, i := range idx {
		if r := &a.rows[i]; r.ok {
			itl = appendChunkITL(itl, a.chunkNS(r))
		}
	}
	s.ITLChunk = stats.Describe(itl, p)
	itl = itl[:0]
	for _, i := range idx {
		if r := &a.rows[i]; r.ok {
			itl = a.appendTokITL(itl, r)
		}
	}
	s.ITLToken = stats.Describe(itl, p)
	itl = nil

	s.ScheduleLag = a.scheduleLag(idx, streamsUsed, &s)
	s.Drift = a.drift(idx)
	s.Cache = a.cacheReport(idx, s.Run.CacheReport)
	if series != nil {
		a.fillSeries(series, idx, buckets)
		s.Series = series
	}
	if a.opts.Details {
		s.Details = a.details(idx)
	}
	return s
}

// secondBuckets are the reference's per-second counts (fact sheet §5.4).
type secondBuckets struct {
	tokens, requests []float64
}

// peaks computes the reference's peak output tokens/s and peak concurrent requests over successful
// requests: with t0 the earliest send, each output event (the first token at send + TTFT, then one
// per ITL entry, cumulated) adds 1 to bucket int(t − t0); each request adds 1 to every bucket from
// int(send − t0) to int(end − t0); there are ceil(max end − t0) + 1 buckets.
func (a *Accumulator) peaks(idx []int, s *records.Summary) secondBuckets {
	var t0, tEnd int64 = math.MaxInt64, math.MinInt64
	n := 0
	for _, i := range idx {
		if r := &a.rows[i]; r.ok {
			t0 = min(t0, r.sent)
			tEnd = max(tEnd, r.end)
			n++
		}
	}
	if n == 0 {
		return secondBuckets{}
	}
	compat := a.opts.Compat == CompatSGLang
	nb := int(math.Ceil(float64(tEnd-t0)/1e9)) + 1
	b := secondBuckets{tokens: make([]float64, nb), requests: make([]float64, nb)}
	var buf []float64
	bad := 0
	for _, i := range idx {
		r := &a.rows[i]
		if !r.ok {
			continue
		}
		start := float64(r.sent-t0) / 1e9
		if r.nChunks > 0 || compat {
			t := start
			if r.nChunks > 0 {
				t += float64(a.firstChunk(r)) / 1e9
			}
			add := func(t float64) {
				if k := int(t); t >= 0 && k < nb {
					b.tokens[k]++
				}
			}
			add(t)
			buf = a.appendRefITL(buf[:0], r, itlMode{}, &bad) // the reference cumulates output.itl, not the retokenized list
			for _, v := range buf {
				t += v
				add(t)
			}
		}
		first := int(start)
		last := min(int(float64(r.end-t0)/1e9)+1, nb)
		for k := first; k < last; k++ {
			b.requests[k]++
		}
	}
	s.MaxOutputTokensPerS = slices.Max(b.tokens)
	s.MaxConcurrentRequests = int(slices.Max(b.requests))
	return b
}

// cacheReport sums the prefix-cache hits of the successful requests as the reference's --cache-report
// does: prompt tokens (the server's count when it gave a positive one, else the client's) and cached
// tokens, the tiers of the responses that split them (storage only where positive, its backend named
// by the last such response). It returns nil when the run did not ask for it and no success reported
// a hit.
func (a *Accumulator) cacheReport(idx []int, asked bool) *records.CacheReport {
	c := &records.CacheReport{}
	var tiers records.CacheTiers
	hasTiers := false
	for _, i := range idx {
		r := &a.rows[i]
		if !r.ok {
			continue
		}
		if r.usagePrompt > 0 {
			c.PromptTokens += int(r.usagePrompt)
		} else {
			c.PromptTokens += int(r.promptLen)
		}
		if r.cache < 0 {
			continue
		}
		h := &a.caches[r.cache]
		c.Reporting++
		c.CachedTokens += int(h.cached)
		if h.tiers {
			hasTiers = true
			tiers.Device += int(h.device)
			tiers.Host += int(h.host)
			if h.store > 0 {
				tiers.Storage += int(h.store)
				tiers.StorageBackend = ""
				if h.backend > 0 {
					tiers.StorageBackend = a.backends[h.backend-1]
				}
			}
		}
	}
	if !asked && c.Reporting == 0 {
		return nil
	}
	if c.PromptTokens > 0 {
		c.HitRate = float64(c.CachedTokens) / float64(c.PromptTokens)
	}
	if hasTiers {
		c.Tiers = &tiers
	}
	return c
}

// peakInFlight returns the largest number of counted requests (failures included) in flight at one
// instant: a request is in flight over [sent, end), so one that ends when another is sent does not
// overlap it.
func (a *Accumulator) peakInFlight(idx []int) int {
	starts := make([]int64, 0, len(idx))
	ends := make([]int64, 0, len(idx))
	for _, i := range idx {
		if r := &a.rows[i]; r.end > r.sent { // otherwise never in flight for a measurable time
			starts = append(starts, r.sent)
			ends = append(ends, r.end)
		}
	}
	slices.Sort(starts)
	slices.Sort(ends)
	peak, cur, j := 0, 0, 0
	for _, t := range starts {
		for j < len(ends) && ends[j] <= t { // ends at the same instant come first
			j++
			cur--
		}
		cur++
		peak = max(peak, cur)
	}
	return peak
}

// scheduleLag reports how late requests were sent. bs-fire's trailer measures it itself (requests
// that found a free slot only); without trailers, and only when no concurrency cap made requests wait,
// it is sent − scheduled over the events.
func (a *Accumulator) scheduleLag(idx []int, used map[int32]bool, s *records.Summary) *records.ScheduleLag {
	if len(idx) == 0 {
		return nil
	}
	allTrailers, capped := len(used) > 0, false
	for si := range used {
		st := a.streams[si]
		if st.trailer == nil {
			allTrailers = false
		}
		if st.header != nil && st.header.Run != nil && (st.header.Run.MaxConcurrency > 0 || st.header.Run.Arrival == "closed") {
			capped = true
		}
	}
	if allTrailers {
		l := &records.ScheduleLag{Source: "trailer"}
		for si := range used {
			t := a.streams[si].trailer
			l.P50 = max(l.P50, float64(t.Lag.P50NS)/1e9)
			l.P99 = max(l.P99, float64(t.Lag.P99NS)/1e9)
			l.Max = max(l.Max, float64(t.Lag.MaxNS)/1e9)
			l.Threshold = max(l.Threshold, float64(t.Lag.LimitNS)/1e9)
			l.ClientBound = l.ClientBound || t.Lag.ClientBottleneck
			l.AchievedRate += t.SendRate
		}
		if s.Window != nil || s.Group != nil || a.opts.GroupBy != "" || a.opts.SkipFirst > 0 || a.opts.SkipLast > 0 || a.opts.Window != nil {
			s.Notes = append(s.Notes, "schedule lag comes from bs-fire's trailer and covers whole input streams, not only this window or group")
		}
		return l
	}
	if capped {
		s.Notes = append(s.Notes, "schedule lag unknown: the input has no bs-fire trailer and requests waited for a concurrency slot (see queue instead)")
		return nil
	}
	lag := make([]float64, 0, len(idx))
	var first, last int64 = math.MaxInt64, math.MinInt64
	for _, i := range idx {
		r := &a.rows[i]
		lag = append(lag, float64(r.sent-r.sched)/1e9)
		first, last = min(first, r.sent), max(last, r.sent)
	}
	slices.Sort(lag)
	l := &records.ScheduleLag{Source: "events", P50: stats.Percentile(lag, 50), P99: stats.Percentile(lag, 99),
		Max: lag[len(lag)-1], Threshold: a.opts.LagThreshold.Seconds()}
	l.ClientBound = l.P99 > l.Threshold
	if last > first {
		l.AchievedRate = float64(len(idx)-1) / (float64(last-first) / 1e9)
	}
	return l
}

// sloKeys are the metrics --slo accepts.
var sloKeys = map[string]bool{"ttft": true, "tpot": true, "e2e": true, "itl": true, "ttft_sched": true, "e2e_sched": true}

// slo counts the requests that succeeded and met every bound. Per request: TTFT, TPOT (requests with
// at most one output token have none and meet it), E2E, the largest of its ITL entries (none: met),
// and the scheduled-time variants.
func (a *Accumulator) slo(idx []int, mode itlMode, dur float64) *records.SLOResult {
	res := &records.SLOResult{Bounds: a.opts.SLO, MetBy: map[string]int{}}
	for k := range a.opts.SLO {
		res.MetBy[k] = 0
	}
	compat := a.opts.Compat == CompatSGLang
	var buf []float64
	bad := 0
	for _, i := range idx {
		r := &a.rows[i]
		if !r.ok {
			continue
		}
		lat := float64(r.end-r.sent) / 1e9
		ttft, hasTTFT := 0.0, r.nChunks > 0
		if hasTTFT {
			ttft = float64(a.firstChunk(r)) / 1e9
		}
		all := true
		for k, bound := range a.opts.SLO {
			met := true
			switch k {
			case "ttft":
				met = (hasTTFT || compat) && ttft <= bound
			case "ttft_sched":
				met = hasTTFT && float64(r.sent-r.sched+a.firstChunk(r))/1e9 <= bound
			case "tpot":
				if out := a.outputTokens(r); out > 1 && (hasTTFT || compat) {
					met = (lat-ttft)/float64(out-1) <= bound
				}
			case "e2e":
				met = lat <= bound
			case "e2e_sched":
				met = float64(r.end-r.sched)/1e9 <= bound
			case "itl":
				buf = a.appendRefITL(buf[:0], r, mode, &bad)
				if len(buf) > 0 {
					met = slices.Max(buf) <= bound
				}
			}
			if met {
				res.MetBy[k]++
			}
			all = all && met
		}
		if all {
			res.Met++
		}
	}
	if dur > 0 {
		res.Goodput = float64(res.Met) / dur
	}
	if len(idx) > 0 {
		res.Attainment = float64(res.Met) / float64(len(idx))
	}
	return res
}

// drift compares server-reported token counts with the prompt's expected lengths.
func (a *Accumulator) drift(idx []int) *records.Drift {
	d := &records.Drift{}
	for _, i := range idx {
		r := &a.rows[i]
		if !r.ok {
			continue
		}
		drifted := false
		if r.usagePrompt >= 0 {
			d.PromptChecked++
			d.ServerInput += int(r.usagePrompt)
			if r.usagePrompt != r.promptLen {
				d.PromptDrifted++
				drifted = true
			}
		}
		if r.usageOut >= 0 {
			d.OutputChecked++
			d.ServerOutput += int(r.usageOut)
			if r.usageOut != r.outputLen {
				d.OutputDrifted++
				drifted = true
			}
		}
		if drifted && len(d.Events) < maxDriftEvents {
			e := records.DriftEvent{ID: int(r.id), Seq: int(r.seq), PromptLen: int(r.promptLen), OutputLen: int(r.outputLen)}
			if r.usagePrompt >= 0 {
				v := int(r.usagePrompt)
				e.ServerPrompt = &v
			}
			if r.usageOut >= 0 {
				v := int(r.usageOut)
				e.ServerOutput = &v
			}
			d.Events = append(d.Events, e)
		}
	}
	if d.PromptChecked == 0 && d.OutputChecked == 0 {
		return nil
	}
	return d
}

// details builds the reference's --output-details arrays in dispatch order (itls: each output's own
// list, per token on native backends, per chunk otherwise, never the retokenized split).
func (a *Accumulator) details(idx []int) *records.Details {
	d := &records.Details{InputLens: []int{}, OutputLens: []int{}, TTFTs: []float64{}, ITLs: [][]float64{},
		GeneratedTexts: []string{}, Errors: []string{}}
	bad := 0
	for _, i := range idx {
		r := &a.rows[i]
		in := int(r.promptLen)
		if r.usagePrompt >= 0 {
			in = int(r.usagePrompt)
		}
		out := 0
		if r.ok {
			out = a.outputTokens(r)
		}
		ttft := 0.0
		if r.nChunks > 0 {
			ttft = float64(a.firstChunk(r)) / 1e9
		}
		d.InputLens = append(d.InputLens, in)
		d.OutputLens = append(d.OutputLens, out)
		d.TTFTs = append(d.TTFTs, ttft)
		d.ITLs = append(d.ITLs, a.appendRefITL([]float64{}, r, itlMode{}, &bad))
		d.GeneratedTexts = append(d.GeneratedTexts, a.texts[i])
		d.Errors = append(d.Errors, a.errs[i])
	}
	return d
}

// cdfIndices are the order statistics a CDF of n values is drawn from (at most maxCDFPoints).
func cdfIndices(n int) []int {
	m := min(n, maxCDFPoints)
	idx := make([]int, 0, m)
	for i := range m {
		k := i
		if m < n {
			k = int(math.Round(float64(i) * float64(n-1) / float64(m-1)))
		}
		idx = append(idx, k)
	}
	return idx
}

// cdf returns (value, cumulative fraction) points of xs, whose cdfIndices must be in sorted position
// (stats.Describe with those indices does that).
func cdf(xs []float64) [][2]float64 {
	n := len(xs)
	if n == 0 {
		return nil
	}
	var pts [][2]float64
	for _, k := range cdfIndices(n) {
		pts = append(pts, [2]float64{xs[k], float64(k+1) / float64(n)})
	}
	return pts
}

// cdfAlso returns the indices Describe must also place, when series are wanted.
func (a *Accumulator) cdfAlso(n int) []int {
	if !a.opts.Series {
		return nil
	}
	return cdfIndices(n)
}

// downsample averages consecutive buckets so that at most maxSeriesPoints remain.
func downsample(xs []float64) ([]float64, int) {
	w := (len(xs) + maxSeriesPoints - 1) / maxSeriesPoints
	if w <= 1 {
		return slices.Clone(xs), 1
	}
	out := make([]float64, 0, (len(xs)+w-1)/w)
	for i := 0; i < len(xs); i += w {
		j := min(i+w, len(xs))
		out = append(out, stats.Sum(xs[i:j])/float64(j-i))
	}
	return out, w
}

// fillSeries adds the per-second series and a sample of per-request latencies over time.
func (a *Accumulator) fillSeries(se *records.Series, idx []int, b secondBuckets) {
	var w int
	se.OutputTokensPerS, w = downsample(b.tokens)
	se.ConcurrentRequests, _ = downsample(b.requests)
	se.BucketSeconds = float64(w)
	if len(idx) == 0 {
		return
	}
	first := int64(math.MaxInt64)
	nOK := 0
	for _, i := range idx {
		first = min(first, a.rows[i].sent)
		if a.rows[i].ok {
			nOK++
		}
	}
	stride := max(1, (nOK+maxLatencyPoints-1)/maxLatencyPoints)
	k, fails := 0, 0
	for _, i := range idx {
		r := &a.rows[i]
		x := float64(r.sent-first) / 1e9
		e2e := float64(r.end-r.sent) / 1e9
		ttft := -1.0
		if r.nChunks > 0 {
			ttft = float64(a.firstChunk(r)) / 1e9
		}
		if r.ok {
			if k%stride == 0 {
				se.Latency = append(se.Latency, [4]float64{x, e2e, ttft, 1})
			}
			k++
		} else if fails < maxFailPoints {
			se.Latency = append(se.Latency, [4]float64{x, e2e, ttft, 0})
			fails++
		}
	}
	slices.SortStableFunc(se.Latency, func(p, q [4]float64) int { return cmp.Compare(p[0], q[0]) })
}

// fillRun describes the run from the headers and trailers of the streams used (all when nil).
func (a *Accumulator) fillRun(s *records.Summary, used map[int32]bool) {
	var first *records.Header
	var differ []string
	seenHost := map[string]bool{}
	for si, st := range a.streams {
		if used != nil && !used[int32(si)] {
			continue
		}
		s.Run.Inputs = append(s.Run.Inputs, st.file)
		if st.trailer != nil {
			if s.Run.ServerInfo == nil && len(st.trailer.ServerInfo) > 0 {
				s.Run.ServerInfo = st.trailer.ServerInfo
			}
			if s.AcceptLength == nil && st.trailer.AcceptLength != nil {
				v := *st.trailer.AcceptLength
				s.AcceptLength = &v
			}
		}
		h := st.header
		if h == nil {
			continue
		}
		if h.Host != "" && !seenHost[h.Host] {
			seenHost[h.Host] = true
			s.Run.Hosts = append(s.Run.Hosts, h.Host)
		}
		if h.StartTime != nil && (s.Run.StartTime == nil || h.StartTime.Before(*s.Run.StartTime)) {
			t := h.StartTime.UTC()
			s.Run.StartTime = &t
		}
		if h.Run == nil {
			continue
		}
		if s.Run.ServerInfo == nil && len(h.Run.ServerInfo) > 0 {
			s.Run.ServerInfo = h.Run.ServerInfo
		}
		if s.AcceptLength == nil && h.Run.AcceptLength != nil {
			v := *h.Run.AcceptLength
			s.AcceptLength = &v
		}
		s.Run.CacheReport = s.Run.CacheReport || h.Run.CacheReport
		if first == nil {
			first = h
			a.fillRunFrom(&s.Run, h)
			continue
		}
		s.Run.NumPrompts += h.Run.NumPrompts
		f := first.Run
		for _, c := range []struct {
			name string
			same bool
		}{
			{"backend", f.Backend == h.Run.Backend}, {"model", f.Model == h.Run.Model},
			{"request_rate", f.RequestRate == h.Run.RequestRate}, {"max_concurrency", f.MaxConcurrency == h.Run.MaxConcurrency},
			{"stream", f.Stream == h.Run.Stream}, {"dataset", datasetOf(first) == datasetOf(h)},
		} {
			if !c.same && !contains(differ, c.name) {
				differ = append(differ, c.name)
			}
		}
	}
	if len(differ) > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("inputs differ in %v: the run description is the first input's", differ))
	}
}

func datasetOf(h *records.Header) string {
	if h.Dataset != "" {
		return h.Dataset
	}
	for i := range h.Inputs {
		if h.Inputs[i].Stream == records.StreamPrompts && h.Inputs[i].Dataset != "" {
			return h.Inputs[i].Dataset
		}
	}
	return ""
}

func (a *Accumulator) fillRunFrom(r *records.SummaryRun, h *records.Header) {
	run := h.Run
	r.Backend, r.Model, r.BaseURL, r.Endpoint = run.Backend, run.Model, run.BaseURL, run.Endpoint
	r.RequestRate, r.Arrival, r.UseTraceTimestamps = run.RequestRate, run.Arrival, run.UseTraceTimestamps
	r.MaxConcurrency, r.NumPrompts, r.Stream, r.Tag = run.MaxConcurrency, run.NumPrompts, run.Stream, run.Tag
	r.DatasetName = datasetOf(h)
	for i := range h.Inputs {
		if h.Inputs[i].Stream == records.StreamPrompts {
			datasetArgs(r, h.Inputs[i].Args)
			break
		}
	}
}

// datasetArgs reads the reference's dataset-size arguments from bs-gen's command line, with the
// reference's defaults (random input/output length 1024, range ratio 0.0, one 1080p image).
func datasetArgs(r *records.SummaryRun, args []string) {
	ri, ro, rr, ic := 1024, 1024, 0.0, 1
	r.RandomInputLen, r.RandomOutputLen, r.RandomRangeRatio, r.ImageCount = &ri, &ro, &rr, &ic
	r.ImageResolution = "1080p"
	val := func(i int, name string) (string, bool) {
		a := args[i]
		if v, ok := cutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
		return "", false
	}
	for i := range args {
		for _, f := range []struct {
			names []string
			set   func(string) error
		}{
			{[]string{"--sharegpt-output-len"}, func(v string) error { return setIntPtr(&r.SharegptOutputLen, v) }},
			{[]string{"--random-input-len", "--random-input"}, func(v string) error { return setIntPtr(&r.RandomInputLen, v) }},
			{[]string{"--random-output-len", "--random-output"}, func(v string) error { return setIntPtr(&r.RandomOutputLen, v) }},
			{[]string{"--random-range-ratio"}, func(v string) error { return setFloatPtr(&r.RandomRangeRatio, v) }},
			{[]string{"--image-count"}, func(v string) error { return setIntPtr(&r.ImageCount, v) }},
			{[]string{"--image-resolution"}, func(v string) error { r.ImageResolution = v; return nil }},
		} {
			for _, n := range f.names {
				if v, ok := val(i, n); ok {
					_ = f.set(v) // a value bs-gen accepted parses; a malformed one keeps the default
				}
			}
		}
	}
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func setIntPtr(p **int, v string) error {
	var n int
	if err := json.Unmarshal([]byte(v), &n); err != nil {
		return err
	}
	*p = &n
	return nil
}

func setFloatPtr(p **float64, v string) error {
	var f float64
	if err := json.Unmarshal([]byte(v), &f); err != nil {
		return err
	}
	*p = &f
	return nil
}
