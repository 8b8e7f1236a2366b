package parity

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/bsbench/bs/pkg/sim"
)

// generationPaths are the endpoints whose requests are compared (fact sheet §3 URL table).
var generationPaths = map[string]bool{
	"/generate":                           true,
	"/v1/completions":                     true,
	"/v1/chat/completions":                true,
	"/v2/models/ensemble/generate_stream": true,
	"/v1/models/model:predict":            true,
}

// headerRule is a header that differs between the reference (Python aiohttp) and bs (Go net/http)
// by design: each side's value must match its pattern ("" = the header must be absent), and the
// header is then left out of the comparison. Every other header must be identical.
type headerRule struct {
	ref, bs string
	why     string
}

var headerRules = map[string]headerRule{
	"Accept-Encoding": {`^gzip, deflate(, br)?(, zstd)?$`, `^identity$`,
		"docs/compat.md: bs asks for an uncompressed body (a compressor can hold back stream events)"},
	"X-Request-Id": {"", `^[!-~]+$`,
		"docs/compat.md: bs tags every request so server logs can be joined with its events"},
	"User-Agent": {`^Python/3\.\d+ aiohttp/\d`, `^Go-http-client/1\.1$`,
		"each client's library default (not listed in docs/compat.md)"},
	"Accept": {`^\*/\*$`, "",
		"aiohttp's default Accept: */*; Go sends none (not listed in docs/compat.md)"},
	// Content-Length is checked against the body on each side; the values differ because Python's
	// json.dumps writes ", " and ": " separators and \uXXXX escapes (docs/compat.md).
	"Content-Length": {`^\d+$`, `^\d+$`, "docs/compat.md: compact JSON bodies"},
}

// routingKeyHeader carries generated-shared-prefix routing keys. Its value is
// "<per-run prefix>_<group>"; the prefix is random by design (the reference: uuid4 hex[:8] and a
// timestamp; bs: derived from the seed, docs/compat.md), so only the group is compared, and each
// side must use one prefix for the whole run.
const routingKeyHeader = "X-Smg-Routing-Key"

var (
	refRoutingKey = regexp.MustCompile(`^([0-9a-f]{8}_\d{14})_(\d+)$`)
	bsRoutingKey  = regexp.MustCompile(`^([0-9a-f]{8})_(\d+)$`)
)

// request is one generation request as bs-sim received it, normalised for comparison.
type request struct {
	method, path, query string
	headers             map[string]string // canonical name -> joined values, by-design headers removed
	body                jv
	key                 string // path + canonical headers + canonical body
	requestID           string // bs only
}

// side is one client's generation requests, the warm-up (the first one received) apart.
type side struct {
	name     string
	warmup   request
	run      []request
	problems []string
	prefixes map[string]bool
}

// splitRequests extracts the generation requests of one run from bs-sim's body log (in arrival
// order), normalises them and takes the first as the warm-up: both clients send their warm-up
// request(s) and wait for the answers before the run starts, so the first request received is
// always the warm-up (with --warmup-requests 1, the default both sides use here).
func splitRequests(name string, recs []sim.BodyRecord, isRef bool) *side {
	s := &side{name: name, prefixes: map[string]bool{}}
	var reqs []request
	for _, r := range recs {
		if r.Method == http.MethodGet {
			continue
		}
		if !generationPaths[r.Path] {
			s.problems = append(s.problems, fmt.Sprintf("%s sent %s %s, which is not a generation endpoint", name, r.Method, r.Path))
			continue
		}
		reqs = append(reqs, s.normalise(r, isRef))
	}
	if len(reqs) == 0 {
		s.problems = append(s.problems, name+" sent no generation request")
		return s
	}
	s.warmup, s.run = reqs[0], reqs[1:]
	if !isRef {
		for _, r := range s.run {
			if r.requestID == s.warmup.requestID {
				s.problems = append(s.problems, fmt.Sprintf("bs: the warm-up and a run request share X-Request-Id %q", r.requestID))
			}
		}
	}
	if len(s.prefixes) > 1 {
		s.problems = append(s.problems, fmt.Sprintf("%s used %d routing-key prefixes in one run: %v", name, len(s.prefixes), keys(s.prefixes)))
	}
	return s
}

