package backends

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"sync"
	"unsafe"

	"github.com/bsbench/bs/pkg/records"
)

// parser turns one response into the event record.
type parser struct {
	b  *backend
	st *reqState
	ev *records.Event

	done     bool  // the stream's terminator ([DONE]) was seen
	lastLine int64 // arrival of the last non-empty line
	nLines   int

	// Token counts of the chunks (native completion_tokens deltas, or OpenAI per-chunk usage).
	tokensOK   bool // every counted chunk so far carried a count
	lastCount  int  // cumulative output tokens at the last counted chunk
	nChunks    int  // chunks recorded (in st.gaps and st.toks until finish)
	sameToks   bool // every chunk so far carried tokOnly tokens: st.toks is not written yet
	tokOnly    int64
	lastChunk  int64 // arrival of the last chunk (the send before the first)
	prevDecLen int   // native --record-text: decoded length of the previous cumulative text

	// Server-reported figures; the has* flags say whether they were seen.
	promptTok, complTok, cached, verify     int
	hasPrompt, hasCompl, hasCached, hasVerf bool
	cachedExt                               bool // cached came from sglext
	rawBad                                  bool // noText: the latest native text would not decode
	noText                                  bool // keep no text (reqState.noText)
	tiers                                   records.CacheTiers
	hasTiers                                bool // the server split the cached tokens by tier
	specAccept                              float64
	hasSpec                                 bool

	failKind, failMsg string
}

func (ps *parser) setFail(kind, msg string) {
	if ps.failKind == "" {
		ps.failKind, ps.failMsg = kind, msg
	}
}

// lineReader splits a response body into lines. Its buffer starts at lineBufMin and doubles only when
// a line does not fit, so memory follows the longest line of the response, and a line is never cut.
// A body that hands its data over (ChunkStreamer) is split in place instead (see feed).
type lineReader struct {
	rd   io.Reader
	buf  []byte
	r, w int // unread data is buf[r:w]; with feed, the start of a cut line is buf[:w]
	err  error
}

// ChunkStreamer is implemented by a response body that can hand over the data it reads in place
// instead of copying it into the caller's buffer, as bs-fire's transport does for plain http: the
// event stream is then split into lines in the transport's pooled read buffer, without a copy and
// without a line buffer per stream, and the body waits for its next data without first making a
// read(2) that finds nothing.
type ChunkStreamer interface {
	// StreamChunks calls fn with the body's data as it arrives (never empty, valid during the call
	// only) until fn returns false (StreamChunks then returns nil), the body ends (io.EOF) or
	// reading it fails (the error).
	StreamChunks(fn func(data []byte) bool) error
}

func (l *lineReader) reset(rd io.Reader) {
	l.rd, l.r, l.w, l.err = rd, 0, 0, nil
	if _, ok := rd.(ChunkStreamer); ok {
		if l.buf != nil {
			l.putCarry()
		}
		return
	}
	if cap(l.buf) < lineBufMin {
		l.buf = make([]byte, lineBufMin)
	}
	l.buf = l.buf[:cap(l.buf)]
}

// carryPool holds the buffers cut lines are put together in (see feed).
var carryPool = sync.Pool{New: func() any { return new([]byte) }}

// putCarry gives buf back to carryPool (unless it grew too large to keep).
func (l *lineReader) putCarry() {
	if cap(l.buf) <= keepMax {
		b := l.buf[:0]
		carryPool.Put(&b)
	}
	l.buf = nil
}

// feed splits data handed over by a ChunkStreamer into lines and calls fn with each complete one, with
// its newline, until fn returns false (feed then returns false). A line that lies whole in data is
// used where it lies; the start of a line cut by the end of data is kept in buf, taken from carryPool
// only for the time the line is incomplete, so a stream waiting for its next event normally holds no
// line buffer.
func (l *lineReader) feed(data []byte, fn func(line []byte) bool) bool {
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if len(data) > 0 {
				if l.buf == nil {
					l.buf = *carryPool.Get().(*[]byte)
				}
				l.buf = append(l.buf[:l.w], data...)
				l.w = len(l.buf)
			}
			return true
		}
		line := data[:i+1]
		data = data[i+1:]
		if l.w > 0 {
			// The end of a line whose start came in earlier data.
			l.buf = append(l.buf[:l.w], line...)
			l.w = 0
			line = l.buf
		}
		ok := fn(line)
		if l.buf != nil && l.w == 0 {
			l.putCarry()
		}
		if !ok {
			return false
		}
	}
}

// rest returns the start of a line that the end of the body cut (nil if none) and forgets it.
func (l *lineReader) rest() []byte {
	line := l.buf[:l.w]
	l.w = 0
	return line
}

