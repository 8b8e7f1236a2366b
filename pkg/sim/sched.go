package sim

import (
	"container/list"
	"sync"
)

// slots is a counting semaphore whose waiters are served strictly first come, first served.
type slots struct {
	mu      sync.Mutex
	limit   int // 0: unlimited
	running int
	waiting list.List // of *waiter, oldest first
}

// waiter is a place in the queue.
type waiter struct {
	ready   chan struct{}
	elem    *list.Element
	granted bool // set under slots.mu when the slot is handed over
}

// join takes a free slot and returns nil, or else takes the last place in the queue and returns
// it; wait then waits for the slot.
func (s *slots) join() *waiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit == 0 || s.running < s.limit {
		s.running++
		return nil
	}
	w := &waiter{ready: make(chan struct{})}
	w.elem = s.waiting.PushBack(w)
	return w
}

// wait waits until the place w (from join) gets its slot, and reports whether it did. It returns
// false, without holding a slot, if cancel or quit is closed first. A nil w holds a slot already.
func (s *slots) wait(w *waiter, cancel, quit <-chan struct{}) bool {
	if w == nil {
		return true
	}
	select {
	case <-w.ready:
		return true
	case <-cancel:
	case <-quit:
	}
	s.leave(w)
	return false
}

// leave gives up the place w (from join): its slot if it has one, else its place in the queue.
func (s *slots) leave(w *waiter) {
	s.mu.Lock()
	if w == nil || w.granted {
		// The slot is ours (perhaps handed over while we were giving up): pass it on.
		s.mu.Unlock()
		s.release()
		return
	}
	s.waiting.Remove(w.elem)
	s.mu.Unlock()
}

// release frees a slot, handing it directly to the oldest waiter if there is one.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.waiting.Front(); e != nil {
		w := s.waiting.Remove(e).(*waiter)
		w.granted = true
		close(w.ready)
		return
	}
	s.running--
}

// load returns the number of running and waiting requests.
func (s *slots) load() (running, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running, s.waiting.Len()
}
