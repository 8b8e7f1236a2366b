package fire

import "sync"

// slots is a counting semaphore that serves waiters strictly in arrival order (FIFO), so a request that
// arrived earlier is never overtaken by a later one while both wait for a concurrency slot.
type slots struct {
	mu      sync.Mutex
	free    int
	waiters []chan struct{}
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire takes a slot, waiting in line if none is free. It reports whether it got one (false when stop
// was closed first) and whether it had to wait.
func (s *slots) acquire(stop <-chan struct{}) (ok, waited bool) {
	s.mu.Lock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.free--
		s.mu.Unlock()
		return true, false
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return true, true
	case <-stop:
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, w := range s.waiters {
			if w == ch {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				return false, true
			}
		}
		// release handed us the slot just as stop closed: give it back.
		s.releaseLocked()
		return false, true
	}
}

// release returns a slot, handing it to the longest waiter if there is one.
func (s *slots) release() {
	s.mu.Lock()
	s.releaseLocked()
	s.mu.Unlock()
}

func (s *slots) releaseLocked() {
	if len(s.waiters) > 0 {
		ch := s.waiters[0]
		s.waiters = s.waiters[1:]
		close(ch)
		return
	}
	s.free++
}