// next returns the next line with its newline. When the body ends (or a read fails) it returns what
// is left, without a newline, with the error (io.EOF at the end).
func (l *lineReader) next() ([]byte, error) {
	scanned := l.r // buf[l.r:scanned] holds no newline
	empty := 0
	for {
		if i := bytes.IndexByte(l.buf[scanned:l.w], '\n'); i >= 0 {
			line := l.buf[l.r : scanned+i+1]
			l.r = scanned + i + 1
			return line, nil
		}
		scanned = l.w
		if l.err != nil {
			line, err := l.buf[l.r:l.w], l.err
			l.r, l.err = l.w, nil
			return line, err
		}
		// Read into at least half the buffer: move the partial line to the front, or grow the buffer
		// when the line fills more than half of it (a read into a sliver costs a system call).
		if l.r == l.w {
			l.r, l.w, scanned = 0, 0, 0
		} else if len(l.buf)-l.w < len(l.buf)/2 {
			if l.w-l.r > len(l.buf)/2 {
				nb := make([]byte, 2*len(l.buf))
				l.w = copy(nb, l.buf[l.r:l.w])
				l.buf = nb
			} else {
				l.w = copy(l.buf, l.buf[l.r:l.w])
			}
			l.r, scanned = 0, l.w
		}
		n, err := l.rd.Read(l.buf[l.w:])
		l.w += n
		l.err = err
		if n == 0 && err == nil {
			if empty++; empty >= 100 {
				l.err = io.ErrNoProgress
			}
		}
	}
}

// readStream reads an event stream line by line, stamping each line when it is read.
func (ps *parser) readStream(ctx context.Context, body io.Reader, now func() int64) {
	lr := &ps.st.lr
	lr.reset(body)
	var cut bool
	if cs, ok := body.(ChunkStreamer); ok {
		cut = ps.readLines(ctx, cs, now)
	} else {
		cut = ps.pullLines(ctx, now)
	}
	if cut {
		return
	}
	ev := ps.ev
	t := now()
	if ps.nLines > 0 {
		ev.EndNS = ps.lastLine
	} else {
		ev.EndNS = t
	}
	switch ps.b.spec.kind {
	case kindNative, kindCompletions, kindChat:
		if !ps.done {
			ps.setFail(records.ErrStreamBroken, "the stream ended without data: [DONE]")
		}
	}
}

// pullLines handles the lines of the stream, read from ps.st.lr's reader, up to the end of the body.
// It returns true when the stream was cut short: a fatal chunk, or a read error (recorded).
func (ps *parser) pullLines(ctx context.Context, now func() int64) bool {
	lr := &ps.st.lr
	ev := ps.ev
	for {
		line, err := lr.next()
		t := now()
		// A line cut by a read error is incomplete: report the error, not undecodable data.
		if len(line) > 0 && (err == nil || err == io.EOF) {
			if d := bytes.TrimSpace(line); len(d) > 0 && ps.line(d, t) {
				// A fatal chunk (in-band error, undecodable data): stop here. The rest of the body
				// is not waited for; closing it early gives up the connection, not the time.
				ev.EndNS = t
				return true
			}
		}
		if err != nil {
			if err == io.EOF {
				return false
			}
			ev.EndNS = t
			kind, msg := readErr(ctx, err)
			ps.setFail(kind, msg)
			return true
		}
	}
}

// readLines is pullLines for a body that hands its data over: the lines are split where the data
// lies (ps.st.lr.feed), each stamped when it is split off, as pullLines stamps it when next returns it.
func (ps *parser) readLines(ctx context.Context, cs ChunkStreamer, now func() int64) bool {
	lr := &ps.st.lr
	ev := ps.ev
	cut := false
	onLine := func(line []byte) bool {
		t := now()
		if d := bytes.TrimSpace(line); len(d) > 0 && ps.line(d, t) {
			ev.EndNS = t // a fatal chunk, as in pullLines
			cut = true
			return false
		}
		return true
	}
	err := cs.StreamChunks(func(data []byte) bool { return lr.feed(data, onLine) })
	if cut {
		return true
	}
	// The body ended, or reading it failed: what is left is a line without its newline.
	line := lr.rest()
	t := now()
	if err == io.EOF {
		if d := bytes.TrimSpace(line); len(d) > 0 && ps.line(d, t) {
			ev.EndNS = t
			return true
		}
		return false
	}
	if err == nil {
		err = io.ErrNoProgress // (StreamChunks stops early only when told to)
	}
	ev.EndNS = t
	kind, msg := readErr(ctx, err)
	ps.setFail(kind, msg)
	return true
}

// readBody reads a non-streamed response and records it as one chunk at the time it was read.
func (ps *parser) readBody(ctx context.Context, body io.Reader, now func() int64) {
	buf := ps.st.body[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			ps.st.body = buf
			ps.ev.EndNS = now()
			kind, msg := readErr(ctx, err)
			ps.setFail(kind, msg)
			return
		}
	}
	ps.st.body = buf
	t := now()
	ps.ev.EndNS = t
	d := bytes.TrimSpace(buf)
	if len(d) == 0 {
		ps.setFail(records.ErrDecode, "empty response body")
		return
	}
	ps.nonStream(d, t)
}

