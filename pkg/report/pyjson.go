package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// PyRepr formats f as Python's repr(float) does: the shortest string that reads back as f, in fixed
// notation when the decimal exponent is in [-4, 16) (with ".0" added to integral values) and in
// scientific notation otherwise ("1e-05", "1.5e+16": at least two exponent digits, explicit sign).
// Infinities and NaN are "inf", "-inf" and "nan".
func PyRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	// Shortest round-trip digits and exponent, from Go's 'e' format: d.ddddde±XX.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	neg := strings.HasPrefix(e, "-")
	if neg {
		e = e[1:]
	}
	mant, expStr, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expStr)
	decpt := exp + 1 // value = 0.digits × 10^decpt
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if digits == "0" { // zero
		b.WriteString("0.0")
		return b.String()
	}
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", -decpt))
			b.WriteString(digits)
		case decpt >= len(digits):
			b.WriteString(digits)
			b.WriteString(strings.Repeat("0", decpt-len(digits)))
			b.WriteString(".0")
		default:
			b.WriteString(digits[:decpt])
			b.WriteByte('.')
			b.WriteString(digits[decpt:])
		}
		return b.String()
	}
	b.WriteByte(digits[0])
	if len(digits) > 1 {
		b.WriteByte('.')
		b.WriteString(digits[1:])
	}
	x := decpt - 1
	b.WriteByte('e')
	if x < 0 {
		b.WriteByte('-')
		x = -x
	} else {
		b.WriteByte('+')
	}
	if x < 10 {
		b.WriteByte('0')
	}
	b.WriteString(strconv.Itoa(x))
	return b.String()
}

// PyFloatJSON is json.dumps of a Python float: repr, except infinities and NaN, which Python writes as
// the non-standard tokens Infinity, -Infinity and NaN.
func PyFloatJSON(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return PyRepr(f)
}

// PyStringJSON is json.dumps of a Python str with ensure_ascii=True: `"` and `\` escaped, \n \r \t \b
// \f by name, every other character outside printable ASCII (0x20–0x7e) as \uXXXX, characters beyond
// the BMP as a UTF-16 surrogate pair. Invalid UTF-8 bytes become U+FFFD.
func PyStringJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r >= 0x20 && r <= 0x7e:
				b.WriteRune(r)
			case r > 0xffff:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			case r == utf8.RuneError:
				b.WriteString(`\ufffd`)
			default:
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// PyDict is an ordered JSON object written the way Python's json.dumps writes a dict.
type PyDict struct {
	keys []string
	vals []any
}

// Set appends key with value v (or replaces an existing key's value in place, as a Python dict does).
// Values may be nil, bool, int, float64, string, *int, *float64, []int, []float64, [][]float64,
// []string, *PyDict, json.RawMessage (re-serialised Python style) or PyRaw (written verbatim).
func (d *PyDict) Set(key string, v any) {
	for i, k := range d.keys {
		if k == key {
			d.vals[i] = v
			return
		}
	}
	d.keys = append(d.keys, key)
	d.vals = append(d.vals, v)
}

// PyRaw is a value written verbatim.
type PyRaw string

// PyDumps returns json.dumps(v) with Python's defaults (", " and ": " separators, ensure_ascii,
// float repr, Infinity/NaN).
func PyDumps(v any) (string, error) {
	var b strings.Builder
	if err := pyWrite(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func pyWrite(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(PyFloatJSON(x))
	case string:
		b.WriteString(PyStringJSON(x))
	case PyRaw:
		b.WriteString(string(x))
	case *int:
		if x == nil {
			b.WriteString("null")
		} else {
			b.WriteString(strconv.Itoa(*x))
		}
	case *float64:
		if x == nil {
			b.WriteString("null")
		} else {
			b.WriteString(PyFloatJSON(*x))
		}
	case []int:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Itoa(e))
		}
		b.WriteByte(']')
	case []float64:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(PyFloatJSON(e))
		}
		b.WriteByte(']')
	case [][]float64:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := pyWrite(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(PyStringJSON(e))
		}
		b.WriteByte(']')
	case *PyDict:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(PyStringJSON(k))
			b.WriteString(": ")
			if err := pyWrite(b, x.vals[i]); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		b.WriteByte('}')
	case json.RawMessage:
		if len(x) == 0 {
			b.WriteString("null")
			return nil
		}
		return pyReencode(b, x)
	default:
		return fmt.Errorf("cannot write %T as Python JSON", v)
	}
	return nil
}

// pyReencode re-serialises arbitrary JSON (for example server_info) as Python would after
// json.loads: object key order kept, integers kept exactly, other numbers as float repr.
func pyReencode(b *strings.Builder, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := pyValue(b, dec); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

func pyValue(b *strings.Builder, dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			b.WriteByte('{')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					b.WriteString(", ")
				}
				k, err := dec.Token()
				if err != nil {
					return err
				}
				b.WriteString(PyStringJSON(k.(string)))
				b.WriteString(": ")
				if err := pyValue(b, dec); err != nil {
					return err
				}
			}
			b.WriteByte('}')
		case '[':
			b.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					b.WriteString(", ")
				}
				if err := pyValue(b, dec); err != nil {
					return err
				}
			}
			b.WriteByte(']')
		}
		_, err := dec.Token() // closing delimiter
		return err
	case json.Number:
		s := string(t)
		if !strings.ContainsAny(s, ".eE") {
			// A Python int: exact, any size; "-0" reads as 0.
			if s == "-0" {
				s = "0"
			}
			b.WriteString(s)
			return nil
		}
		f, err := strconv.ParseFloat(s, 64)
		var ne *strconv.NumError
		if err != nil && !(errors.As(err, &ne) && ne.Err == strconv.ErrRange) {
			return err // out of range reads as ±Inf or 0, as in Python
		}
		b.WriteString(PyFloatJSON(f))
	case string:
		b.WriteString(PyStringJSON(t))
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	}
	return nil
}
