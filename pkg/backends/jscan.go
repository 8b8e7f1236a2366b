package backends

// A small allocation-free JSON scanner for the response hot path. Stream chunks are decoded by
// walking the object and looking only at the few keys bs needs; everything else is skipped (and
// checked for well-formedness) without building any value. Strings are returned raw (still escaped);
// unescape them only when their text is needed.

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/bsbench/bs/pkg/internal/jsonscan"
)

// maxDepth bounds nesting so a hostile body cannot exhaust the stack.
const maxDepth = 512

var (
	errSyntax   = errors.New("invalid JSON")
	errDepth    = errors.New("JSON nested too deeply")
	errNotObj   = errors.New("JSON value is not an object")
	errTrailing = errors.New("invalid JSON: data after the top-level value")
)

func isWS(c byte) bool { return jsonscan.IsSpace(c) }

func skipWS(b []byte, i int) int { return jsonscan.SkipWS(b, i) }

// scanString expects b[i] == '"' and returns the index just after the closing quote.
func scanString(b []byte, i int) (int, error) {
	i++ // opening quote
	// Most strings in a chunk are short keys and values: a plain loop beats IndexByte's call cost.
	for n := min(len(b), i+24); i < n; i++ {
		switch b[i] {
		case '"':
			return i + 1, nil
		case '\\':
			if i+1 >= len(b) {
				return 0, errSyntax
			}
			i++
		}
	}
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return 0, errSyntax
		}
		q := i + j
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for k := q - 1; k >= i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q + 1, nil
		}
		i = q + 1
	}
}

// scanNumber checks the JSON number grammar starting at b[i] and returns the index after it.
func scanNumber(b []byte, i int) (int, error) {
	end, _, ok := jsonscan.Number(b, i)
	if !ok {
		return 0, errSyntax
	}
	return end, nil
}

// skipValue returns the index just after the JSON value starting at b[i] (no leading space).
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{':
		if depth >= maxDepth {
			return 0, errDepth
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return 0, errSyntax
			}
			var err error
			if i, err = scanString(b, i); err != nil {
				return 0, err
			}
			i = skipWS(b, i)
			if i >= len(b) || b[i] != ':' {
				return 0, errSyntax
			}
			if i, err = skipValue(b, skipWS(b, i+1), depth+1); err != nil {
				return 0, err
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, errSyntax
			}
			if b[i] == '}' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, errSyntax
			}
			i = skipWS(b, i+1)
		}
	case c == '[':
		if depth >= maxDepth {
			return 0, errDepth
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = skipValue(b, i, depth+1); err != nil {
				return 0, err
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, errSyntax
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, errSyntax
			}
			i = skipWS(b, i+1)
		}
	case c == 't':
		return lit(b, i, "true")
	case c == 'f':
		return lit(b, i, "false")
	case c == 'n':
		return lit(b, i, "null")
	default:
		return scanNumber(b, i)
	}
}

func lit(b []byte, i int, s string) (int, error) {
	if len(b)-i >= len(s) && string(b[i:i+len(s)]) == s {
		return i + len(s), nil
	}
	return 0, errSyntax
}

// checkValue reports whether b holds exactly one JSON value (surrounding space allowed).
func checkValue(b []byte) error {
	i := skipWS(b, 0)
	end, err := skipValue(b, i, 0)
	if err != nil {
		return err
	}
	if skipWS(b, end) != len(b) {
		return errTrailing
	}
	return nil
}

// objIter walks the members of one JSON object without allocating.
type objIter struct {
	b     []byte
	i     int
	depth int
	err   error
	start bool
	done  bool
}

// newObjIter starts iterating the object that begins at b[i] (leading space allowed).
func newObjIter(b []byte, i, depth int) objIter {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '{' {
		return objIter{err: errNotObj, done: true}
	}
	if depth >= maxDepth {
		return objIter{err: errDepth, done: true}
	}
	return objIter{b: b, i: i + 1, depth: depth, start: true}
}

