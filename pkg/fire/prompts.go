package fire

import (
	"errors"
	"io"
	"slices"

	"github.com/bsbench/bs/pkg/records"
)

// IncompatibleError is a prompt the chosen backend cannot send (see CheckPrompt). It arrives wrapped in
// a *records.DecodeError that names the file and line.
type IncompatibleError struct{ Err error }

func (e *IncompatibleError) Error() string { return e.Err.Error() }
func (e *IncompatibleError) Unwrap() error { return e.Err }

// Loader reads prompt records for a run: at most Limit of them (0 = all), each checked against the
// backend, and with a timestamp when NeedTimestamp is set. Errors name the file, line and field.
type Loader struct {
	Reader        *records.Reader[records.Prompt]
	Backend       string
	Limit         int
	NeedTimestamp bool
	n             int
}

// Next implements Source.
func (l *Loader) Next(p *records.Prompt) error {
	if l.Limit > 0 && l.n >= l.Limit {
		return io.EOF
	}
	if err := l.Reader.Next(p); err != nil {
		return err
	}
	l.n++
	file, line := l.Reader.Pos()
	if err := CheckPrompt(l.Backend, p); err != nil {
		de := &records.DecodeError{File: file, Line: line, Err: &IncompatibleError{err}}
		var fe *records.FieldError
		if errors.As(err, &fe) {
			de.Field = fe.Field
		}
		return de
	}
	if l.NeedTimestamp && p.TimestampMS == nil {
		return &records.DecodeError{File: file, Line: line, Field: "timestamp_ms",
			Err: errors.New("missing: --use-trace-timestamps needs a timestamp on every prompt")}
	}
	return nil
}

// All reads every prompt the loader yields into memory. A prompt record is small (its text plus a few
// numbers), so this costs roughly the size of the prompt file.
func (l *Loader) All() ([]records.Prompt, error) {
	var out []records.Prompt
	for {
		var p records.Prompt
		err := l.Next(&p)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
}

// SortByTimestamp orders prompts by their trace timestamp (stable, so equal timestamps keep file
// order) and returns the timestamps in that order.
func SortByTimestamp(ps []records.Prompt) []float64 {
	slices.SortStableFunc(ps, func(a, b records.Prompt) int {
		switch {
		case *a.TimestampMS < *b.TimestampMS:
			return -1
		case *a.TimestampMS > *b.TimestampMS:
			return 1
		}
		return 0
	})
	ts := make([]float64, len(ps))
	for i := range ps {
		ts[i] = *ps[i].TimestampMS
	}
	return ts
}

// Rounds returns the number of requests (events) a list of prompts makes: one per prompt, or one per
// round of a multi-turn prompt.
func Rounds(ps []records.Prompt) int {
	n := 0
	for i := range ps {
		n += max(len(ps[i].Turns), 1)
	}
	return n
}

// PeekSource yields first, then the rest of src.
type PeekSource struct {
	First *records.Prompt
	Src   Source
	Each  func(p *records.Prompt) // called on every prompt before it is returned (e.g. LoRA assignment)
	done  bool
}

// Next implements Source.
func (s *PeekSource) Next(p *records.Prompt) error {
	if !s.done && s.First != nil {
		s.done = true
		*p = *s.First
	} else if err := s.Src.Next(p); err != nil {
		return err
	}
	if s.Each != nil {
		s.Each(p)
	}
	return nil
}
