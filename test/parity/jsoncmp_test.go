package parity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/sim"
)

// jv is a parsed JSON value that keeps object key order and the literal form of numbers, so that
// bodies can be compared by value while still seeing key order and integer-vs-float differences.
type jv struct {
	kind byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys []string
	vals []jv // object values (parallel to keys) or array items
	str  string
	num  json.Number
	b    bool
}

// parseJSON parses one JSON document, keeping key order. Duplicate keys are an error (Python's
// json.dumps never writes them; a Go writer that did would be a bug).
func parseJSON(data []byte) (jv, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return jv{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jv{}, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (jv, error) {
	tok, err := dec.Token()
	if err != nil {
		return jv{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := jv{kind: 'o'}
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jv{}, err
				}
				k := kt.(string)
				if seen[k] {
					return jv{}, fmt.Errorf("duplicate key %q", k)
				}
				seen[k] = true
				val, err := parseValue(dec)
				if err != nil {
					return jv{}, err
				}
				v.keys = append(v.keys, k)
				v.vals = append(v.vals, val)
			}
			_, err := dec.Token()
			return v, err
		case '[':
			v := jv{kind: 'a'}
			for dec.More() {
				val, err := parseValue(dec)
				if err != nil {
					return jv{}, err
				}
				v.vals = append(v.vals, val)
			}
			_, err := dec.Token()
			return v, err
		}
	case string:
		return jv{kind: 's', str: t}, nil
	case json.Number:
		return jv{kind: 'n', num: t}, nil
	case bool:
		return jv{kind: 'b', b: t}, nil
	case nil:
		return jv{kind: 'z'}, nil
	}
	return jv{}, fmt.Errorf("unexpected token %v", tok)
}

// isIntLiteral reports whether a JSON number is written as an integer (Python int) rather than
// a float (Python float: has a '.', or an exponent).
func isIntLiteral(n json.Number) bool { return !strings.ContainsAny(string(n), ".eE") }

// numKey is a number's comparison form: its type (int or float, as Python would read it) and its
// exact value. 0 and 0.0 differ (int vs float); 1e-06 and 0.000001 are the same float.
func numKey(n json.Number) string {
	if isIntLiteral(n) {
		i, ok := new(big.Int).SetString(string(n), 10)
		if !ok {
			return "int:" + string(n)
		}
		return "int:" + i.String()
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return "float:" + string(n)
	}
	return "float:" + strconv.FormatFloat(f, 'g', -1, 64)
}

// canon writes v in a canonical form: key order kept, numbers as numKey, strings quoted.
func (v jv) canon(b *strings.Builder) {
	switch v.kind {
	case 'o':
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			v.vals[i].canon(b)
		}
		b.WriteByte('}')
	case 'a':
		b.WriteByte('[')
		for i, x := range v.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			x.canon(b)
		}
		b.WriteByte(']')
	case 's':
		b.WriteString(strconv.Quote(v.str))
	case 'n':
		b.WriteString(numKey(v.num))
	case 'b':
		b.WriteString(strconv.FormatBool(v.b))
	case 'z':
		b.WriteString("null")
	}
}

func (v jv) String() string {
	var b strings.Builder
	v.canon(&b)
	return b.String()
}

// get returns an object member.
func (v jv) get(key string) (jv, bool) {
	for i, k := range v.keys {
		if k == key {
			return v.vals[i], true
		}
	}
	return jv{}, false
}

// diffJSON lists the differences between ref and got, one line per difference, each naming the
// JSON path (e.g. $.sampling_params.temperature).
func diffJSON(path string, ref, got jv, out *[]string) {
	if ref.kind != got.kind {
		*out = append(*out, fmt.Sprintf("%s: reference %s, bs %s", path, short(ref), short(got)))
		return
	}
	switch ref.kind {
	case 'o':
		for i, k := range ref.keys {
			g, ok := got.get(k)
			if !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: reference %s, bs has no such field", path, k, short(ref.vals[i])))
				continue
			}
			diffJSON(path+"."+k, ref.vals[i], g, out)
		}
		for i, k := range got.keys {
			if _, ok := ref.get(k); !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: bs sends %s, the reference has no such field", path, k, short(got.vals[i])))
			}
		}
		if len(*out) == 0 && strings.Join(ref.keys, ",") != strings.Join(got.keys, ",") {
			*out = append(*out, fmt.Sprintf("%s: key order: reference %v, bs %v", path, ref.keys, got.keys))
		}
	case 'a':
		if len(ref.vals) != len(got.vals) {
			*out = append(*out, fmt.Sprintf("%s: reference has %d items, bs %d", path, len(ref.vals), len(got.vals)))
			return
		}
		for i := range ref.vals {
			diffJSON(fmt.Sprintf("%s[%d]", path, i), ref.vals[i], got.vals[i], out)
		}
	default:
		if ref.String() != got.String() {
			*out = append(*out, fmt.Sprintf("%s: reference %s, bs %s", path, short(ref), short(got)))
		}
	}
}

