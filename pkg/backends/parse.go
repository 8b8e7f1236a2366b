package backends

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/bsbench/bs/pkg/records"
)

// parser turns one response into the event record.
type parser struct {
	b    *backend
	st   *reqState
	ev   *records.Event
	sent int64

	done     bool  // the stream's terminator ([DONE]) was seen
	lastLine int64 // arrival of the last non-empty line
	nLines   int

	// Token counts of the chunks (native completion_tokens deltas, or OpenAI per-chunk usage).
	tokensOK   bool // every counted chunk so far carried a count
	lastCount  int  // cumulative output tokens at the last counted chunk
	prevDecLen int  // native --record-text: decoded length of the previous cumulative text

	// Server-reported figures; the has* flags say whether they were seen.
	promptTok, complTok, cached, verify     int
	hasPrompt, hasCompl, hasCached, hasVerf bool
	cachedExt                               bool // cached came from sglext
	specAccept                              float64
	hasSpec                                 bool

	failKind, failMsg string
}

func (ps *parser) setFail(kind, msg string) {
	if ps.failKind == "" {
		ps.failKind, ps.failMsg = kind, msg
	}
}

// readLine returns the next line (with its newline, if any) without a length cap.
func readLine(br *bufio.Reader, over *[]byte) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, err
	}
	buf := append((*over)[:0], line...)
	for err == bufio.ErrBufferFull {
		line, err = br.ReadSlice('\n')
		buf = append(buf, line...)
	}
	*over = buf
	return buf, err
}

