package fire

import "time"

// fineWindow is the last part of a wait that is slept with a fine-grained sleep instead of a Go timer.
// An idle Go process wakes its timers through epoll_wait, whose timeout is in whole milliseconds, so a
// timer alone is up to ~1 ms late; the kernel's nanosleep is accurate to about 0.1 ms.
const fineWindow = 2 * time.Millisecond

// sleepUntil waits until deadline, returning false early if stop is closed (during the coarse part).
func sleepUntil(t *time.Timer, deadline time.Time, stop <-chan struct{}) bool {
	d := time.Until(deadline)
	if d <= 0 {
		return true
	}
	if d > fineWindow || !hasFineSleep {
		coarse := d
		if hasFineSleep {
			coarse = d - fineWindow
		}
		t.Reset(coarse)
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
			return false
		}
	}
	if d = time.Until(deadline); d > 0 && hasFineSleep {
		fineSleep(d)
	}
	return true
}