// line handles one non-empty, trimmed line of an event stream. It returns true to stop reading.
func (ps *parser) line(d []byte, t int64) bool {
	switch d[0] {
	case ':': // SSE comment (keep-alive)
		return false
	case 'e', 'i', 'r':
		if bytes.HasPrefix(d, []byte("event:")) || bytes.HasPrefix(d, []byte("id:")) || bytes.HasPrefix(d, []byte("retry:")) {
			return false
		}
	}
	ps.lastLine = t
	ps.nLines++
	if bytes.HasPrefix(d, []byte("data:")) {
		d = d[5:]
		if len(d) > 0 && d[0] == ' ' {
			d = d[1:]
		}
		d = bytes.TrimLeft(d, " \t")
	}
	if string(d) == "[DONE]" {
		ps.done = true
		return false
	}
	if len(d) == 0 {
		return false
	}
	switch ps.b.spec.kind {
	case kindNative:
		return ps.nativeChunk(d, t, false)
	case kindCompletions, kindTruss:
		return ps.completionsChunk(d, t, false)
	case kindChat:
		return ps.chatChunk(d, t, false)
	default:
		return ps.trtChunk(d, t, false)
	}
}

// nonStream parses a whole JSON response body.
func (ps *parser) nonStream(d []byte, t int64) {
	ps.nLines = 1
	ps.lastLine = t
	switch ps.b.spec.kind {
	case kindNative:
		ps.nativeChunk(d, t, true)
	case kindCompletions, kindTruss:
		ps.completionsChunk(d, t, true)
	case kindChat:
		ps.chatChunk(d, t, true)
	default:
		ps.trtChunk(d, t, true)
	}
}

func (ps *parser) decodeFail(err error, d []byte) bool {
	ps.setFail(records.ErrDecode, "undecodable response data ("+err.Error()+"): "+truncate(d, 200))
	return true
}

// serverError records an in-band {"error": …} object. The reference counts these as successes
// (bug §10.10); bs records a failure with the server's message.
func (ps *parser) serverError(v []byte) bool {
	msg := ""
	if s, ok := rawString(v); ok {
		msg, _ = unescapeString(s)
	} else if len(v) > 0 && v[0] == '{' {
		it := newObjIter(v, 0, 1)
		for {
			k, mv, ok := it.next()
			if !ok {
				break
			}
			if keyIs(k, "message") {
				if s, ok := rawString(mv); ok {
					msg, _ = unescapeString(s)
				}
			}
		}
	}
	if msg == "" {
		msg = string(v)
	}
	ps.setFail(records.ErrServerEvent, "server error in the response: "+truncate([]byte(msg), errBodyMax))
	return true
}

// chunk records one chunk that carried output: its time, its token count (cnt, when known, is the
// cumulative output count the server reported with it) and its text.
//
// While the response streams, a chunk's time is kept as the gap from the previous chunk's (from the
// send for the first) and its token count as the difference from the previous count, both in 4-byte
// words in the request's pooled scratch (st.gaps, st.toks); finish writes the event's ChunkNS and
// ChunkTokens from them. A stream waiting for its next chunk thus holds 4 bytes per chunk so far (8
// when the chunks carry different numbers of tokens) instead of 16 in the event, and no arrays sized
// for the whole output.
func (ps *parser) chunk(t int64, cnt int, hasCnt bool, text []byte) {
	ev := ps.ev
	ps.st.gaps = appendWord(ps.st.gaps, t-ps.lastChunk)
	ps.lastChunk = t
	ps.nChunks++
	if ps.tokensOK {
		if hasCnt {
			// Counts are written out only once they differ (most servers send one token per chunk).
			n := int64(cnt - ps.lastCount)
			switch {
			case ps.nChunks == 1:
				ps.sameToks, ps.tokOnly = true, n
			case ps.sameToks && n != ps.tokOnly:
				ps.sameToks = false
				for range ps.nChunks - 1 {
					ps.st.toks = appendWord(ps.st.toks, ps.tokOnly)
				}
				fallthrough
			case !ps.sameToks:
				ps.st.toks = appendWord(ps.st.toks, n)
			}
			ps.lastCount = cnt
		} else {
			ps.tokensOK = false
		}
	}
	if ps.b.opts.RecordText {
		if ev.ChunkText == nil {
			ev.ChunkText = make([]string, 0, min(ps.ev.OutputLen, 8192)+2)
		}
		ev.ChunkText = append(ev.ChunkText, string(text))
	}
}

// wideMark in a word list announces a value that does not fit one word: the next two words hold its
// 64 bits, high word first.
const wideMark = math.MaxUint32

// appendWord appends v to a word list: one word when 0 <= v < wideMark (every gap under 4.29 s, every
// token count), else three.
func appendWord(w []uint32, v int64) []uint32 {
	if uint64(v) < wideMark {
		return append(w, uint32(v))
	}
	return append(w, wideMark, uint32(uint64(v)>>32), uint32(v))
}