// readStream reads an event stream line by line, stamping each line when it is read.
func (ps *parser) readStream(ctx context.Context, body io.Reader, now func() int64) {
	br := ps.st.br
	br.Reset(body)
	ev := ps.ev
	if ev.ChunkNS == nil {
		n := ps.ev.OutputLen
		if n > 8192 {
			n = 8192
		}
		ev.ChunkNS = make([]int64, 0, n+2)
	}
	for {
		line, err := readLine(br, &ps.st.over)
		t := now()
		// A line cut by a read error is incomplete: report the error, not undecodable data.
		if len(line) > 0 && (err == nil || err == io.EOF) {
			if d := bytes.TrimSpace(line); len(d) > 0 && ps.line(d, t) {
				// A fatal chunk (in-band error, undecodable data): stop here. The rest of the body
				// is not waited for; closing it early gives up the connection, not the time.
				ev.EndNS = t
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				break
			}
			ev.EndNS = t
			kind, msg := readErr(ctx, err)
			ps.setFail(kind, msg)
			return
		}
	}
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
func (ps *parser) chunk(t int64, cnt int, hasCnt bool, text []byte) {
	ev := ps.ev
	ev.ChunkNS = append(ev.ChunkNS, t-ps.sent)
	if ps.tokensOK {
		if hasCnt {
			if ev.ChunkTokens == nil {
				ev.ChunkTokens = make([]int, 0, cap(ev.ChunkNS))
			}
			ev.ChunkTokens = append(ev.ChunkTokens, cnt-ps.lastCount)
			ps.lastCount = cnt
		} else {
			ps.tokensOK = false
			ev.ChunkTokens = nil
		}
	}
	if ps.b.opts.RecordText {
		if ev.ChunkText == nil {
			ev.ChunkText = make([]string, 0, cap(ev.ChunkNS))
		}
		ev.ChunkText = append(ev.ChunkText, string(text))
	}
}

// appendText appends the decoded raw JSON string s to the request's text.
func (ps *parser) appendText(s []byte) bool {
	var ok bool
	ps.st.text, ok = unescapeAppend(ps.st.text, s)
	return ok
}

var errBadString = errors.New("invalid string escape")

// nativeChunk handles one SGLang /generate chunk (fact sheet §3.1, §3.7): text is cumulative,
// meta_info.completion_tokens is the cumulative output count.
func (ps *parser) nativeChunk(d []byte, t int64, whole bool) bool {
	var text, meta, usage []byte
	hasText := false
	it := newObjIter(d, 0, 0)
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(k, "text"):
			text, hasText = rawString(v)
		case keyIs(k, "meta_info"):
			meta = v
		case keyIs(k, "usage"):
			usage = v
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
	cnt, hasCnt := 0, false
	if len(meta) > 0 && meta[0] == '{' {
		mi := newObjIter(meta, 0, 1)
		for {
			k, v, ok := mi.next()
			if !ok {
				break
			}
			switch {
			case keyIs(k, "completion_tokens"):
				cnt, hasCnt = parseInt(v)
			case keyIs(k, "prompt_tokens"):
				ps.notePrompt(v)
			case keyIs(k, "cached_tokens"):
				if n, ok := parseInt(v); ok {
					ps.cached, ps.hasCached = n, true
				}
			case keyIs(k, "spec_accept_length"):
				if f, ok := parseFloat(v); ok {
					ps.specAccept, ps.hasSpec = f, true
				}
			case keyIs(k, "spec_verify_ct"):
				if n, ok := parseInt(v); ok {
					ps.verify, ps.hasVerf = n, true
				}
			case keyIs(k, "id"):
				if ps.ev.ResponseID == "" {
					if s, ok := rawString(v); ok {
						ps.ev.ResponseID, _ = unescapeString(s)
					}
				}
			case keyIs(k, "finish_reason"):
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
			if keyIs(k, "prompt_tokens") {
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
	// Keep the raw text of the latest chunk (it is cumulative); decode it only at the end.
	ps.st.raw = append(ps.st.raw[:0], text...)
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
		switch {
		case keyIs(k, "completion_tokens"):
			cnt, hasCnt = parseInt(uv)
		case keyIs(k, "prompt_tokens"):
			ps.notePrompt(uv)
		case keyIs(k, "prompt_tokens_details"):
			if len(uv) > 0 && uv[0] == '{' {
				di := newObjIter(uv, 0, 2)
				for {
					dk, dv, ok := di.next()
					if !ok {
						break
					}
					if keyIs(dk, "cached_tokens") && !ps.cachedExt {
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
		sum, found := 0, false
		di := newObjIter(dv, 0, 2)
		for {
			dk, nv, ok := di.next()
			if !ok {
				break
			}
			if keyIs(dk, "device") || keyIs(dk, "host") || keyIs(dk, "storage") {
				if n, ok := parseInt(nv); ok {
					sum, found = sum+n, true
				}
			}
		}
		if found {
			ps.cached, ps.hasCached, ps.cachedExt = sum, true, true
		}
	}
}

// noteID records the response id (OpenAI "id") the first time it is seen.
func (ps *parser) noteID(v []byte) {
	if ps.ev.ResponseID == "" {
		if s, ok := rawString(v); ok {
			ps.ev.ResponseID, _ = unescapeString(s)
		}
	}
}

// completionsChunk handles one OpenAI completions chunk (fact sheet §3.2) or truss chunk (§3.6).
func (ps *parser) completionsChunk(d []byte, t int64, whole bool) bool {
	var choices, usage []byte
	hasChoices := false
	it := newObjIter(d, 0, 0)
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(k, "choices"):
			choices, hasChoices = v, true
		case keyIs(k, "usage"):
			if !isNull(v) {
				usage = v
			}
		case keyIs(k, "sglext"):
			ps.noteSGLExt(v)
		case keyIs(k, "id"):
			ps.noteID(v)
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
	var choice []byte
	if hasChoices {
		var ok bool
		if choice, ok = firstElem(choices, 1); !ok && !isNull(choices) {
			return ps.decodeFail(errors.New("choices is not a list"), d)
		}
	}
	var text []byte
	if len(choice) > 0 {
		ci := newObjIter(choice, 0, 2)
		for {
			k, v, ok := ci.next()
			if !ok {
				break
			}
			switch {
			case keyIs(k, "text"):
				text, _ = rawString(v)
			case keyIs(k, "finish_reason"):
				ps.noteFinish(v)
			}
		}
		if ci.err != nil {
			return ps.decodeFail(ci.err, d)
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
	var choices, usage []byte
	hasChoices := false
	it := newObjIter(d, 0, 0)
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(k, "choices"):
			choices, hasChoices = v, true
		case keyIs(k, "usage"):
			if !isNull(v) {
				usage = v
			}
		case keyIs(k, "sglext"):
			ps.noteSGLExt(v)
		case keyIs(k, "id"):
			ps.noteID(v)
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
	cnt, hasCnt := ps.noteUsage(usage, true)
	var choice []byte
	if hasChoices && !isNull(choices) {
		var ok bool
		if choice, ok = firstElem(choices, 1); !ok {
			return ps.decodeFail(errors.New("choices is not a list"), d)
		}
	}
	if len(choice) == 0 {
		if whole {
			return ps.decodeFail(errors.New("a chat response without choices"), d)
		}
		return false // a usage-only chunk
	}
	field := "delta"
	if whole {
		field = "message"
	}
	var msg []byte
	ci := newObjIter(choice, 0, 2)
	for {
		k, v, ok := ci.next()
		if !ok {
			break
		}
		switch {
		case keyIs(k, field):
			msg = v
		case keyIs(k, "finish_reason"):
			ps.noteFinish(v)
		case keyIs(k, "meta_info") && whole:
			ps.chatMeta(v)
		}
	}
	if ci.err != nil {
		return ps.decodeFail(ci.err, d)
	}
	var rc, rs, content []byte
	if len(msg) > 0 && msg[0] == '{' {
		mi := newObjIter(msg, 0, 3)
		for {
			k, v, ok := mi.next()
			if !ok {
				break
			}
			switch {
			case keyIs(k, "reasoning_content"):
				rc, _ = rawString(v)
			case keyIs(k, "reasoning"):
				rs, _ = rawString(v)
			case keyIs(k, "content"):
				content, _ = rawString(v)
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
	if !ps.tokensOK {
		ev.ChunkTokens = nil
	}
	if len(ev.ChunkNS) == 0 {
		ev.ChunkNS = nil
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
	if ps.hasVerf {
		ev.SpecVerifyCt = intPtr(ps.verify)
	}
	if ps.hasSpec {
		f := ps.specAccept
		ev.SpecAcceptLength = &f
	}
	var text string
	if ps.b.spec.kind == kindNative {
		if ps.b.opts.RecordText {
			text = string(ps.st.text)
		} else {
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
