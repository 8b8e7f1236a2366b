package backends

// JSON encoding for request bodies: compact output, keys in the order the reference builds its
// dicts, strings as jsonscan.AppendString writes them (no HTML escaping: prompts full of
// <|im_start|> stay readable), and floats written the way Python writes them (0.0, 1.0, 1e-06) so
// that bodies read like the reference's.

import (
	"errors"
	"math"
	"strconv"
)

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
