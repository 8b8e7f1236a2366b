package cli

import (
	"bytes"
	"strings"
	"testing"
)

type grammar struct {
	Rate  float64 `name:"request-rate" default:"+Inf"`
	Input int     `name:"random-input-len" aliases:"random-input" default:"1024"`
}

func TestParse(t *testing.T) {
	var g grammar
	var out, errb bytes.Buffer
	if code, ok := Parse("bs-x", "test", &g, []string{"--random-input", "77", "--request-rate", "inf"}, &out, &errb, nil); !ok || code != ExitOK {
		t.Fatalf("code %d ok %v: %s", code, ok, errb.String())
	}
	if g.Input != 77 || g.Rate < 1e308 {
		t.Fatalf("parsed %+v", g)
	}
	code, ok := Parse("bs-x", "test", &g, []string{"--bogus"}, &out, &errb, nil)
	if ok || code != ExitUsage {
		t.Fatalf("bad flag: code %d ok %v", code, ok)
	}
	if msg := errb.String(); !strings.Contains(msg, "bs-x: unknown flag --bogus") || !strings.Contains(msg, "see bs-x --help") {
		t.Fatalf("message %q", msg)
	}
	if out.Len() != 0 {
		t.Fatalf("usage error wrote to stdout: %q", out.String())
	}
}
