package fire

import "sync"

// eventQueue carries finished requests to the writer goroutine without ever blocking the sender: a
// request goroutine must not wait for a slow reader of the output (it may hold a concurrency slot, and
// the next round of its conversation is due). Memory grows only while the output is stalled.
type eventQueue struct {
	mu     sync.Mutex
	items  []done
	closed bool
	ready  chan struct{} // has a value when items is non-empty or the queue is closed
}

func newEventQueue() *eventQueue { return &eventQueue{ready: make(chan struct{}, 1)} }

// put adds an item; it never blocks.
func (q *eventQueue) put(d done) {
	q.mu.Lock()
	q.items = append(q.items, d)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// close marks the end of the items; take returns what is left, then nil and false.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take waits for items and returns all of them (reusing buf), or false once the queue is closed and
// empty.
func (q *eventQueue) take(buf []done) ([]done, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			out := append(buf[:0], q.items...)
			clear(q.items)
			q.items = q.items[:0]
			q.mu.Unlock()
			return out, true
		}
		if q.closed {
			q.mu.Unlock()
			return nil, false
		}
		q.mu.Unlock()
		<-q.ready
	}
}

// empty reports whether no item is waiting.
func (q *eventQueue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) == 0
}
