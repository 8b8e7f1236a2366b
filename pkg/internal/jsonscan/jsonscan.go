// Package jsonscan holds the JSON primitives of bs's hand-written record codecs: whitespace, number,
// string and value scanning that accept exactly what encoding/json accepts, string decoding that gives
// exactly encoding/json's text, and string and float encoding that give exactly encoding/json's bytes.
//
// A hand-written decoder built on them reads the shapes it knows and hands anything else to
// encoding/json, so every function here may be stricter than encoding/json (it then reports false and
// the caller falls back) but never laxer: what it accepts, encoding/json accepts with the same value.
// The tests check each function against encoding/json, including fuzz tests on arbitrary input.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds the nesting SkipValue follows, so hostile input cannot exhaust the stack. Deeper
// values are reported as not accepted (encoding/json allows 10,000 levels; the caller falls back to it).
const MaxDepth = 512

// IsSpace reports whether c is JSON whitespace.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipWS returns the index of the first byte at or after i that is not JSON whitespace.
func SkipWS(b []byte, i int) int {
	for i < len(b) && IsSpace(b[i]) {
		i++
	}
	return i
}

// Number checks the JSON number grammar from b[i] and returns the index after the number and whether
// it is an integer (no fraction, no exponent). ok is false when b[i:] does not start with a number.
func Number(b []byte, i int) (end int, isInt, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, false, false
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false, false
		}
	}
	return i, isInt, true
}

// Int64 reads the integer number that starts at b[i] as encoding/json stores a number in an int64
// field: the literal must be an integer (no fraction or exponent) within range. It returns the value
// and the index after the number; ok is false for anything else (a float literal, out of range, not a
// number), which encoding/json rejects with an UnmarshalTypeError or a syntax error.
func Int64(b []byte, i int) (v int64, end int, ok bool) {
	// Fast path: up to 18 digits cannot overflow.
	j, neg := i, false
	if j < len(b) && b[j] == '-' {
		neg = true
		j++
	}
	if j < len(b) && b[j] >= '1' && b[j] <= '9' {
		k := j
		for k < len(b) && b[k] >= '0' && b[k] <= '9' && k-j < 18 {
			v = v*10 + int64(b[k]-'0')
			k++
		}
		if k == len(b) || (b[k] != '.' && b[k] != 'e' && b[k] != 'E' && (b[k] < '0' || b[k] > '9')) {
			if neg {
				v = -v
			}
			return v, k, true
		}
	}
	end, isInt, ok := Number(b, i)
	if !ok || !isInt {
		return 0, 0, false
	}
	v, err := strconv.ParseInt(string(b[i:end]), 10, 64)
	return v, end, err == nil
}

// Float64 reads the number that starts at b[i] as encoding/json stores a number in a float64 field
// (strconv.ParseFloat of the literal; out of range is an error there, so not ok here).
func Float64(b []byte, i int) (v float64, end int, ok bool) {
	end, _, ok = Number(b, i)
	if !ok {
		return 0, 0, false
	}
	v, err := strconv.ParseFloat(string(b[i:end]), 64)
	return v, end, err == nil
}

// String reads the JSON string that starts at b[i] (the opening quote) and returns its text exactly as
// encoding/json decodes it into a Go string, and the index after the closing quote. ok is false when
// b[i:] is not a valid JSON string (no opening quote, a control character, a bad escape, no closing
// quote). As in encoding/json, invalid UTF-8 bytes and unpaired surrogate escapes become U+FFFD.
func String(b []byte, i int) (s string, end int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	start := i + 1
	// Fast path: no escape and valid UTF-8, so the text is the bytes between the quotes. Plain ASCII is
	// skipped eight bytes at a time.
	for j := start; ; {
		for j+8 <= len(b) && !special(binary.LittleEndian.Uint64(b[j:])) {
			j += 8
		}
		if j >= len(b) {
			return "", 0, false
		}
		c := b[j]
		switch {
		case c == '"':
			return string(b[start:j]), j + 1, true
		case c == '\\' || c < 0x20:
			return unquote(b, start, j)
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				return unquote(b, start, j)
			}
			j += size
		}
	}
}

// special reports whether any of the eight bytes in x is '"', '\\', a control character or not ASCII
// (the bit tricks of "Bit Twiddling Hacks": v-0x01… & ^v & 0x80… is non-zero exactly when a byte of v
// is zero, and x-n… & ^x & 0x80… exactly when a byte of x is below n).
func special(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ (ones * '"')
	s := x ^ (ones * '\\')
	return ((q-ones)&^q|(s-ones)&^s|(x-ones*0x20)&^x|x)&highs != 0
}

