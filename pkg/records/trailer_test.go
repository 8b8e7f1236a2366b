package records

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestTrailerRoundTrip(t *testing.T) {
	al := 2.5
	end := time.Date(2026, 11, 30, 12, 0, 1, 5, time.UTC)
	tr := Trailer{EndTime: end, DurationNS: 1e9, Sent: 2, OK: 1, Cancelled: 1, NotSent: 3,
		Interrupted: InterruptSignal, SendRate: 4.5,
		Lag:        LagStats{Count: 2, P50NS: 10, P99NS: 20, MaxNS: 30, LimitNS: 1e7},
		ServerInfo: json.RawMessage(`{"internal_states":[{"avg_spec_accept_length":2.5}]}`), AcceptLength: &al}
	ev1 := Event{ID: 0, RequestID: "a", SentNS: 1, EndNS: 2, OK: true}
	ev2 := Event{ID: 1, RequestID: "b", SentNS: 1, EndNS: 2, ErrorKind: ErrCancelled}
	path := writeStream(t, "ev.jsonl", Header{Stream: StreamEvents, Tool: "bs-fire"}, &ev1, &ev2)
	// Append the trailer as bs-fire does, as the last line.
	var sb strings.Builder
	w := NewWriter(&sb)
	if err := w.WriteTrailer(tr); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if !strings.HasPrefix(sb.String(), `{"kind":"trailer","end_time":"2026-11-30T12:00:01.000000005Z"`) {
		t.Fatalf("trailer line %s", sb.String())
	}
	r := NewReaderFrom[Event](StreamEvents, "x", io.MultiReader(mustOpen(t, path), strings.NewReader(sb.String())))
	var n int
	var ev Event
	for {
		err := r.Next(&ev)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("read %d events, want 2", n)
	}
	got := r.Trailers()
	if len(got) != 1 {
		t.Fatalf("%d trailers", len(got))
	}
	g := got[0]
	if g.Kind != KindTrailer || !g.EndTime.Equal(end) || g.Sent != 2 || g.Cancelled != 1 || g.NotSent != 3 ||
		g.Lag != tr.Lag || *g.AcceptLength != 2.5 || string(g.ServerInfo) != string(tr.ServerInfo) || g.Interrupted != InterruptSignal {
		t.Errorf("trailer read back as %+v", g)
	}
}

func TestTrailerOnlyInEventStreams(t *testing.T) {
	r := NewReaderFrom[Prompt](StreamPrompts, "p.jsonl", strings.NewReader(`{"kind":"trailer","sent":1}`+"\n"))
	var p Prompt
	err := r.Next(&p)
	var de *DecodeError
	if !errors.As(err, &de) || de.Line != 1 || de.Field != "kind" {
		t.Fatalf("got %v, want a DecodeError on line 1 field kind", err)
	}
}

func TestTrailerUnknownField(t *testing.T) {
	r := NewReaderFrom[Event](StreamEvents, "e.jsonl", strings.NewReader(`{"kind":"trailer","bogus":1}`+"\n"))
	var ev Event
	err := r.Next(&ev)
	var de *DecodeError
	if !errors.As(err, &de) || de.Field != "bogus" {
		t.Fatalf("got %v, want a DecodeError naming field bogus", err)
	}
}

func mustOpen(t *testing.T, path string) io.Reader {
	t.Helper()
	rc, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	return rc
}