func (s *side) normalise(r sim.BodyRecord, isRef bool) request {
	q := request{method: r.Method, path: r.Path, query: r.Query, headers: map[string]string{}}
	if r.BodyBase64 != "" {
		s.problems = append(s.problems, fmt.Sprintf("%s: a %s body is not valid UTF-8", s.name, r.Path))
	}
	body, err := parseJSON([]byte(r.Body))
	if err != nil {
		s.problems = append(s.problems, fmt.Sprintf("%s: %s body is not JSON: %v: %.200s", s.name, r.Path, err, r.Body))
	}
	q.body = body
	for name, vals := range r.Headers {
		name = http.CanonicalHeaderKey(name)
		v := strings.Join(vals, ", ")
		if name == "X-Request-Id" {
			q.requestID = v
		}
		if rule, ok := headerRules[name]; ok {
			pat := rule.bs
			if isRef {
				pat = rule.ref
			}
			if pat == "" || !regexp.MustCompile(pat).MatchString(v) {
				s.problems = append(s.problems, fmt.Sprintf("%s: header %s: %q does not match the expected %q (%s)", s.name, name, v, pat, rule.why))
			}
			if name == "Content-Length" && v != strconv.Itoa(len(r.Body)) {
				s.problems = append(s.problems, fmt.Sprintf("%s: Content-Length %s but the body has %d bytes", s.name, v, len(r.Body)))
			}
			continue
		}
		if name == routingKeyHeader {
			re := bsRoutingKey
			if isRef {
				re = refRoutingKey
			}
			m := re.FindStringSubmatch(v)
			if m == nil {
				s.problems = append(s.problems, fmt.Sprintf("%s: routing key %q does not have the form %s", s.name, v, re))
			} else {
				s.prefixes[m[1]] = true
				v = "<run>_" + m[2]
			}
		}
		q.headers[name] = v
	}
	for name, rule := range headerRules {
		pat := rule.bs
		if isRef {
			pat = rule.ref
		}
		if _, ok := r.Headers[name]; !ok && pat != "" {
			s.problems = append(s.problems, fmt.Sprintf("%s: header %s is missing (expected %q: %s)", s.name, name, pat, rule.why))
		}
	}
	var b strings.Builder
	b.WriteString(q.method + " " + q.path + "?" + q.query + "\n")
	for _, k := range sortedKeys(q.headers) {
		b.WriteString(k + ": " + q.headers[k] + "\n")
	}
	b.WriteString(q.body.String())
	q.key = b.String()
	return q
}

// diffRequest lists the differences between one reference request and one bs request.
func diffRequest(ref, got request) []string {
	var out []string
	if ref.method != got.method || ref.path != got.path || ref.query != got.query {
		out = append(out, fmt.Sprintf("endpoint: reference %s %s?%s, bs %s %s?%s", ref.method, ref.path, ref.query, got.method, got.path, got.query))
	}
	for _, k := range sortedKeys(ref.headers) {
		if g, ok := got.headers[k]; !ok {
			out = append(out, fmt.Sprintf("header %s: reference %q, bs sends none", k, ref.headers[k]))
		} else if g != ref.headers[k] {
			out = append(out, fmt.Sprintf("header %s: reference %q, bs %q", k, ref.headers[k], g))
		}
	}
	for _, k := range sortedKeys(got.headers) {
		if _, ok := ref.headers[k]; !ok {
			out = append(out, fmt.Sprintf("header %s: bs sends %q, the reference none", k, got.headers[k]))
		}
	}
	diffJSON("$", ref.body, got.body, &out)
	return out
}

// compareSides compares the warm-ups, then the run's requests as multisets (arrival order differs:
// the reference starts every request at once).
func compareSides(ref, bs *side) []string {
	out := append(append([]string{}, ref.problems...), bs.problems...)
	if len(out) > 0 && (ref.warmup.path == "" || bs.warmup.path == "") {
		return out
	}
	for _, d := range diffRequest(ref.warmup, bs.warmup) {
		out = append(out, "warm-up: "+d)
	}
	if len(ref.run) != len(bs.run) {
		out = append(out, fmt.Sprintf("the reference sent %d requests after its warm-up, bs %d", len(ref.run), len(bs.run)))
	}
	refOnly, bsOnly := multisetDiff(ref.run, bs.run)
	if len(refOnly) == 0 && len(bsOnly) == 0 {
		return out
	}
	out = append(out, fmt.Sprintf("%d of the reference's %d requests have no identical bs request (%d bs requests unmatched)", len(refOnly), len(ref.run), len(bsOnly)))
	// Explain: pair unmatched requests by prompt, else by position.
	used := map[int]bool{}
	shown := 0
	for _, r := range refOnly {
		j := -1
		for k, g := range bsOnly {
			if !used[k] && promptOf(g) == promptOf(r) {
				j = k
				break
			}
		}
		if j < 0 {
			for k := range bsOnly {
				if !used[k] {
					j = k
					break
				}
			}
		}
		if j < 0 {
			out = append(out, "reference request with no bs counterpart: "+clip(r.key, 300))
			continue
		}
		used[j] = true
		if shown < 3 {
			for _, d := range diffRequest(r, bsOnly[j]) {
				out = append(out, fmt.Sprintf("request (prompt %s): %s", clip(promptOf(r), 60), d))
			}
			shown++
		}
	}
	for k, g := range bsOnly {
		if !used[k] {
			out = append(out, "bs request with no reference counterpart: "+clip(g.key, 300))
		}
	}
	return out
}

func multisetDiff(a, b []request) (aOnly, bOnly []request) {
	count := map[string]int{}
	for _, r := range b {
		count[r.key]++
	}
	for _, r := range a {
		if count[r.key] > 0 {
			count[r.key]--
		} else {
			aOnly = append(aOnly, r)
		}
	}
	for _, r := range b {
		if count[r.key] > 0 {
			count[r.key]--
			bOnly = append(bOnly, r)
		}
	}
	return aOnly, bOnly
}

// promptOf returns the canonical prompt of a request body, whatever the backend calls it.
func promptOf(r request) string {
	for _, k := range []string{"text", "input_ids", "prompt", "messages", "text_input"} {
		if v, ok := r.body.get(k); ok {
			return v.String()
		}
	}
	return r.body.String()
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]bool) []string { return sortedKeys(m) }
