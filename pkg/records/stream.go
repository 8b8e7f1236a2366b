package records

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DecodeError is a malformed line in an input stream. It names the file, the 1-based line and, when
// known, the offending field.
type DecodeError struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *DecodeError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: field %q: %v", e.File, e.Line, e.Field, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Validator is implemented by record types that check their own consistency after decoding. The
// returned error should be a *FieldError.
type Validator interface{ Validate() error }

// FieldError is a record whose field holds an impossible value.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Msg }

// Reader decodes records of type T, one per line, from a sequence of inputs read one after the other.
// Each input may start with a Header; the header must be of the expected stream kind and format
// version. Blank lines are ignored. Memory use is one line at a time.
type Reader[T any] struct {
	stream  string
	names   []string
	next    int
	cur     io.ReadCloser
	br      *bufio.Reader
	name    string
	line    int
	buf     []byte
	headers []Header
	// trailers holds the event-stream trailers read so far.
	trailers []Trailer
	// Unmarshal decodes one line; the default rejects unknown fields (for Prompt and Event it is
	// DecodePrompt or DecodeEvent, which give the same values and errors faster).
	Unmarshal func(line []byte, v *T) error
	// OnHeader, if set, is called for every header read, before the records that follow it.
	OnHeader func(h Header, file string) error
}

// NewReader reads records of the given stream kind (StreamPrompts, StreamEvents, StreamSummary) from
// the named inputs in order. "-" is standard input. With no names it reads standard input.
func NewReader[T any](stream string, names ...string) *Reader[T] {
	if len(names) == 0 {
		names = []string{Stdio}
	}
	return &Reader[T]{stream: stream, names: names, Unmarshal: defaultUnmarshal[T]()}
}

// defaultUnmarshal returns the decoder a new Reader[T] uses: the hand-written one for the types that
// have one, strictUnmarshal for the others.
func defaultUnmarshal[T any]() func(line []byte, v *T) error {
	if f, ok := any(DecodePrompt).(func([]byte, *T) error); ok {
		return f
	}
	if f, ok := any(DecodeEvent).(func([]byte, *T) error); ok {
		return f
	}
	return strictUnmarshal[T]
}

// NewReaderFrom reads records from an already open reader, named name in errors.
func NewReaderFrom[T any](stream, name string, r io.Reader) *Reader[T] {
	rd := NewReader[T](stream)
	rd.names = nil
	rd.cur = io.NopCloser(r)
	rd.br = bufio.NewReaderSize(r, 256<<10)
	rd.name = name
	return rd
}

func strictUnmarshal[T any](line []byte, v *T) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