func short(v jv) string {
	var s string
	if v.kind == 'n' {
		s = string(v.num) + " (" + strings.SplitN(numKey(v.num), ":", 2)[0] + ")"
	} else {
		s = v.String()
	}
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// TestComparatorCatches checks the comparison itself, without the reference: every kind of
// difference the parity tests look for is reported, and by-design differences are not.
func TestComparatorCatches(t *testing.T) {
	refHdr := http.Header{"Accept": {"*/*"}, "Accept-Encoding": {"gzip, deflate"}, "User-Agent": {"Python/3.11 aiohttp/3.14.5"},
		"Content-Type": {"application/json"}}
	bsHdr := http.Header{"Accept-Encoding": {"identity"}, "User-Agent": {"Go-http-client/1.1"}, "Content-Type": {"application/json"}}
	rec := func(h http.Header, id, body string) sim.BodyRecord {
		h = h.Clone()
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if id != "" {
			h.Set("X-Request-Id", id)
		}
		return sim.BodyRecord{Method: "POST", Path: "/v1/completions", Headers: h, Body: body}
	}
	refBody := `{"model": "m", "prompt": "caf\u00e9", "max_tokens": 8, "temperature": 0.0, "ignore_eos": true}`
	same := `{"model":"m","prompt":"café","max_tokens":8,"temperature":0.0,"ignore_eos":true}`
	cases := []struct {
		name string
		bs   string
		hdr  http.Header
		want string // substring of the first reported difference; "" = identical
	}{
		{"identical", same, nil, ""},
		{"int vs float", `{"model":"m","prompt":"café","max_tokens":8,"temperature":0,"ignore_eos":true}`, nil, "$.temperature: reference 0.0 (float), bs 0 (int)"},
		{"key order", `{"model":"m","prompt":"café","max_tokens":8,"ignore_eos":true,"temperature":0.0}`, nil, "key order"},
		{"missing field", `{"model":"m","prompt":"café","max_tokens":8,"temperature":0.0}`, nil, "$.ignore_eos: reference true, bs has no such field"},
		{"extra field", `{"model":"m","prompt":"café","max_tokens":8,"temperature":0.0,"ignore_eos":true,"stream_options":{}}`, nil, "$.stream_options: bs sends"},
		{"value", `{"model":"m","prompt":"cafe","max_tokens":8,"temperature":0.0,"ignore_eos":true}`, nil, "$.prompt"},
		{"header", same, http.Header{"X-Extra": {"1"}}, "header X-Extra: bs sends"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := bsHdr.Clone()
			for k, v := range c.hdr {
				h[k] = v
			}
			ref := splitRequests("reference", []sim.BodyRecord{rec(refHdr, "", refBody), rec(refHdr, "", refBody)}, true)
			bs := splitRequests("bs", []sim.BodyRecord{rec(bsHdr, "w-0", same), rec(h, "r-1", c.bs)}, false)
			diffs := compareSides(ref, bs)
			if c.want == "" {
				if len(diffs) > 0 {
					t.Fatalf("identical requests reported as different: %v", diffs)
				}
				return
			}
			if !strings.Contains(strings.Join(diffs, "\n"), c.want) {
				t.Fatalf("want a difference containing %q, got %v", c.want, diffs)
			}
		})
	}
	// A request count mismatch and an undeclared header difference on the reference side.
	ref := splitRequests("reference", []sim.BodyRecord{rec(refHdr, "", refBody), rec(refHdr, "", refBody), rec(refHdr, "", refBody)}, true)
	bs := splitRequests("bs", []sim.BodyRecord{rec(bsHdr, "w-0", same), rec(bsHdr, "r-1", same)}, false)
	if d := strings.Join(compareSides(ref, bs), "\n"); !strings.Contains(d, "the reference sent 2 requests after its warm-up, bs 1") {
		t.Fatalf("count mismatch not reported: %s", d)
	}
	noUA := bsHdr.Clone()
	noUA.Del("Accept-Encoding")
	bs = splitRequests("bs", []sim.BodyRecord{rec(bsHdr, "w-0", same), rec(noUA, "r-1", same), rec(bsHdr, "r-2", same)}, false)
	if d := strings.Join(compareSides(ref, bs), "\n"); !strings.Contains(d, "header Accept-Encoding is missing") {
		t.Fatalf("a missing by-design header is not reported: %s", d)
	}
	// Routing keys: the random per-run prefix is ignored, the group is compared.
	rk := func(h http.Header, k string) http.Header { h = h.Clone(); h.Set(routingKeyHeader, k); return h }
	ref = splitRequests("reference", []sim.BodyRecord{rec(refHdr, "", refBody), rec(rk(refHdr, "0123abcd_20261130160000_2"), "", refBody)}, true)
	bs = splitRequests("bs", []sim.BodyRecord{rec(bsHdr, "w-0", same), rec(rk(bsHdr, "feedbeef_2"), "r-1", same)}, false)
	if d := compareSides(ref, bs); len(d) > 0 {
		t.Fatalf("same routing group reported as different: %v", d)
	}
	bs = splitRequests("bs", []sim.BodyRecord{rec(bsHdr, "w-0", same), rec(rk(bsHdr, "feedbeef_1"), "r-1", same)}, false)
	if d := strings.Join(compareSides(ref, bs), "\n"); !strings.Contains(d, `header X-Smg-Routing-Key: reference "<run>_2", bs "<run>_1"`) {
		t.Fatalf("a different routing group is not reported: %s", d)
	}
}
