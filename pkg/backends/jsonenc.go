package backends

// JSON encoding for request bodies: compact output, keys in the order the reference builds its
// dicts, no HTML escaping (prompts full of <|im_start|> stay readable), and floats written the way
// Python writes them (0.0, 1.0, 1e-06) so that bodies read like the reference's.

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Control characters, quotes and backslashes are
// escaped; invalid UTF-8 becomes U+FFFD (as encoding/json does); U+2028/U+2029 are escaped.
func appendJSONString(dst []byte, s string) []byte {
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
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += n
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += n
			start = i
			continue
		}
		i += n
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

var errNonFinite = errors.New("NaN and infinite numbers cannot be sent in JSON")

// appendPyFloat appends f as Python's json.dumps writes a float: repr() form, "1.0" for integral
// values, exponent form below 1e-4 and from 1e16 on (1e-06, 1e+16).
func appendPyFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, errNonFinite
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(dst, "-0.0"...), nil
		}
		return append(dst, "0.0"...), nil
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	// Log10 can be off by one at exact powers of ten; use the shortest digits to decide.
	e := strconv.AppendFloat(nil, f, 'e', -1, 64)
	for k := len(e) - 1; k >= 0; k-- {
		if e[k] == 'e' {
			if n, err := strconv.Atoi(string(e[k+1:])); err == nil {
				exp = n
			}
			break
		}
	}
	if exp < -4 || exp >= 16 {
		return append(dst, e...), nil
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' {
			return dst, nil
		}
	}
	return append(dst, '.', '0'), nil
}

// appendCompact appends the valid JSON value v without insignificant white space.
func appendCompact(dst, v []byte) []byte {
	inStr := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if inStr {
			dst = append(dst, c)
			if c == '\\' && i+1 < len(v) {
				i++
				dst = append(dst, v[i])
			} else if c == '"' {
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inStr = true
		}
		dst = append(dst, c)
	}
	return dst
}
