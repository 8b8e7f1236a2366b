package fire

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

// tally counts outcomes and collects schedule lags. It is used by the writer goroutine only.
type tally struct {
	sent, ok, failed, cancelled int
	lags                        []int64
	firstSent, lastSent         int64
	firstRounds                 int
	maxEnd                      int64
}

func (t *tally) add(d done) {
	ev := d.ev
	t.sent++
	switch {
	case ev.OK:
		t.ok++
	case ev.ErrorKind == records.ErrCancelled:
		t.cancelled++
	default:
		t.failed++
	}
	if d.lag && ev.ErrorKind != records.ErrCancelled {
		t.lags = append(t.lags, max(ev.SentNS-ev.ScheduledNS, 0))
	}
	if d.firstRnd {
		if t.firstRounds == 0 || ev.SentNS < t.firstSent {
			t.firstSent = ev.SentNS
		}
		t.lastSent = max(t.lastSent, ev.SentNS)
		t.firstRounds++
	}
	t.maxEnd = max(t.maxEnd, ev.EndNS)
}

func (t *tally) trailer(maxLag time.Duration) records.Trailer {
	tr := records.Trailer{Sent: t.sent, OK: t.ok, Failed: t.failed, Cancelled: t.cancelled, DurationNS: t.maxEnd}
	if t.firstRounds > 1 && t.lastSent > t.firstSent {
		tr.SendRate = float64(t.firstRounds-1) / (float64(t.lastSent-t.firstSent) / 1e9)
	}
	tr.Lag = LagSummary(t.lags, maxLag)
	return tr
}

// LagSummary computes the lag statistics of a set of schedule lags (nanoseconds); percentiles use
// linear interpolation between order statistics (numpy's default).
func LagSummary(lags []int64, limit time.Duration) records.LagStats {
	s := records.LagStats{Count: len(lags), LimitNS: int64(limit)}
	if len(lags) == 0 {
		return s
	}
	sorted := slices.Clone(lags)
	slices.Sort(sorted)
	s.P50NS = percentile(sorted, 50)
	s.P99NS = percentile(sorted, 99)
	s.MaxNS = sorted[len(sorted)-1]
	s.ClientBottleneck = limit > 0 && s.P99NS > int64(limit)
	return s
}

func percentile(sorted []int64, q float64) int64 {
	pos := float64(len(sorted)-1) * q / 100
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	f := pos - float64(lo)
	return int64(math.Round(float64(sorted[lo]) + (float64(sorted[hi])-float64(sorted[lo]))*f))
}

// Summary is the one-line account of a run printed on standard error.
func (res *Result) Summary() string {
	t := &res.Trailer
	var b strings.Builder
	fmt.Fprintf(&b, "bs-fire: sent %d, ok %d, failed %d, cancelled %d", t.Sent, t.OK, t.Failed, t.Cancelled)
	switch {
	case t.NotSent > 0:
		fmt.Fprintf(&b, ", not sent %d (no events)", t.NotSent)
	case t.Interrupted != "" && res.Planned == 0:
		b.WriteString(", remaining prompts not sent (no events)")
	}
	fmt.Fprintf(&b, "; duration %s", fmtDur(time.Duration(t.DurationNS)))
	if t.SendRate > 0 {
		fmt.Fprintf(&b, ", send rate %.2f req/s", t.SendRate)
	}
	if t.Lag.Count > 0 {
		label := "schedule lag"
		if res.Burst {
			label = "time to issue the burst"
		}
		fmt.Fprintf(&b, "; %s p50 %s p99 %s max %s", label, fmtDur(time.Duration(t.Lag.P50NS)),
			fmtDur(time.Duration(t.Lag.P99NS)), fmtDur(time.Duration(t.Lag.MaxNS)))
	}
	if t.Interrupted != "" {
		fmt.Fprintf(&b, "; stopped early (%s)", t.Interrupted)
	}
	return b.String()
}

// Warning returns the loud client-bottleneck warning, or "" when the client kept to the schedule.
func (res *Result) Warning() string {
	l := res.Trailer.Lag
	if !l.ClientBottleneck {
		return ""
	}
	return fmt.Sprintf("bs-fire: WARNING: the client was the bottleneck: p99 schedule lag %s exceeds --max-lag %s; "+
		"the server received less load than the schedule asked for (use more client CPU, fewer streams per process, or a lower rate)",
		fmtDur(time.Duration(l.P99NS)), fmtDur(time.Duration(l.LimitNS)))
}

// fmtDur prints a duration with about four significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1fµs", float64(d)/1e3)
	}
}
