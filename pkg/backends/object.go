package backends

import (
	"fmt"
	"strconv"

	"github.com/bsbench/bs/pkg/internal/jsonscan"
)

// member is one key of an ordered JSON object. Its value is v[off:end] of the owning object's arena,
// already encoded and compact.
type member struct {
	key      string
	off, end int
	deleted  bool
}

// object is a JSON object whose key order is the order of first insertion, with Python dict
// semantics: setting an existing key replaces its value in place, deleting removes it.
type object struct {
	arena   []byte
	members []member
}

func (o *object) reset() {
	o.arena = o.arena[:0]
	o.members = o.members[:0]
}

func (o *object) find(key string) int {
	for i := range o.members {
		if !o.members[i].deleted && o.members[i].key == key {
			return i
		}
	}
	return -1
}

// has reports whether key is present.
func (o *object) has(key string) bool { return o.find(key) >= 0 }

// value returns the encoded value of key.
func (o *object) value(key string) ([]byte, bool) {
	if i := o.find(key); i >= 0 {
		return o.arena[o.members[i].off:o.members[i].end], true
	}
	return nil, false
}

// begin starts a value for key; append its encoding to o.arena, then call commit with the result.
func (o *object) begin() int { return len(o.arena) }

// commit stores arena[off:] as the value of key.
func (o *object) commit(key string, off int) {
	end := len(o.arena)
	if i := o.find(key); i >= 0 {
		o.members[i].off, o.members[i].end = off, end
		return
	}
	o.members = append(o.members, member{key: key, off: off, end: end})
}

// setRaw sets key to an already encoded, compact JSON value.
func (o *object) setRaw(key string, v []byte) {
	off := o.begin()
	o.arena = append(o.arena, v...)
	o.commit(key, off)
}

func (o *object) setString(key, s string) {
	off := o.begin()
	o.arena = jsonscan.AppendString(o.arena, s)
	o.commit(key, off)
}

func (o *object) setInt(key string, n int) {
	off := o.begin()
	o.arena = strconv.AppendInt(o.arena, int64(n), 10)
	o.commit(key, off)
}

func (o *object) setBool(key string, v bool) {
	if v {
		o.setRaw(key, []byte("true"))
	} else {
		o.setRaw(key, []byte("false"))
	}
}

func (o *object) setFloat(key string, f float64) error {
	off := o.begin()
	var err error
	if o.arena, err = appendPyFloat(o.arena, f); err != nil {
		o.arena = o.arena[:off]
		return fmt.Errorf("%s: %w", key, err)
	}
	o.commit(key, off)
	return nil
}

func (o *object) setStrings(key string, list []string) {
	off := o.begin()
	o.arena = append(o.arena, '[')
	for i, s := range list {
		if i > 0 {
			o.arena = append(o.arena, ',')
		}
		o.arena = jsonscan.AppendString(o.arena, s)
	}
	o.arena = append(o.arena, ']')
	o.commit(key, off)
}

func (o *object) setInts(key string, list []int) {
	off := o.begin()
	o.arena = append(o.arena, '[')
	for i, n := range list {
		if i > 0 {
			o.arena = append(o.arena, ',')
		}
		o.arena = strconv.AppendInt(o.arena, int64(n), 10)
	}
	o.arena = append(o.arena, ']')
	o.commit(key, off)
}

// setObject sets key to the encoding of another object.
func (o *object) setObject(key string, v *object) {
	off := o.begin()
	o.arena = v.appendTo(o.arena)
	o.commit(key, off)
}

// del removes key (a no-op when absent), like Python's del on a present key.
func (o *object) del(key string) {
	if i := o.find(key); i >= 0 {
		o.members[i].deleted = true
	}
}

// update sets every member of src in src's order (Python dict.update).
func (o *object) update(src *object) {
	for _, m := range src.members {
		if !m.deleted {
			o.setRaw(m.key, src.arena[m.off:m.end])
		}
	}
}

// size returns the length of the encoded object.
func (o *object) size() int {
	n := 2
	first := true
	for _, m := range o.members {
		if m.deleted {
			continue
		}
		if !first {
			n++
		}
		first = false
		n += jsonStringLen(m.key) + 1 + (m.end - m.off)
	}
	return n
}

// appendTo appends the compact encoding of the object.
func (o *object) appendTo(dst []byte) []byte {
	dst = append(dst, '{')
	first := true
	for _, m := range o.members {
		if m.deleted {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonscan.AppendString(dst, m.key)
		dst = append(dst, ':')
		dst = append(dst, o.arena[m.off:m.end]...)
	}
	return append(dst, '}')
}

// jsonStringLen is the length of jsonscan.AppendString(nil, s) for the keys we write; it is exact.
func jsonStringLen(s string) int {
	var tmp [128]byte
	if len(s) <= 60 {
		return len(jsonscan.AppendString(tmp[:0], s))
	}
	return len(jsonscan.AppendString(nil, s))
}

// parseObject reads a JSON object into o, keeping member order (duplicate keys: the last value wins
// at the first key's position, as Python's json.loads does). Values are stored compact.
func (o *object) parseObject(b []byte) error {
	it := newObjIter(b, 0, 0)
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		key, kok := unescapeString(k)
		if !kok {
			return fmt.Errorf("invalid key %q", k)
		}
		off := o.begin()
		o.arena = appendCompact(o.arena, v)
		o.commit(key, off)
	}
	if it.err != nil {
		return it.err
	}
	if skipWS(b, it.end()) != len(b) {
		return errTrailing
	}
	return nil
}