// next returns the next member: its raw key (between the quotes, still escaped) and its raw value.
// It returns ok == false at the end of the object or on error (see it.err).
func (it *objIter) next() (key, val []byte, ok bool) {
	if it.done {
		return nil, nil, false
	}
	b := it.b
	i := skipWS(b, it.i)
	if it.start {
		it.start = false
		if i < len(b) && b[i] == '}' {
			it.i, it.done = i+1, true
			return nil, nil, false
		}
	} else {
		if i >= len(b) {
			return it.fail(errSyntax)
		}
		if b[i] == '}' {
			it.i, it.done = i+1, true
			return nil, nil, false
		}
		if b[i] != ',' {
			return it.fail(errSyntax)
		}
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return it.fail(errSyntax)
	}
	ke, err := scanString(b, i)
	if err != nil {
		return it.fail(err)
	}
	key = b[i+1 : ke-1]
	i = skipWS(b, ke)
	if i >= len(b) || b[i] != ':' {
		return it.fail(errSyntax)
	}
	vs := skipWS(b, i+1)
	ve, err := skipValue(b, vs, it.depth+1)
	if err != nil {
		return it.fail(err)
	}
	it.i = ve
	return key, b[vs:ve], true
}

func (it *objIter) fail(err error) ([]byte, []byte, bool) {
	it.err, it.done = err, true
	return nil, nil, false
}

// end returns the index after the object once next has returned false.
func (it *objIter) end() int { return it.i }

// keyIs compares a raw key with a plain ASCII name.
func keyIs(raw []byte, name string) bool {
	if string(raw) == name {
		return true
	}
	// An escape makes the raw key longer than its text, so only a longer key can still match.
	if len(raw) <= len(name) || bytes.IndexByte(raw, '\\') < 0 {
		return false
	}
	var tmp [64]byte
	u, ok := unescapeAppend(tmp[:0], raw)
	return ok && string(u) == name
}

// isNull reports whether a raw value is the literal null.
func isNull(v []byte) bool { return len(v) == 4 && string(v) == "null" }

// rawString returns the contents of a raw JSON string value (between the quotes, still escaped).
func rawString(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	return v[1 : len(v)-1], true
}

// firstElem returns the first element of a raw JSON array (nil when the array is empty).
func firstElem(v []byte, depth int) ([]byte, bool) {
	if len(v) == 0 || v[0] != '[' {
		return nil, false
	}
	i := skipWS(v, 1)
	if i < len(v) && v[i] == ']' {
		return nil, true
	}
	e, err := skipValue(v, i, depth+1)
	if err != nil {
		return nil, false
	}
	return v[i:e], true
}

// parseInt reads a raw JSON number as an int. Integral floats (5.0) are accepted.
func parseInt(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 20 {
		if len(v) > 0 {
			f, ok := parseFloat(v)
			if ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int(f), true
			}
		}
		return 0, false
	}
	neg := false
	i := 0
	if v[0] == '-' {
		neg, i = true, 1
	}
	if i == len(v) {
		return 0, false
	}
	n := 0
	for ; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			f, ok := parseFloat(v)
			if ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int(f), true
			}
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n < 0 {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseFloat reads a raw JSON number.
func parseFloat(v []byte) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	// ParseFloat does not keep its argument (its errors carry a copy), so a no-copy view is safe.
	f, err := strconv.ParseFloat(unsafe.String(&v[0], len(v)), 64)
	return f, err == nil
}

// unescapeAppend appends the text of a raw JSON string (without quotes) to dst. Invalid escapes
// make it return ok == false; invalid UTF-8 and lone surrogates become U+FFFD, as encoding/json does.
func unescapeAppend(dst, raw []byte) ([]byte, bool) {
	for len(raw) > 0 {
		j := bytes.IndexByte(raw, '\\')
		if j < 0 {
			return appendValidUTF8(dst, raw), true
		}
		dst = appendValidUTF8(dst, raw[:j])
		raw = raw[j:]
		var ok bool
		var n int
		if dst, n, ok = jsonscan.AppendEscape(dst, raw, 0); !ok {
			return dst, false
		}
		raw = raw[n:]
	}
	return dst, true
}

func appendValidUTF8(dst, s []byte) []byte {
	if utf8.Valid(s) {
		return append(dst, s...)
	}
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[:n]...)
		}
		s = s[n:]
	}
	return dst
}

// escapesOK reports whether every escape in a raw JSON string (without quotes) is valid: whether
// unescapeAppend would succeed, without building the text.
func escapesOK(raw []byte) bool {
	var tmp [utf8.UTFMax]byte
	for {
		j := bytes.IndexByte(raw, '\\')
		if j < 0 {
			return true
		}
		_, n, ok := jsonscan.AppendEscape(tmp[:0], raw, j)
		if !ok {
			return false
		}
		raw = raw[n:]
	}
}

// unescapeString returns the text of a raw JSON string as a Go string.
func unescapeString(raw []byte) (string, bool) {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw), true
	}
	b, ok := unescapeAppend(make([]byte, 0, len(raw)), raw)
	return string(b), ok
}