// unquote decodes the string whose text starts at b[start], the bytes b[start:j] needing no change
// (encoding/json's unquote, decode.go).
func unquote(b []byte, start, j int) (string, int, bool) {
	out := make([]byte, j-start, j-start+64)
	copy(out, b[start:j])
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			return string(out), j + 1, true
		case c < 0x20:
			return "", 0, false
		case c == '\\':
			var ok bool
			if out, j, ok = AppendEscape(out, b, j); !ok {
				return "", 0, false
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, "\ufffd"...)
			} else {
				out = append(out, b[j:j+size]...)
			}
			j += size
		}
	}
	return "", 0, false
}

// AppendEscape decodes the escape sequence that starts at b[i] (a backslash) onto dst, as
// encoding/json does, and returns the index after it; ok is false for an invalid escape. A \u escape
// of a surrogate pairs with a following \u escape of its partner; a lone surrogate becomes U+FFFD
// and the escape after it is left to be decoded on its own.
func AppendEscape(dst, b []byte, i int) (_ []byte, end int, ok bool) {
	if i+1 >= len(b) {
		return dst, 0, false
	}
	switch e := b[i+1]; e {
	case '"', '\\', '/':
		return append(dst, e), i + 2, true
	case 'b':
		return append(dst, '\b'), i + 2, true
	case 'f':
		return append(dst, '\f'), i + 2, true
	case 'n':
		return append(dst, '\n'), i + 2, true
	case 'r':
		return append(dst, '\r'), i + 2, true
	case 't':
		return append(dst, '\t'), i + 2, true
	case 'u':
		r := hex4(b, i+2)
		if r < 0 {
			return dst, 0, false
		}
		i += 6
		if utf16.IsSurrogate(r) {
			if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
				if r2 := hex4(b, i+2); r2 >= 0 {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						return utf8.AppendRune(dst, d), i + 6, true
					}
				}
			}
			r = utf8.RuneError
		}
		return utf8.AppendRune(dst, r), i, true
	}
	return dst, 0, false
}

