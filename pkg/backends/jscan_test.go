package backends

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

var scanCorpus = []string{
	`{}`, `[]`, `""`, `0`, `-0.5e+3`, `true`, `null`, `{"a":1}`, `{"a":[1,2,{"b":"c"}],"d":null}`,
	`{"t":"a\"b\\"}`, `{"t":"\\\\\\\""}`, `{"t":"` + strings.Repeat(`x\"`, 40) + `"}`,
	`{"t":"` + strings.Repeat(`\\`, 30) + `"}`, `{"k\u0065y":"v"}`, `{"a":"\ud83d\ude00"}`,
	` { "a" : [ 1 , 2 ] } `, `{"a":1,}`, `{"a"}`, `{"a":}`, `[1,]`, `{"a":01}`, `{"a":1.}`, `{"a":-}`,
	`{"a":"unterminated}`, `{"a":tru}`, `{"a":1} x`, `{"a":1}}`, `{"a":[}`, `{"a" 1}`, `[[[[[]]]]]`,
	`{"a":1e5,"b":-1.25E-3}`, `"` + strings.Repeat("é", 30) + `\"` + `"`,
}

// TestScannerAgreesWithEncodingJSON checks that every value encoding/json accepts is accepted, and
// that the members and unescaped strings are the same.
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	corpus := append([]string(nil), scanCorpus...)
	alphabet := []rune{'a', '"', '\\', '/', '\n', '\t', 'é', '☃', '😀', 0x01, 0x7f, '\u2028', ' '}
	for i := 0; i < 300; i++ {
		var sb strings.Builder
		for j := r.IntN(60); j > 0; j-- {
			sb.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		s := sb.String()
		k, _ := json.Marshal(s)
		v, _ := json.Marshal(map[string]any{"s": s, "n": r.Float64(), "l": []string{s, s}})
		corpus = append(corpus, string(k), `{`+string(k)+`:`+string(v)+`}`)
	}
	for _, c := range corpus {
		checkAgainstJSON(t, []byte(c))
	}
}

func checkAgainstJSON(t *testing.T, b []byte) {
	valid := json.Valid(b)
	err := checkValue(b)
	if valid && err != nil {
		t.Fatalf("%s: valid JSON rejected: %v", b, err)
	}
	if !valid {
		return
	}
	// Strings: unescape like encoding/json.
	if i := skipWS(b, 0); b[i] == '"' {
		var want string
		json.Unmarshal(b, &want)
		got, ok := unescapeString(b[i+1 : skipWS2(b)-1])
		if !ok || got != want {
			t.Fatalf("%s: unescaped %q, want %q", b, got, want)
		}
	}
	// Objects: same members, in order.
	if i := skipWS(b, 0); b[i] == '{' {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.Token()
		it := newObjIter(b, 0, 0)
		for dec.More() {
			kt, _ := dec.Token()
			var raw json.RawMessage
			dec.Decode(&raw)
			k, v, ok := it.next()
			if !ok {
				t.Fatalf("%s: scanner ended early: %v", b, it.err)
			}
			if ks, _ := unescapeString(k); ks != kt.(string) || string(v) != string(raw) {
				t.Fatalf("%s: member %q=%s, want %q=%s", b, ks, v, kt, raw)
			}
		}
		if _, _, ok := it.next(); ok || it.err != nil {
			t.Fatalf("%s: scanner has extra members or error %v", b, it.err)
		}
	}
}

// skipWS2 returns the end of the trimmed value.
func skipWS2(b []byte) int {
	e := len(b)
	for e > 0 && isWS(b[e-1]) {
		e--
	}
	return e
}

func FuzzScanner(f *testing.F) {
	for _, c := range scanCorpus {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAgainstJSON(t, b)
		var o object
		_ = o.parseObject(b) // must not panic
	})
}
