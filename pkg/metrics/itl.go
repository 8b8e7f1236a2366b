package metrics

// The three inter-token-latency views of one request, appended to dst in seconds. A chunk gap is
// taken in integer nanoseconds and converted once (float64(ns)/1e9), then divided by the token count,
// in that order, as the reference divides its perf_counter gap.

// chunkNS returns row r's chunk times (offsets from its send time).
func (a *Accumulator) chunkNS(r *row) []int64 {
	return a.store.times[r.blk][r.chunkOff : r.chunkOff+r.nChunks]
}

// firstChunk returns row r's first chunk time (its TTFT); r must have chunks.
func (a *Accumulator) firstChunk(r *row) int64 { return a.store.times[r.blk][r.chunkOff] }

// chunkToks returns row r's per-chunk token counts, or nil when the server did not report them.
func (a *Accumulator) chunkToks(r *row) []int32 {
	t := a.store.toks[r.blk]
	if t == nil || r.sumTok < 0 {
		return nil
	}
	return t[r.chunkOff : r.chunkOff+r.nChunks]
}

// appendChunkITL appends one entry per gap between consecutive chunks (the OpenAI-style ITL).
func appendChunkITL(dst []float64, c []int64) []float64 {
	for j := 1; j < len(c); j++ {
		dst = append(dst, float64(c[j]-c[j-1])/1e9)
	}
	return dst
}

// appendTokenITL appends the native /generate rule: the first chunk gives no entry whatever its token
// count; a later chunk with k > 0 new tokens gives k entries of gap/k, the gap counted from the
// previous chunk that had tokens; a chunk with k == 0 gives nothing and its time rolls into the next gap.
func appendTokenITL(dst []float64, c []int64, toks []int32) []float64 {
	if len(c) == 0 {
		return dst
	}
	prev := c[0]
	for j := 1; j < len(c); j++ {
		k := toks[j]
		if k <= 0 {
			continue
		}
		v := float64(c[j]-prev) / 1e9 / float64(k)
		for range k {
			dst = append(dst, v)
		}
		prev = c[j]
	}
	return dst
}

// appendRetokITL is the reference's accept-length rule for sglang-oai(-chat): each chunk gap is split
// into n entries of gap/n, n being the chunk text's retokenized length. A chunk that retokenizes to
// nothing (the reference divides by zero there) or has no recorded text gives its undivided gap and
// bad is incremented.
func appendRetokITL(dst []float64, c []int64, rt []int32, bad *int) []float64 {
	for j := 1; j < len(c); j++ {
		gap := float64(c[j]-c[j-1]) / 1e9
		n := rt[j]
		if n <= 0 {
			*bad++
			dst = append(dst, gap)
			continue
		}
		v := gap / float64(n)
		for range n {
			dst = append(dst, v)
		}
	}
	return dst
}

// itlMode is how the reference view is built for a summary.
type itlMode struct {
	retok bool // accept-length rule on sglang-oai(-chat) in --compat sglang
}

// appendRefITL appends row r's ITL the reference's way: per token (native rule) on native /generate
// backends when token counts are known, the accept-length retokenized rule when it applies, and per
// chunk otherwise.
func (a *Accumulator) appendRefITL(dst []float64, r *row, m itlMode, bad *int) []float64 {
	c := a.chunkNS(r)
	s := a.streams[r.stream]
	if rt := a.store.retoks[r.blk]; m.retok && s.retokITL && rt != nil {
		return appendRetokITL(dst, c, rt[r.chunkOff:r.chunkOff+r.nChunks], bad)
	}
	if t := a.chunkToks(r); t != nil && s.native {
		return appendTokenITL(dst, c, t)
	}
	return appendChunkITL(dst, c)
}

// appendTokITL appends row r's per-token ITL: the native rule whenever token counts are known
// (whatever the backend), the chunk gaps otherwise.
func (a *Accumulator) appendTokITL(dst []float64, r *row) []float64 {
	c := a.chunkNS(r)
	if t := a.chunkToks(r); t != nil {
		return appendTokenITL(dst, c, t)
	}
	return appendChunkITL(dst, c)
}