// hex4 reads four hex digits at b[i:], or returns -1.
func hex4(b []byte, i int) rune {
	if i+4 > len(b) {
		return -1
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// SkipString checks the JSON string that starts at b[i] (the opening quote) as encoding/json's scanner
// does — no control characters, only valid escapes; any other byte, invalid UTF-8 included, is
// accepted — and returns the index after the closing quote.
func SkipString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			if i+1 >= len(b) {
				return 0, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if hex4(b, i+2) < 0 {
					return 0, false
				}
				i += 5
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

// SkipValue checks the JSON value that starts at b[i] (no leading space) as encoding/json's scanner
// does and returns the index after it. depth is the nesting level of the value; beyond MaxDepth the
// value is not accepted.
func SkipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; c {
	case '"':
		return SkipString(b, i)
	case '{', '[':
		if depth >= MaxDepth {
			return 0, false
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = SkipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			var ok bool
			if c == '{' {
				if i, ok = SkipString(b, i); !ok {
					return 0, false
				}
				if i = SkipWS(b, i); i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = SkipWS(b, i+1)
			}
			if i, ok = SkipValue(b, i, depth+1); !ok {
				return 0, false
			}
			i = SkipWS(b, i)
			switch {
			case i >= len(b):
				return 0, false
			case b[i] == closer:
				return i + 1, true
			case b[i] != ',':
				return 0, false
			}
			i = SkipWS(b, i+1)
		}
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	}
	end, _, ok := Number(b, i)
	return end, ok
}

func literal(b []byte, i int, s string) (int, bool) {
	if len(b)-i >= len(s) && string(b[i:i+len(s)]) == s {
		return i + len(s), true
	}
	return 0, false
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string exactly as encoding/json writes it with SetEscapeHTML(false):
// '"' and '\\' escaped, \b \f \n \r \t by name, other control characters as \u00XX, U+2028 and U+2029
// as \u2028 and \u2029, each invalid UTF-8 byte as \ufffd, everything else (<, >, & included) as is.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendFloat appends a finite float64 exactly as encoding/json writes it (the ES6 number-to-string
// form: %f-like, exponent form below 1e-6 and from 1e21, exponent without leading zeros). It reports
// false for NaN and ±Inf, which encoding/json refuses with an UnsupportedValueError.
func AppendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

// Cursor walks JSON in B from index I for a hand-written decoder. Every method returns false when the
// input is not what it handles (a syntax error, or a case the decoder leaves to encoding/json), and
// the cursor is then meaningless: the decoder hands the whole line to encoding/json. The value
// readers (Int, Int64, Float64, Bool, Str, Raw) expect the cursor on the value, whitespace skipped,
// as Object and Array leave it; apart from Raw they refuse null, which encoding/json stores by its
// own rules.
type Cursor struct {
	B []byte
	I int
}

// Next skips whitespace and returns the byte at the cursor (0 at the end).
func (d *Cursor) Next() byte {
	d.I = SkipWS(d.B, d.I)
	if d.I < len(d.B) {
		return d.B[d.I]
	}
	return 0
}

// Consume skips whitespace and c, if c is next.
func (d *Cursor) Consume(c byte) bool {
	if d.Next() == c {
		d.I++
		return true
	}
	return false
}

// AtEnd reports whether only whitespace is left.
func (d *Cursor) AtEnd() bool { return SkipWS(d.B, d.I) == len(d.B) }

// Object walks the object at the cursor, calling member with each key and the cursor on its value.
// Keys with escapes or non-ASCII bytes are not handled (encoding/json matches them after unescaping,
// or case-insensitively).
func (d *Cursor) Object(member func(key []byte) bool) bool {
	if !d.Consume('{') {
		return false
	}
	if d.Consume('}') {
		return true
	}
	for {
		if d.Next() != '"' {
			return false
		}
		start := d.I + 1
		end := start
		for end < len(d.B) && d.B[end] != '"' {
			if c := d.B[end]; c == '\\' || c < 0x20 || c >= 0x80 {
				return false
			}
			end++
		}
		if end == len(d.B) {
			return false
		}
		d.I = end + 1
		if !d.Consume(':') || d.Next() == 0 || !member(d.B[start:end]) {
			return false
		}
		if d.Consume(',') {
			continue
		}
		return d.Consume('}')
	}
}

// Array walks the array at the cursor, calling elem with the cursor on each element.
func (d *Cursor) Array(elem func() bool) bool {
	if !d.Consume('[') {
		return false
	}
	if d.Consume(']') {
		return true
	}
	for {
		if d.Next() == 0 || !elem() {
			return false
		}
		if d.Consume(',') {
			continue
		}
		return d.Consume(']')
	}
}

// Count guesses the length of the array of numbers or strings at the cursor (the commas before the
// first ']', plus one) to allocate it once.
func (d *Cursor) Count() int {
	rest := d.B[d.I:]
	if end := bytes.IndexByte(rest, ']'); end >= 0 {
		rest = rest[:end]
	}
	return bytes.Count(rest, []byte{','}) + 1
}

// Int64 reads an integer as encoding/json stores it in an int64 field.
func (d *Cursor) Int64() (int64, bool) {
	v, end, ok := Int64(d.B, d.I)
	d.I = end
	return v, ok
}

// Int reads an integer as encoding/json stores it in an int field.
func (d *Cursor) Int() (int, bool) {
	v, ok := d.Int64()
	return int(v), ok && int64(int(v)) == v
}

// Float64 reads a number as encoding/json stores it in a float64 field.
func (d *Cursor) Float64() (float64, bool) {
	v, end, ok := Float64(d.B, d.I)
	d.I = end
	return v, ok
}

// Bool reads true or false.
func (d *Cursor) Bool() (bool, bool) {
	switch {
	case bytes.HasPrefix(d.B[d.I:], []byte("true")):
		d.I += 4
		return true, true
	case bytes.HasPrefix(d.B[d.I:], []byte("false")):
		d.I += 5
		return false, true
	}
	return false, false
}

// Str reads a string as encoding/json stores it in a string field.
func (d *Cursor) Str() (string, bool) {
	s, end, ok := String(d.B, d.I)
	d.I = end
	return s, ok
}

// Raw reads any value (null included) as json.RawMessage does: a copy of its bytes.
func (d *Cursor) Raw() ([]byte, bool) {
	end, ok := SkipValue(d.B, d.I, 1)
	if !ok {
		return nil, false
	}
	v := append([]byte(nil), d.B[d.I:end]...)
	d.I = end
	return v, true
}
