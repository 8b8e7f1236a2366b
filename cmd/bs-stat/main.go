// Command bs-stat reads event streams (bs-fire output) and writes a summary stream: a header, then one
// summary record per group (one in all without --group-by) with the reference benchmark's metrics and
// the bs extras (docs/metrics.md). Shards from several bs-fire processes merge: each stream's times are
// offsets from its own header's start time, so they are aligned on the wall clock.
//
//	bs-fire … | bs-stat --slo ttft=200ms,tpot=50ms --assert 'p99(ttft)<500ms' | bs-report
//
// Exit status: 0 on success; 1 when an input cannot be read (the error names file, line and field) or
// an --assert bound is broken (one message per broken bound, after the summary is written); 2 on
// invalid flags, including an --assert naming an unknown metric.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	bscli "github.com/bsbench/bs/pkg/cli"

	"github.com/alecthomas/kong"

	"github.com/bsbench/bs/pkg/metrics"
	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/version"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

type cli struct {
	Files []string `arg:"" optional:"" name:"events" help:"Event streams (bs-fire output; plain, .zst or .gz); '-' or none reads standard input. Several files (shards) merge into one summary."`

	Output       string        `short:"o" default:"-" placeholder:"FILE" help:"Summary stream output ('-' = stdout; .zst/.gz compress)."`
	Tokenizer    string        `placeholder:"MODEL" help:"Tokenizer (Hugging Face model id, folder or tokenizer.json) to re-count the generated text (events need bs-fire --record-text)."`
	Compat       string        `enum:",sglang" default:"" help:"'sglang': count output tokens and ITL exactly as the reference would have for the run's backend (docs/metrics.md)."`
	Percentiles  []float64     `sep:"," placeholder:"P" help:"Extra percentiles of every distribution, e.g. 50,99.9 (p90, p95, p99 are always there)."`
	SLO          string        `name:"slo" placeholder:"M=DUR,…" help:"SLO bounds for goodput, e.g. ttft=200ms,tpot=50ms,e2e=2s,itl=100ms (also ttft_sched, e2e_sched). A request counts when it succeeded and met every bound."`
	GroupBy      string        `enum:",lora,group,session,backend,host,file" default:"" placeholder:"KEY" help:"One summary per value of lora, group, session, backend, host or file."`
	SkipFirst    time.Duration `placeholder:"DUR" help:"Drop requests sent in the first DUR after the first request (warm-up)."`
	SkipLast     time.Duration `placeholder:"DUR" help:"Drop requests sent in the last DUR before the last response ended (ramp-down)."`
	Window       string        `placeholder:"START,END" help:"Keep only requests sent between START and END after the first request, e.g. 30s,5m."`
	LagThreshold time.Duration `default:"10ms" placeholder:"DUR" help:"p99 schedule lag above which the client is judged the bottleneck (when the input has no bs-fire trailer)."`
	Assert       []string      `sep:"none" placeholder:"EXPR" help:"CI gate, repeatable: e.g. 'p99(ttft)<500ms', 'error_rate<1%', 'output_throughput>=1000'. Exit 1 when a bound is broken."`
	Details      bool          `help:"Keep per-request arrays in the summary (for bs-report --output-details)."`
	NoSeries     bool          `name:"no-series" help:"Leave out the chart data (time series, CDF points) used by bs-report --format html."`
	Quiet        bool          `short:"q" help:"Do not print the summary's notes on standard error."`

	Version kong.VersionFlag `help:"Print the version and exit."`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError marks an invalid flag value (exit 2).
type usageError struct{ error }

func run(args []string, stdout, stderr io.Writer) int {
	var c cli
	if code, ok := bscli.Parse("bs-stat", "Summarise event streams from bs-fire: the reference's metrics plus goodput, schedule lag, per-token ITL and more.",
		&c, args, stdout, stderr, nil); !ok {
		return code
	}
	code, err := stat(&c, args, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bs-stat:", err)
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		if code == exitOK {
			code = exitError
		}
	}
	return code
}

// parseWindow reads --window START,END.
func parseWindow(s string) (*[2]time.Duration, error) {
	if s == "" {
		return nil, nil
	}
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return nil, fmt.Errorf("--window %q: want START,END, e.g. 30s,5m", s)
	}
	start, err1 := time.ParseDuration(strings.TrimSpace(a))
	end, err2 := time.ParseDuration(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || start < 0 || end <= start {
		return nil, fmt.Errorf("--window %q: want START,END durations with 0 <= START < END", s)
	}
	return &[2]time.Duration{start, end}, nil
}

func stat(c *cli, args []string, stdout, stderr io.Writer) (int, error) {
	// Flags first, so that a typo fails before reading a large input.
	var asserts []metrics.Assertion
	pcts := slices.Clone(c.Percentiles)
	for _, text := range c.Assert {
		a, err := metrics.ParseAssertion(text)
		if err != nil {
			return exitUsage, usageError{err}
		}
		asserts = append(asserts, a)
		if p, ok := a.Percentile(); ok && p != 90 && p != 95 && p != 99 && !slices.Contains(pcts, p) {
			pcts = append(pcts, p)
		}
	}
	slo, err := metrics.ParseSLO(c.SLO)
	if err != nil {
		return exitUsage, usageError{err}
	}
	win, err := parseWindow(c.Window)
	if err != nil {
		return exitUsage, usageError{err}
	}
	if c.SkipFirst < 0 || c.SkipLast < 0 {
		return exitUsage, usageError{errors.New("--skip-first and --skip-last must not be negative")}
	}
	opts := metrics.Options{Compat: c.Compat, Percentiles: pcts, SLO: slo, GroupBy: c.GroupBy, SkipFirst: c.SkipFirst,
		SkipLast: c.SkipLast, Window: win, LagThreshold: c.LagThreshold, Details: c.Details, Series: !c.NoSeries}
	if c.Tokenizer != "" {
		tok, closeTok, err := loadTokenizer(c.Tokenizer)
		if err != nil {
			return exitError, fmt.Errorf("--tokenizer %s: %w", c.Tokenizer, err)
		}
		defer closeTok()
		opts.Tokenizer = tok
	}
	acc, err := metrics.New(opts)
	if err != nil {
		return exitUsage, usageError{err}
	}
	rd := metrics.NewEventReader(c.Files...)
	if err := acc.ReadAll(rd); err != nil {
		return exitError, err
	}
	sums := acc.Summaries()

	var out io.WriteCloser
	if c.Output == records.Stdio {
		out = nopCloser{stdout}
	} else if out, err = records.Create(c.Output); err != nil {
		return exitError, err
	}
	w := records.NewWriter(out)
	h := records.Header{Stream: records.StreamSummary, Tool: "bs-stat", Version: version.String(),
		Args: records.RedactArgs(args), Tokenizer: c.Tokenizer, Inputs: rd.Headers()}
	if err := w.WriteHeader(h); err != nil {
		out.Close()
		return exitError, err
	}
	for i := range sums {
		if err := w.Write(&sums[i]); err != nil {
			out.Close()
			return exitError, err
		}
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return exitError, err
	}
	if err := out.Close(); err != nil {
		return exitError, err
	}

	if !c.Quiet {
		for i := range sums {
			for _, n := range sums[i].Notes {
				fmt.Fprintf(stderr, "bs-stat: note%s: %s\n", groupSuffix(&sums[i]), n)
			}
		}
	}
	broken := 0
	for i := range sums {
		for _, a := range asserts {
			if err := a.Check(&sums[i]); err != nil {
				fmt.Fprintf(stderr, "bs-stat: assertion failed%s: %v\n", groupSuffix(&sums[i]), err)
				broken++
			}
		}
	}
	if broken > 0 {
		return exitError, fmt.Errorf("%d assertion(s) failed", broken)
	}
	return exitOK, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func groupSuffix(s *records.Summary) string {
	if s.Group == nil {
		return ""
	}
	return fmt.Sprintf(" [%s=%s]", s.Group.By, s.Group.Value)
}