// All reads every remaining record into memory (for tests and small streams: records are read one at
// a time with Next everywhere memory matters).
func (r *Reader[T]) All() ([]T, error) {
	var out []T
	for {
		var v T
		err := r.Next(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
}

// Headers returns the headers read so far, one per input that had one.
func (r *Reader[T]) Headers() []Header { return r.headers }

// Pos returns the input name and line number of the record last returned.
func (r *Reader[T]) Pos() (string, int) { return r.name, r.line }

// Next decodes the next record into v. It returns io.EOF after the last record of the last input, and a
// *DecodeError for a malformed line.
func (r *Reader[T]) Next(v *T) error {
	for {
		if r.br == nil {
			if r.next >= len(r.names) {
				return io.EOF
			}
			name := r.names[r.next]
			r.next++
			rc, err := Open(name)
			if err != nil {
				return err
			}
			r.cur, r.name, r.line = rc, displayName(name), 0
			r.br = bufio.NewReaderSize(rc, 256<<10)
		}
		line, err := r.readLine()
		if err == io.EOF {
			if cerr := r.cur.Close(); cerr != nil {
				return fmt.Errorf("%s: %w", r.name, cerr)
			}
			r.br, r.cur = nil, nil
			continue
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", r.name, r.line+1, err)
		}
		r.line++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		switch lineKind(line) {
		case KindHeader:
			if err := r.readHeader(line); err != nil {
				return err
			}
			continue
		case KindTrailer:
			if err := r.readTrailer(line); err != nil {
				return err
			}
			continue
		}
		var zero T
		*v = zero
		if err := r.Unmarshal(line, v); err != nil {
			return r.decodeError(err)
		}
		if val, ok := any(v).(Validator); ok {
			if err := val.Validate(); err != nil {
				return r.decodeError(err)
			}
		}
		return nil
	}
}

// Close closes the current input.
func (r *Reader[T]) Close() error {
	if r.cur != nil {
		err := r.cur.Close()
		r.cur, r.br = nil, nil
		return err
	}
	return nil
}

func (r *Reader[T]) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.buf = append(r.buf, chunk...)
		switch {
		case err == nil:
			return r.buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			if len(r.buf) > 0 {
				return r.buf, nil // last line without a newline
			}
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

// lineKind returns the "kind" of a header or trailer line, and "" for a record line.
func lineKind(line []byte) string {
	if !bytes.Contains(line, []byte(`"kind"`)) {
		return ""
	}
	var probe struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal(line, &probe) != nil {
		return ""
	}
	return probe.Kind
}

// readTrailer decodes an event stream's trailer line and keeps it.
func (r *Reader[T]) readTrailer(line []byte) error {
	if r.stream != StreamEvents {
		return &DecodeError{File: r.name, Line: r.line, Field: "kind",
			Err: fmt.Errorf("a trailer belongs to an %q stream, this is read as %q", StreamEvents, r.stream)}
	}
	var t Trailer
	if err := strictUnmarshal(line, &t); err != nil {
		return r.decodeError(err)
	}
	r.trailers = append(r.trailers, t)
	return nil
}

// Trailers returns the trailers read so far (event streams: one per complete bs-fire run).
func (r *Reader[T]) Trailers() []Trailer { return r.trailers }

func (r *Reader[T]) readHeader(line []byte) error {
	var h Header
	if err := json.Unmarshal(line, &h); err != nil {
		return r.decodeError(err)
	}
	if h.Format != FormatVersion {
		return &DecodeError{File: r.name, Line: r.line, Field: "format",
			Err: fmt.Errorf("format version %d, this program reads version %d", h.Format, FormatVersion)}
	}
	if h.Stream != r.stream {
		return &DecodeError{File: r.name, Line: r.line, Field: "stream",
			Err: fmt.Errorf("this is a %q stream (written by %s), expected %q", h.Stream, h.Tool, r.stream)}
	}
	r.headers = append(r.headers, h)
	if r.OnHeader != nil {
		return r.OnHeader(h, r.name)
	}
	return nil
}

func (r *Reader[T]) decodeError(err error) error {
	de := &DecodeError{File: r.name, Line: r.line, Err: err}
	var te *json.UnmarshalTypeError
	var fe *FieldError
	switch {
	case errors.As(err, &te):
		de.Field = te.Field
		de.Err = fmt.Errorf("cannot use JSON %s as %s", te.Value, te.Type)
	case errors.As(err, &fe):
		de.Field = fe.Field
	default:
		msg := err.Error()
		if i := strings.Index(msg, "unknown field "); i >= 0 {
			de.Field = strings.Trim(msg[i+len("unknown field "):], `"`)
			de.Err = errors.New("unknown field")
		}
	}
	return de
}

// Writer encodes records as JSON Lines. Output is buffered; call Flush to make everything written so far
// visible to the reader (bs-fire flushes whenever it has no more records waiting), and Flush before
// closing the underlying writer.
type Writer struct {
	dst io.Writer
	bw  *bufio.Writer
	enc *json.Encoder
	// scratch is the buffer events are encoded into.
	scratch []byte
}

// NewWriter returns a Writer on w. If w is a Flusher (as Create's writers are), Flush flushes it too.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &Writer{dst: w, bw: bw, enc: enc}
}

// Write encodes one record (a Header, Prompt, Event or Summary) on its own line. An *Event is encoded by
// appendEvent, without reflection, to the same bytes as encoding/json; everything else by encoding/json.
func (w *Writer) Write(v any) error {
	if e, ok := v.(*Event); ok && e != nil {
		b, ok := appendEvent(w.scratch[:0], e)
		if b = append(b, '\n'); cap(b) <= 64<<10 {
			w.scratch = b // reused for the next event; a rare huge one (--record-text) is not kept
		}
		if ok {
			_, err := w.bw.Write(b)
			return err
		}
	}
	return w.enc.Encode(v)
}

// WriteHeader writes h after filling in its Kind and Format.
func (w *Writer) WriteHeader(h Header) error {
	h.Kind, h.Format = KindHeader, FormatVersion
	return w.Write(&h)
}

// Buffered returns the number of bytes waiting in the buffer.
func (w *Writer) Buffered() int { return w.bw.Buffered() }

// Flush writes buffered records to the underlying writer, and flushes that too if it can.
func (w *Writer) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if f, ok := w.dst.(Flusher); ok {
		return f.Flush()
	}
	return nil
}
