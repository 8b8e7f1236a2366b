//go:build !unix

package fire

import "syscall"

// probe cannot look at an idle connection without blocking here; the connection is assumed usable.
func probe(syscall.RawConn) bool { return true }

// rawReads is false here: body reads go through net.Conn.Read.
const rawReads = false

func rawRead(syscall.RawConn, int) (*[]byte, int, error) { panic("unreachable") }

// streamRaw is not used here: rawBody.rc is never set.
func (b *rawBody) streamRaw(func([]byte) bool) bool { panic("unreachable") }
