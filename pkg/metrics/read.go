package metrics

import (
	"errors"
	"io"

	"github.com/bsbench/bs/pkg/records"
)

// ReadAll feeds every event of rd into the accumulator: each header starts a new stream (its
// StartTime is the time base of the events that follow), each trailer is attached to the stream it
// ends. It returns the reader's first error (a *records.DecodeError names file, line and field).
func (a *Accumulator) ReadAll(rd *records.Reader[records.Event]) error {
	seen := 0
	attach := func() {
		for _, t := range rd.Trailers()[seen:] {
			a.End(&t)
		}
		seen = len(rd.Trailers())
	}
	prev := rd.OnHeader
	rd.OnHeader = func(h records.Header, file string) error {
		attach()
		a.Begin(&h, file)
		if prev != nil {
			return prev(h, file)
		}
		return nil
	}
	var ev records.Event
	for {
		err := rd.Next(&ev)
		if errors.Is(err, io.EOF) {
			attach()
			return nil
		}
		if err != nil {
			return err
		}
		attach()
		if name, _ := rd.Pos(); a.cur < 0 || a.streams[a.cur].file != name {
			a.Begin(nil, name)
		}
		a.Add(&ev)
	}
}

// NewEventReader returns a reader of event streams from the named inputs ("-" is standard input).
func NewEventReader(names ...string) *records.Reader[records.Event] {
	return records.NewReader[records.Event](records.StreamEvents, names...)
}
