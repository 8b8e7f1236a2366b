package metrics

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/records"
)

func TestAssertions(t *testing.T) {
	f := writeEvents(t, filepath.Join(t.TempDir(), "ev.jsonl"), handHeader(t0), handEvents(), nil)
	s := summaries(t, Options{Percentiles: []float64{99.9}, SLO: map[string]float64{"ttft": 0.12}}, f)[0]
	// Hand values: TTFT {50, 100, 200} ms, error rate 0.25, duration 0.699 s, 3 completed.
	for _, c := range []struct {
		expr string
		ok   bool
	}{
		{"max(ttft)<=200ms", true},
		{"max(ttft)<200ms", false},
		{"min(ttft) >= 0.05s", true},
		{"median(ttft)==100ms", true},
		{"p99.9(ttft) < 0.2s", true},
		{"p99(ttft)<150ms", false},
		{"mean(queue)<5000us", true},
		{"error_rate<0.3", true},
		{"error_rate<25%", false},
		{"error_rate<=25%", true},
		{"completed>=3", true},
		{"completed>3", false},
		{"request_throughput>4", true},
		{"duration<1s", true},
		{"errors.timeout==1", true},
		{"errors.connect==0", true},
		{"count(itl_chunk)==3", true},
		{"max(output_len)<=7", true},
		{"goodput>1", true},
		{"slo_attainment>=50%", true},
		{"slo_attainment>50%", false},
		{"schedule_lag_p99<10ms", true},
		{"client_bound==0", true},
		{"peak_in_flight<=2", true},
		{"peak_in_flight<2", false},
	} {
		a, err := ParseAssertion(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if err := a.Check(&s); (err == nil) != c.ok {
			t.Errorf("%s: check error %v, want ok=%v", c.expr, err, c.ok)
		}
	}
	// The failure message says what was measured.
	a, _ := ParseAssertion("p99(ttft)<150ms")
	if err := a.Check(&s); err == nil || !strings.Contains(err.Error(), "p99(ttft) = 198.000ms") {
		t.Errorf("message: %v", err)
	}
	// Missing values fail rather than pass vacuously.
	a, _ = ParseAssertion("accept_length>1")
	if err := a.Check(&s); !errors.Is(err, ErrNoValue) {
		t.Errorf("accept_length without a value: %v", err)
	}
	a, _ = ParseAssertion("cache_hit_rate>0")
	if err := a.Check(&s); !errors.Is(err, ErrNoValue) {
		t.Errorf("cache_hit_rate without a cache report: %v", err)
	}
	cached := records.Summary{Cache: &records.CacheReport{PromptTokens: 40, CachedTokens: 10, HitRate: 0.25}}
	for _, c := range []struct {
		expr string
		ok   bool
	}{{"cache_hit_rate>=25%", true}, {"cache_hit_rate>25%", false}, {"cache_hit_rate>=0.2", true}, {"total_cached_tokens==10", true}} {
		a, err := ParseAssertion(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if err := a.Check(&cached); (err == nil) != c.ok {
			t.Errorf("%s: check error %v, want ok=%v", c.expr, err, c.ok)
		}
	}
	a, _ = ParseAssertion("p50(ttft)<1s")
	if err := a.Check(&s); !errors.Is(err, ErrNoValue) || !strings.Contains(err.Error(), "--percentiles") {
		t.Errorf("p50 not computed: %v", err)
	}
	if p, ok := a.Percentile(); !ok || p != 50 {
		t.Errorf("Percentile() = %v %v", p, ok)
	}
}

func TestAssertionErrors(t *testing.T) {
	for _, c := range []struct {
		expr    string
		unknown bool
		msg     string
	}{
		{"p99(ttfb)<500ms", true, `unknown metric "ttfb"`},
		{"througput>1", true, `unknown metric "througput"`},
		{"errors.boom>1", true, `unknown metric "errors.boom"`},
		{"p99(ttft)<500", false, "give a time unit"},
		{"error_rate<1ms", false, "not a time"},
		{"p999(ttft)<1s", false, "not a statistic"},
		{"avg(ttft)<1s", false, "not a statistic"},
		{"ttft<1s", false, "is a distribution"},
		{"mean(completed)>1", false, "single value"},
		{"p99(ttft)", false, "no comparison"},
		{"p99(ttft)<fast", false, "not a number"},
		{"p99(ttft)<5 parsecs", false, "unknown unit"},
		{"completed>10%", false, "% applies only"},
	} {
		_, err := ParseAssertion(c.expr)
		var ue *UnknownMetricError
		if err == nil || errors.As(err, &ue) != c.unknown || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), c.expr) {
			t.Errorf("%s: error %v (unknown metric: %v)", c.expr, err, errors.As(err, &ue))
		}
	}
}

func TestParseSLO(t *testing.T) {
	m, err := ParseSLO("ttft=200ms, tpot=50ms,e2e=2s,itl=1500us")
	if err != nil || m["ttft"] != 0.2 || m["tpot"] != 0.05 || m["e2e"] != 2 || m["itl"] != 0.0015 {
		t.Errorf("%v %v", m, err)
	}
	for _, bad := range []string{"ttft", "ttfb=1s", "ttft=fast", "ttft=-1s"} {
		if _, err := ParseSLO(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