// wordAt returns the value at w[i] and the index of the next one.
func wordAt(w []uint32, i int) (int64, int) {
	if w[i] != wideMark {
		return int64(w[i]), i + 1
	}
	return int64(uint64(w[i+1])<<32 | uint64(w[i+2])), i + 3
}

// appendText appends the decoded raw JSON string s to the request's text.
func (ps *parser) appendText(s []byte) bool {
	if ps.noText {
		return escapesOK(s)
	}
	var ok bool
	ps.st.text, ok = unescapeAppend(ps.st.text, s)
	return ok
}

var errBadString = errors.New("invalid string escape")

// nextKey is the first half of objIter.next: it returns the next member's raw key and the index where
// its value starts. The caller must then call skip (which does what next does with the value) or,
// having walked the value itself, valueEnd, or stop iterating (after fail).
func (it *objIter) nextKey() (key []byte, vs int, ok bool) {
	if it.done {
		return nil, 0, false
	}
	b := it.b
	i := skipWS(b, it.i)
	if it.start {
		it.start = false
		if i < len(b) && b[i] == '}' {
			it.i, it.done = i+1, true
			return nil, 0, false
		}
	} else {
		if i >= len(b) {
			it.fail(errSyntax)
			return nil, 0, false
		}
		if b[i] == '}' {
			it.i, it.done = i+1, true
			return nil, 0, false
		}
		if b[i] != ',' {
			it.fail(errSyntax)
			return nil, 0, false
		}
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		it.fail(errSyntax)
		return nil, 0, false
	}
	ke, err := scanString(b, i)
	if err != nil {
		it.fail(err)
		return nil, 0, false
	}
	key = b[i+1 : ke-1]
	i = skipWS(b, ke)
	if i >= len(b) || b[i] != ':' {
		it.fail(errSyntax)
		return nil, 0, false
	}
	// it.i moves only once the value is consumed (skip, valueEnd), as in next.
	return key, skipWS(b, i+1), true
}

// skip checks and skips the value at vs (left by nextKey) and returns it raw.
func (it *objIter) skip(vs int) ([]byte, bool) {
	ve, err := skipValue(it.b, vs, it.depth+1)
	if err != nil {
		it.fail(err)
		return nil, false
	}
	it.i = ve
	return it.b[vs:ve], true
}

// valueEnd moves the iterator past a value the caller has checked itself.
func (it *objIter) valueEnd(ve int) { it.i = ve }

// nextFast is objIter.next with a fast path for a member whose value is an array of non-negative
// integers written without spaces, such as the cumulative output_ids of SGLang's native stream (which
// grows by one id per event, so checking it with the general scanner made the per-event cost grow
// with the output). Anything else, including every malformed input, takes the general path, so the
// result and the errors are next's.
func (it *objIter) nextFast() (key, val []byte, ok bool) {
	k, vs, ok := it.nextKey()
	if !ok {
		return nil, nil, false
	}
	if ve, ok := skipIntArray(it.b, vs); ok && it.depth+1 < maxDepth {
		it.valueEnd(ve)
		return k, it.b[vs:ve], true
	}
	v, ok := it.skip(vs)
	if !ok {
		return nil, nil, false
	}
	return k, v, true
}

// keyText returns a raw key's text for comparing with plain names, so that one key is compared with
// several names without looking for escapes each time: keyText(k) == name is keyIs(k, name). It is the
// raw bytes themselves when they hold no escape (no copy: valid while they are), else the unescaped
// text, or "\\" (which no name is) for an invalid escape.
func keyText(raw []byte) string {
	for _, c := range raw {
		if c == '\\' {
			u, ok := unescapeAppend(nil, raw)
			if !ok {
				return "\\"
			}
			return string(u)
		}
	}
	return unsafe.String(unsafe.SliceData(raw), len(raw))
}

// rawMember is one member of a JSON object: its raw key and raw value.
type rawMember struct{ key, val []byte }

// choiceScan is what scanChoices recorded of a chunk's choices array, so that chatChunk and
// completionsChunk read choices[0] without walking it again.
type choiceScan struct {
	first   []byte      // raw choices[0]; nil for an empty array or a value that is not an array
	isObj   bool        // choices[0] is an object: members holds its members, in order
	members []rawMember // choices[0]'s members
	sub     []rawMember // the members of the last choices[0][field] whose value is an object
}

func (cs *choiceScan) reset() {
	cs.first, cs.isObj = nil, false
	cs.members, cs.sub = cs.members[:0], cs.sub[:0]
}

