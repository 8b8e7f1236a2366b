package fire

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

// WarmupPrompt returns the warm-up request built from the run's first prompt, as the reference: the same
// prompt and images with output_len min(output_len, 32), the given LoRA adapter (the first --lora-name)
// when the prompt has none, no per-prompt extra body (warm-ups use only the global one) and no routing
// key (the reference's warm-up input carries none, so it sends no X-SMG-Routing-Key header).
func WarmupPrompt(first records.Prompt, lora string) records.Prompt {
	p := first
	p.OutputLen = min(p.OutputLen, 32)
	p.ExtraBody = nil
	p.RoutingKey = ""
	if p.Lora == "" {
		p.Lora = lora
	}
	return p
}

// Warmup sends n copies of p concurrently, at most maxConc at a time (0 = no cap), each with the given
// deadline, and records nothing. A multi-turn prompt replays its whole conversation. It fails only when
// every copy failed, with the first error, as the reference does.
func Warmup(ctx context.Context, b Backend, c *http.Client, p records.Prompt, n, maxConc int, timeout time.Duration, prefix string) error {
	if n <= 0 {
		return nil
	}
	var sem *slots
	if maxConc > 0 {
		sem = newSlots(maxConc)
	}
	var (
		mu       sync.Mutex
		ok       bool
		firstErr string
		wg       sync.WaitGroup
	)
	zero := time.Now()
	for i := range n {
		if sem != nil {
			if got, _ := sem.acquire(ctx.Done()); !got {
				break
			}
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if sem != nil {
				defer sem.release()
			}
			good, msg := warmupOne(ctx, b, c, &p, timeout, zero, requestID(prefix, 0, uint64(i), 0x8001))
			mu.Lock()
			defer mu.Unlock()
			if good {
				ok = true
			} else if firstErr == "" {
				firstErr = msg
			}
		}(i)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("warm-up failed - make sure the benchmark arguments are correct. Error: %s", firstErr)
	}
	return nil
}

func warmupOne(ctx context.Context, b Backend, c *http.Client, p *records.Prompt, timeout time.Duration, zero time.Time, id string) (bool, string) {
	one := func(msgs []records.Message, rid string) (*records.Event, string) {
		rctx := ctx
		if timeout > 0 {
			var cancel context.CancelFunc
			rctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		ev := &records.Event{ID: p.ID, RequestID: rid, ScheduledNS: int64(time.Since(zero))}
		text := b.Send(rctx, c, p, msgs, ev, zero)
		return ev, text
	}
	describe := func(ev *records.Event) string {
		msg := ev.Error
		if msg == "" {
			msg = ev.ErrorKind
		}
		if ev.Status != 0 {
			msg = fmt.Sprintf("HTTP %d: %s", ev.Status, msg)
		}
		return msg
	}
	if len(p.Turns) == 0 {
		ev, _ := one(nil, id)
		return ev.OK, describe(ev)
	}
	var history []records.Message
	for t, turn := range p.Turns {
		history = append(history, turn...)
		ev, text := one(slices.Clone(history), fmt.Sprintf("%s.%d", id, t+1))
		if !ev.OK {
			return false, describe(ev)
		}
		history = append(history, records.TextMessage("assistant", text))
	}
	return true, ""
}
