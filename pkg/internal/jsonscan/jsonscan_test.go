package jsonscan

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// stringCases are JSON string literals: plain, escaped, surrogates (paired, lone, reversed), invalid
// UTF-8, and invalid ones.
var stringCases = []string{
	`""`, `"abc"`, `"café 日本 🙂"`, `"a\"b\\c\/d"`, `"\b\f\n\r\t"`, `"\u0000\u001f\u00e9\u2028\uFFFD"`,
	`"\ud83d\ude42"`, `"\ud83d"`, `"\ud83dx"`, `"\ude42\ud83d"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude42"`,
	"\"\xff\xfe\"", "\"a\xc3\"", "\"\xed\xa0\x80\"", "\"\xef\xbf\xbd\"", "\"\x7f\"",
	`"\ud83d\uZZZZ"`, `"\x"`, `"\u12"`, `"abc`, `"a` + "\n" + `b"`, `"\`, `abc`, `"a\u00"`, "\"\t\"",
}

func TestStringMatchesEncodingJSON(t *testing.T) {
	for _, c := range stringCases {
		checkString(t, []byte(c))
	}
}

// checkString compares String with json.Unmarshal on b: where String accepts, encoding/json must
// accept the same bytes with the same text; where encoding/json accepts b as one string literal,
// String must too.
func checkString(t *testing.T, b []byte) {
	t.Helper()
	s, end, ok := String(b, 0)
	var want string
	wantErr := json.Unmarshal(b, &want)
	if ok {
		var w string
		if err := json.Unmarshal(b[:end], &w); err != nil || w != s {
			t.Fatalf("%q: String gives %q (end %d), encoding/json %q, %v", b, s, end, w, err)
		}
	}
	if wantErr == nil && len(b) > 0 && b[0] == '"' && b[len(b)-1] == '"' && (!ok || end != len(b) || s != want) {
		t.Fatalf("%q: encoding/json gives %q, String %q (end %d, ok %v)", b, want, s, end, ok)
	}
	// SkipString accepts exactly the same literals.
	se, sok := SkipString(b, 0)
	if sok != ok || (ok && se != end) {
		t.Fatalf("%q: SkipString end %d ok %v, String end %d ok %v", b, se, sok, end, ok)
	}
}

func FuzzString(f *testing.F) {
	for _, c := range stringCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkString(t, b)
		checkString(t, append(append([]byte{'"'}, b...), '"'))
	})
}

var valueCases = []string{
	`0`, `-0`, `12`, `-1.5e+10`, `1E-7`, `01`, `-`, `1.`, `.5`, `1e`, `true`, `false`, `null`, `nul`, `tru`,
	`"x"`, `[]`, `[ ]`, `[1, "a", {"b": [null]}]`, `{}`, `{ "a" : 1 , "b" : [ true ] }`, `{"a"}`, `{"a":}`,
	`{"a":1,}`, `[1,]`, `[1 2]`, `{1:2}`, `{"a":1` + "\n" + `}`, `[` + "\x00" + `]`, `{"a":"\q"}`,
	strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
	strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
}

// checkValue compares SkipValue with json.Valid: what SkipValue accepts must be valid, and a valid
// value within MaxDepth without surrounding space must be accepted whole.
func checkValue(t *testing.T, b []byte) {
	t.Helper()
	end, ok := SkipValue(b, 0, 0)
	if ok && !json.Valid(b[:end]) {
		t.Fatalf("%q: SkipValue accepts %q, encoding/json does not", b, b[:end])
	}
	deep := bytes.Count(b, []byte("["))+bytes.Count(b, []byte("{")) > MaxDepth
	if json.Valid(b) && !deep && len(b) > 0 && !IsSpace(b[0]) && !IsSpace(b[len(b)-1]) && (!ok || end != len(b)) {
		t.Fatalf("%q: valid, SkipValue end %d ok %v", b, end, ok)
	}
}

func TestSkipValueMatchesEncodingJSON(t *testing.T) {
	for _, c := range append(valueCases, stringCases...) {
		checkValue(t, []byte(c))
	}
	if _, ok := SkipValue([]byte(valueCases[len(valueCases)-1]), 0, 0); ok {
		t.Fatal("accepted nesting deeper than MaxDepth")
	}
	if _, ok := SkipValue([]byte(valueCases[len(valueCases)-2]), 0, 0); !ok {
		t.Fatal("refused nesting of MaxDepth")
	}
}

func FuzzSkipValue(f *testing.F) {
	for _, c := range valueCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkValue(t, b) })
}

var numberCases = []string{
	`0`, `-0`, `7`, `-7`, `123456789012345678`, `1234567890123456789`, `9223372036854775807`,
	`9223372036854775808`, `-9223372036854775808`, `-9223372036854775809`, `1.0`, `1e2`, `1E+2`, `-1.5e-3`,
	`1e400`, `-1e400`, `1e-400`, `0.1`, `01`, `-`, `+1`, `1.`, `.1`, `00`, `2,`, `3]`, `4}`, `5 `,
}

// checkNumber compares Int64 and Float64 with encoding/json storing the number in an int64 and a
// float64: where they accept, encoding/json accepts the same bytes with the same value.
func checkNumber(t *testing.T, b []byte) {
	t.Helper()
	if v, end, ok := Int64(b, 0); ok {
		var w int64
		if err := json.Unmarshal(b[:end], &w); err != nil || w != v {
			t.Fatalf("%q: Int64 %d (end %d), encoding/json %d, %v", b, v, end, w, err)
		}
	} else if end, isInt, nok := Number(b, 0); nok && isInt {
		var w int64
		if json.Unmarshal(b[:end], &w) == nil {
			t.Fatalf("%q: Int64 refuses, encoding/json reads %d", b[:end], w)
		}
	}
	if v, end, ok := Float64(b, 0); ok {
		var w float64
		if err := json.Unmarshal(b[:end], &w); err != nil || math.Float64bits(w) != math.Float64bits(v) {
			t.Fatalf("%q: Float64 %v (end %d), encoding/json %v, %v", b, v, end, w, err)
		}
	}
}

func TestNumbersMatchEncodingJSON(t *testing.T) {
	for _, c := range numberCases {
		checkNumber(t, []byte(c))
	}
	for _, c := range []struct {
		in  string
		v   int64
		end int
	}{{"12,", 12, 2}, {"-3}", -3, 2}, {"9223372036854775807]", math.MaxInt64, 19}, {"0 ", 0, 1}} {
		if v, end, ok := Int64([]byte(c.in), 0); !ok || v != c.v || end != c.end {
			t.Fatalf("%q: %d %d %v", c.in, v, end, ok)
		}
	}
	for _, c := range []string{"1.0", "1e2", "9223372036854775808", "-", "x"} {
		if _, _, ok := Int64([]byte(c), 0); ok {
			t.Fatalf("%q accepted as an integer", c)
		}
	}
}

func FuzzNumber(f *testing.F) {
	for _, c := range numberCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkNumber(t, b) })
}

// encodeJSON is encoding/json's encoding of v with SetEscapeHTML(false), without the newline.
func encodeJSON(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

var appendCases = []string{
	"", "abc", `a"b\c`, "<a href='x'>&amp;</a>", "\x00\x01\x1f\x7f", "\b\f\n\r\t", "café 日本 🙂",
	"\u2028\u2029", "\xff", "a\xc3", "\xed\xa0\x80", "\ufffd",
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range appendCases {
		if got, want := string(AppendString(nil, s)), encodeJSON(t, s); got != want {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	}
	if got := string(AppendString([]byte("x:"), "<&>\n")); got != `x:"<&>\n"` {
		t.Fatalf("got %s", got)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range appendCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(AppendString(nil, s)), encodeJSON(t, s); got != want {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}

var floatCases = []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1.0 / 3, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789e13,
	-1e21, 5e-324, math.MaxFloat64, math.SmallestNonzeroFloat64, 3.0000000000000004, 1e-9, 1.5e-10}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range floatCases {
		got, ok := AppendFloat(nil, f)
		if want := encodeJSON(t, f); !ok || string(got) != want {
			t.Fatalf("%v: got %s (%v), want %s", f, got, ok, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, ok := AppendFloat(nil, f); ok {
			t.Fatalf("%v accepted", f)
		}
	}
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range floatCases {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		got, ok := AppendFloat(nil, v)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if ok {
				t.Fatalf("%v accepted", v)
			}
			return
		}
		if want := encodeJSON(t, v); !ok || string(got) != want {
			t.Fatalf("%v: got %s (%v), want %s", v, got, ok, want)
		}
	})
}

// special must agree with a byte-by-byte check on every byte value in every position.
func TestSpecial(t *testing.T) {
	for c := range 256 {
		want := c == '"' || c == '\\' || c < 0x20 || c >= 0x80
		for pos := range 8 {
			var w [8]byte
			for k := range w {
				w[k] = 'a'
			}
			w[pos] = byte(c)
			x := uint64(0)
			for k := 7; k >= 0; k-- {
				x = x<<8 | uint64(w[k])
			}
			if special(x) != want {
				t.Fatalf("byte %#x at %d: special %v", c, pos, !want)
			}
		}
	}
}

func BenchmarkString(b *testing.B) {
	ascii := []byte(`"12345 ` + strings.TrimSpace(strings.Repeat("benchmark ", 127)) + `"`)
	mixed := []byte(`"` + strings.Repeat("café 日本 the quick brown fox ", 30) + `"`)
	for _, c := range []struct {
		name string
		b    []byte
	}{{"ascii", ascii}, {"utf8", mixed}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.b)))
			for b.Loop() {
				if _, _, ok := String(c.b, 0); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}