// scanChoices checks the value at b[i] exactly as skipValue(b, i, depth) does (same result, same
// error) and, in the same pass, records choices[0] in cs: its members, and the members of its field
// member (delta, message) when that is an object.
func scanChoices(b []byte, i, depth int, field string, cs *choiceScan) (int, error) {
	cs.reset()
	if i >= len(b) || b[i] != '[' {
		return skipValue(b, i, depth)
	}
	if depth >= maxDepth {
		return 0, errDepth
	}
	j := skipWS(b, i+1)
	if j < len(b) && b[j] == ']' {
		return j + 1, nil
	}
	var err error
	var e int
	if j < len(b) && b[j] == '{' {
		e, err = scanMembers(b, j, depth+1, field, &cs.members, &cs.sub)
		cs.isObj = true
	} else {
		e, err = skipValue(b, j, depth+1)
	}
	if err != nil {
		return 0, err
	}
	cs.first = b[j:e]
	for j = e; ; {
		j = skipWS(b, j)
		if j >= len(b) {
			return 0, errSyntax
		}
		if b[j] == ']' {
			return j + 1, nil
		}
		if b[j] != ',' {
			return 0, errSyntax
		}
		if j, err = skipValue(b, skipWS(b, j+1), depth+1); err != nil {
			return 0, err
		}
	}
}

// scanMembers checks the object at b[i] (b[i] == '{') as skipValue(b, i, depth) does and appends its
// members to out; the value of member field, when it is an object, is walked the same way into sub
// (emptied first, so it ends with the last such member's).
func scanMembers(b []byte, i, depth int, field string, out, sub *[]rawMember) (int, error) {
	it := newObjIter(b, i, depth)
	for {
		k, vs, ok := it.nextKey()
		if !ok {
			break
		}
		var v []byte
		if field != "" && vs < len(b) && b[vs] == '{' && keyText(k) == field {
			*sub = (*sub)[:0]
			ve, err := scanMembers(b, vs, depth+1, "", sub, nil)
			if err != nil {
				return 0, err
			}
			it.valueEnd(ve)
			v = b[vs:ve]
		} else if v, ok = it.skip(vs); !ok {
			break
		}
		*out = append(*out, rawMember{k, v})
	}
	if it.err != nil {
		return 0, it.err
	}
	return it.end(), nil
}

