//go:build linux

package fire

import (
	"syscall"
	"time"
)

const hasFineSleep = true

// fineSleep blocks the calling thread in nanosleep(2) (the Go scheduler hands its P to another thread
// meanwhile).
func fineSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