// skipIntArray returns the end of the array at b[i] if it is empty or holds only JSON integers >= 0
// separated by bare commas; ok is false for anything else (which may still be valid JSON).
func skipIntArray(b []byte, i int) (end int, ok bool) {
	if i >= len(b) || b[i] != '[' {
		return 0, false
	}
	i++
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		start := i
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
		if i == start || b[start] == '0' && i-start > 1 || i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// nativeChunk handles one SGLang /generate chunk (fact sheet §3.1, §3.7): text is cumulative,
// meta_info.completion_tokens is the cumulative output count.
func (ps *parser) nativeChunk(d []byte, t int64, whole bool) bool {
	var text, meta, usage []byte
	hasText := false
	it := newObjIter(d, 0, 0)
	for {
		k, v, ok := it.nextFast()
		if !ok {
			break
		}
		switch kt := keyText(k); {
		case kt == "text":
			text, hasText = rawString(v)
		case kt == "meta_info":
			meta = v
		case kt == "usage":
			usage = v
		case kt == "error":
			if !isNull(v) {
				return ps.serverError(v)
			}
		}
	}
	if it.err != nil {
		return ps.decodeFail(it.err, d)
	}
	if skipWS(d, it.end()) != len(d) {
		return ps.decodeFail(errTrailing, d)
	}
	cnt, hasCnt := 0, false
	if len(meta) > 0 && meta[0] == '{' {
		mi := newObjIter(meta, 0, 1)
		for {
			k, v, ok := mi.next()
			if !ok {
				break
			}
			switch kt := keyText(k); {
			case kt == "completion_tokens":
				cnt, hasCnt = parseInt(v)
			case kt == "prompt_tokens":
				ps.notePrompt(v)
			case kt == "cached_tokens":
				if n, ok := parseInt(v); ok {
					ps.cached, ps.hasCached = n, true
				}
			case kt == "cached_tokens_details":
				ps.noteTiers(v)
			case kt == "spec_accept_length":
				if f, ok := parseFloat(v); ok {
					ps.specAccept, ps.hasSpec = f, true
				}
			case kt == "spec_verify_ct":
				if n, ok := parseInt(v); ok {
					ps.verify, ps.hasVerf = n, true
				}
			case kt == "id":
				if ps.ev.ResponseID == "" {
					if s, ok := rawString(v); ok {
						ps.ev.ResponseID, _ = unescapeString(s)
					}
				}
			case kt == "finish_reason":
				ps.noteFinish(v)
			}
		}
	}
	if len(usage) > 0 && usage[0] == '{' {
		ui := newObjIter(usage, 0, 1)
		for {
			k, v, ok := ui.next()
			if !ok {
				break
			}
			if keyText(k) == "prompt_tokens" {
				ps.notePrompt(v)
			}
		}
	}
	counted := hasText && len(text) > 0
	if hasCnt && (counted || !ps.b.compat) {
		// The reference reads the output count only from chunks that carry text.
		ps.complTok, ps.hasCompl = cnt, true
	}
	if !counted && !whole {
		return false
	}
	// Keep the raw text of the latest chunk (it is cumulative); decode it only at the end. Without
	// text (NoText), only whether the latest one would decode.
	if ps.noText {
		ps.rawBad = !escapesOK(text)
	} else {
		ps.st.raw = append(ps.st.raw[:0], text...)
	}
	var chunkText []byte
	if ps.b.opts.RecordText {
		dec, ok := unescapeAppend(ps.st.dec[:0], text)
		if !ok {
			return ps.decodeFail(errBadString, d)
		}
		ps.st.dec = dec
		prev := ps.st.text
		if len(prev) <= len(dec) && bytes.Equal(dec[:len(prev)], prev) {
			chunkText = dec[len(prev):]
		} else {
			chunkText = dec // the server rewrote earlier text; record the whole of it
		}
		ps.chunk(t, cnt, hasCnt, chunkText)
		ps.st.text = append(ps.st.text[:0], dec...)
		return false
	}
	ps.chunk(t, cnt, hasCnt, nil)
	return false
}

func (ps *parser) notePrompt(v []byte) {
	if n, ok := parseInt(v); ok && (n != 0 || !ps.b.compat) {
		ps.promptTok, ps.hasPrompt = n, true
	}
}

// noteFinish records a finish reason: a string (OpenAI) or SGLang's {"type": …} object.
func (ps *parser) noteFinish(v []byte) {
	if s, ok := rawString(v); ok {
		if string(s) != ps.ev.FinishReason {
			ps.ev.FinishReason, _ = unescapeString(s)
		}
		return
	}
	if len(v) > 0 && v[0] == '{' {
		it := newObjIter(v, 0, 1)
		for {
			k, tv, ok := it.next()
			if !ok {
				break
			}
			if keyIs(k, "type") {
				ps.noteFinish(tv)
			}
		}
	}
}

// noteUsage reads an OpenAI usage object and returns its completion_tokens.
func (ps *parser) noteUsage(v []byte, record bool) (int, bool) {
	if len(v) == 0 || v[0] != '{' {
		return 0, false
	}
	cnt, hasCnt := 0, false
	it := newObjIter(v, 0, 1)
	for {
		k, uv, ok := it.next()
		if !ok {
			break
		}
		switch kt := keyText(k); {
		case kt == "completion_tokens":
			cnt, hasCnt = parseInt(uv)
		case kt == "prompt_tokens":
			ps.notePrompt(uv)
		case kt == "prompt_tokens_details":
			if len(uv) > 0 && uv[0] == '{' {
				di := newObjIter(uv, 0, 2)
				for {
					dk, dv, ok := di.next()
					if !ok {
						break
					}
					if keyText(dk) == "cached_tokens" && !ps.cachedExt {
						if n, ok := parseInt(dv); ok {
							ps.cached, ps.hasCached = n, true
						}
					}
				}
			}
		}
	}
	if hasCnt && record {
		ps.complTok, ps.hasCompl = cnt, true
	}
	return cnt, hasCnt
}

// noteSGLExt reads SGLang's sglext.cached_tokens_details (sent with return_cached_tokens_details,
// the reference's --cache-report source): the cached prompt tokens are device + host + storage.
// It takes precedence over usage.prompt_tokens_details.cached_tokens.
func (ps *parser) noteSGLExt(v []byte) {
	if len(v) == 0 || v[0] != '{' {
		return
	}
	it := newObjIter(v, 0, 1)
	for {
		k, dv, ok := it.next()
		if !ok {
			return
		}
		if !keyIs(k, "cached_tokens_details") || len(dv) == 0 || dv[0] != '{' {
			continue
		}
		if ps.noteTiers(dv) {
			t := &ps.tiers
			ps.cached, ps.hasCached, ps.cachedExt = t.Device+t.Host+t.Storage, true, true
		}
	}
}

// noteTiers reads a cached_tokens_details object ({"device": n, "host": n, "storage": n,
// "storage_backend": name}, from sglext or the native meta_info) and reports whether it named a tier.
func (ps *parser) noteTiers(v []byte) bool {
	if len(v) == 0 || v[0] != '{' {
		return false
	}
	var t records.CacheTiers
	found := false
	it := newObjIter(v, 0, 2)
	for {
		k, nv, ok := it.next()
		if !ok {
			break
		}
		var dst *int
		switch {
		case keyIs(k, "device"):
			dst = &t.Device
		case keyIs(k, "host"):
			dst = &t.Host
		case keyIs(k, "storage"):
			dst = &t.Storage
		case keyIs(k, "storage_backend"):
			if raw, ok := rawString(nv); ok {
				t.StorageBackend, _ = unescapeString(raw)
			}
			continue
		default:
			continue
		}
		if n, ok := parseInt(nv); ok {
			*dst, found = n, true
		}
	}
	if found {
		ps.tiers, ps.hasTiers = t, true
	}
	return found
}

// noteID records the response id (OpenAI "id") the first time it is seen.
func (ps *parser) noteID(v []byte) {
	if ps.ev.ResponseID == "" {
		if s, ok := rawString(v); ok {
			ps.ev.ResponseID, _ = unescapeString(s)
		}
	}
}

// openAITop walks the top level of an OpenAI completions or chat chunk once: "choices" is checked
// and choices[0] (with its member field, "" for completions) recorded in cs on the way; "usage",
// "sglext", "id" and "error" are noted. When done is true the chunk has already been dealt with (a
// decode failure or an in-band server error was recorded) and the caller returns ret.
func (ps *parser) openAITop(d []byte, field string, cs *choiceScan) (choices, usage []byte, hasChoices, done, ret bool) {
	it := newObjIter(d, 0, 0)
	for {
		k, vs, ok := it.nextKey()
		if !ok {
			break
		}
		kt := keyText(k)
		if kt == "choices" {
			ve, err := scanChoices(d, vs, 1, field, cs)
			if err != nil {
				it.fail(err)
				break
			}
			it.valueEnd(ve)
			choices, hasChoices = d[vs:ve], true
			continue
		}
		v, ok := it.skip(vs)
		if !ok {
			break
		}
		switch {
		case kt == "usage":
			if !isNull(v) {
				usage = v
			}
		case kt == "sglext":
			ps.noteSGLExt(v)
		case kt == "id":
			ps.noteID(v)
		case kt == "error":
			if !isNull(v) {
				return nil, nil, false, true, ps.serverError(v)
			}
		}
	}
	if it.err != nil {
		return nil, nil, false, true, ps.decodeFail(it.err, d)
	}
	if skipWS(d, it.end()) != len(d) {
		return nil, nil, false, true, ps.decodeFail(errTrailing, d)
	}
	return choices, usage, hasChoices, false, false
}

// completionsChunk handles one OpenAI completions chunk (fact sheet §3.2) or truss chunk (§3.6).
func (ps *parser) completionsChunk(d []byte, t int64, whole bool) bool {
	cs := &ps.st.cs
	choices, usage, hasChoices, done, ret := ps.openAITop(d, "", cs)
	if done {
		return ret
	}
	var choice []byte
	if hasChoices {
		if choices[0] != '[' && !isNull(choices) {
			return ps.decodeFail(errors.New("choices is not a list"), d)
		}
		choice = cs.first
	}
	var text []byte
	if len(choice) > 0 {
		if !cs.isObj {
			return ps.decodeFail(errNotObj, d)
		}
		for _, m := range cs.members {
			switch kt := keyText(m.key); {
			case kt == "text":
				text, _ = rawString(m.val)
			case kt == "finish_reason":
				ps.noteFinish(m.val)
			}
		}
	}
	counted := len(text) > 0
	// The reference takes usage only from chunks that carry text (bug §10.3); truss never reads it.
	record := !ps.b.compat || (counted && ps.b.spec.kind != kindTruss)
	cnt, hasCnt := ps.noteUsage(usage, record)
	if len(choice) == 0 && len(usage) == 0 {
		return ps.decodeFail(errors.New("a completions chunk without choices or usage"), d)
	}
	if whole && len(choice) == 0 {
		return ps.decodeFail(errors.New("a completions response without choices"), d)
	}
	if !counted && !whole {
		return false
	}
	ps.prevDecLen = len(ps.st.text)
	if !ps.appendText(text) {
		return ps.decodeFail(errBadString, d)
	}
	ps.chunk(t, cnt, hasCnt, ps.lastPiece())
	return false
}

// lastPiece returns the text appended by the latest appendText when text is being recorded.
func (ps *parser) lastPiece() []byte {
	if !ps.b.opts.RecordText {
		return nil
	}
	return ps.st.text[ps.prevDecLen:]
}

// chatChunk handles one OpenAI chat chunk (fact sheet §3.3): reasoning_content (or reasoning)
// then content of choices[0].delta — or of choices[0].message for a whole response.
func (ps *parser) chatChunk(d []byte, t int64, whole bool) bool {
	field := "delta"
	if whole {
		field = "message"
	}
	cs := &ps.st.cs
	choices, usage, hasChoices, done, ret := ps.openAITop(d, field, cs)
	if done {
		return ret
	}
	cnt, hasCnt := ps.noteUsage(usage, true)
	var choice []byte
	if hasChoices && !isNull(choices) {
		if choices[0] != '[' {
			return ps.decodeFail(errors.New("choices is not a list"), d)
		}
		choice = cs.first
	}
	if len(choice) == 0 {
		if whole {
			return ps.decodeFail(errors.New("a chat response without choices"), d)
		}
		return false // a usage-only chunk
	}
	if !cs.isObj {
		return ps.decodeFail(errNotObj, d)
	}
	var msg []byte
	for _, m := range cs.members {
		switch kt := keyText(m.key); {
		case kt == field:
			msg = m.val
		case kt == "finish_reason":
			ps.noteFinish(m.val)
		case kt == "meta_info" && whole:
			ps.chatMeta(m.val)
		}
	}
	var rc, rs, content []byte
	if len(msg) > 0 && msg[0] == '{' {
		// The last field member is an object, so cs.sub holds its members.
		for _, m := range cs.sub {
			switch kt := keyText(m.key); {
			case kt == "reasoning_content":
				rc, _ = rawString(m.val)
			case kt == "reasoning":
				rs, _ = rawString(m.val)
			case kt == "content":
				content, _ = rawString(m.val)
			}
		}
	}
	if len(rc) == 0 {
		rc = rs
	}
	if len(rc) == 0 && len(content) == 0 && !whole {
		return false
	}
	ps.prevDecLen = len(ps.st.text)
	if !ps.appendText(rc) || !ps.appendText(content) {
		return ps.decodeFail(errBadString, d)
	}
	ps.chunk(t, cnt, hasCnt, ps.lastPiece())
	return false
}

// chatMeta reads the speculative-decoding figures of a whole chat response's choices[0].meta_info.
func (ps *parser) chatMeta(v []byte) {
	if len(v) == 0 || v[0] != '{' {
		return
	}
	it := newObjIter(v, 0, 3)
	for {
		k, mv, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(k, "spec_accept_length"):
			if f, ok := parseFloat(mv); ok {
				ps.specAccept, ps.hasSpec = f, true
			}
		case keyIs(k, "spec_verify_ct"):
			if n, ok := parseInt(mv); ok {
				ps.verify, ps.hasVerf = n, true
			}
		}
	}
}

// trtChunk handles one TensorRT-LLM chunk (fact sheet §3.5): text_output is appended.
func (ps *parser) trtChunk(d []byte, t int64, whole bool) bool {
	var text []byte
	it := newObjIter(d, 0, 0)
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(k, "text_output"):
			text, _ = rawString(v)
		case keyIs(k, "error"):
			if !isNull(v) {
				return ps.serverError(v)
			}
		}
	}
	if it.err != nil {
		return ps.decodeFail(it.err, d)
	}
	if skipWS(d, it.end()) != len(d) {
		return ps.decodeFail(errTrailing, d)
	}
	// The reference counts every trt chunk as a token event, even an empty one.
	if len(text) == 0 && !whole && !ps.b.compat {
		return false
	}
	ps.prevDecLen = len(ps.st.text)
	if !ps.appendText(text) {
		return ps.decodeFail(errBadString, d)
	}
	ps.chunk(t, 0, false, ps.lastPiece())
	return false
}

// finish fills the event's result fields and returns the generated text.
func (ps *parser) finish() string {
	ev := ps.ev
	ev.ChunkNS, ev.ChunkTokens = nil, nil
	if ps.nChunks > 0 {
		ev.ChunkNS = make([]int64, ps.nChunks)
		at := int64(0) // from the send
		for i, j := 0, 0; i < ps.nChunks; i++ {
			var gap int64
			gap, j = wordAt(ps.st.gaps, j)
			at += gap
			ev.ChunkNS[i] = at
		}
		if ps.tokensOK {
			ev.ChunkTokens = make([]int, ps.nChunks)
			for i, j := 0, 0; i < ps.nChunks; i++ {
				n := ps.tokOnly
				if !ps.sameToks {
					n, j = wordAt(ps.st.toks, j)
				}
				ev.ChunkTokens[i] = int(n)
			}
		}
	}
	if ps.hasPrompt {
		ev.UsagePromptTokens = intPtr(ps.promptTok)
	}
	if ps.hasCompl {
		ev.UsageCompletionTokens = intPtr(ps.complTok)
	}
	if ps.hasCached {
		ev.CachedTokens = intPtr(ps.cached)
	}
	if ps.hasTiers {
		t := ps.tiers
		ev.CachedDetails = &t
	}
	if ps.hasVerf {
		ev.SpecVerifyCt = intPtr(ps.verify)
	}
	if ps.hasSpec {
		f := ps.specAccept
		ev.SpecAcceptLength = &f
	}
	var text string
	if ps.b.spec.kind == kindNative {
		switch {
		case ps.b.opts.RecordText:
			text = string(ps.st.text)
		case ps.noText:
			if ps.rawBad {
				ps.setFail(records.ErrDecode, "undecodable text in the response")
			}
		default:
			s, ok := unescapeString(ps.st.raw)
			if !ok {
				ps.setFail(records.ErrDecode, "undecodable text in the response")
			}
			text = s
		}
	} else {
		text = string(ps.st.text)
	}
	if ps.b.opts.RecordText {
		ev.Text = text
	}
	if ps.failKind != "" {
		ps.b.fail(ev, ps.failKind, ps.failMsg)
	} else {
		ev.OK = true
		ev.ErrorKind, ev.Error = "", ""
	}
	return text
}

func intPtr(n int) *int { return &n }
