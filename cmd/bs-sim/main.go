// Command bs-sim is a simulated LLM inference server for demos and tests: it speaks the SGLang
// native, OpenAI completions/chat, TensorRT-LLM Triton and truss protocols with configurable
// latencies, queueing and faults. See package github.com/bsbench/bs/pkg/sim.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	bscli "github.com/bsbench/bs/pkg/cli"

	"github.com/alecthomas/kong"

	"github.com/bsbench/bs/pkg/sim"
)

type cli struct {
	Host     string `default:"127.0.0.1" help:"Address to listen on."`
	Port     int    `default:"0" help:"Port to listen on; 0 picks a free port. The first line on stdout is always 'listening on http://HOST:PORT'."`
	AddrFile string `placeholder:"FILE" help:"Also write the base URL (http://HOST:PORT) to FILE, atomically, once listening."`

	Model         string `default:"bs-sim" help:"Served model name (/v1/models, /model_info, OpenAI responses)."`
	TokenizerPath string `placeholder:"PATH" help:"tokenizer_path reported by /model_info (default: --model)."`
	MaxModelLen   int    `default:"32768" help:"max_model_len reported by /v1/models."`

	TTFT            time.Duration `name:"ttft" default:"20ms" help:"Base time from admission to the first token."`
	PrefillPerToken time.Duration `default:"0s" help:"Extra time to first token per prompt token."`
	ITL             time.Duration `name:"itl" default:"5ms" help:"Time between consecutive tokens."`
	Jitter          sim.Jitter    `default:"0" help:"Random perturbation of TTFT and each ITL gap: a fraction (0.1), a percentage (10%) or a duration (2ms). Deterministic with --seed."`
	Spin            time.Duration `default:"0s" help:"Busy-wait (yielding) the last D before each emission instead of sleeping, for sub-millisecond accuracy; costs CPU, for few streams."`
	Seed            uint64        `default:"0" help:"Seed for words, jitter, faults and generated request ids."`

	TokensPerChunk   int     `default:"1" help:"Tokens carried by each streamed event."`
	MaxConcurrency   int     `default:"0" help:"Running slots; further requests queue FIFO and the wait adds to their TTFT. 0 = unlimited."`
	DefaultOutputLen int     `default:"128" help:"Tokens generated when the request sets no maximum."`
	EOSAfter         int     `name:"eos-after" default:"0" help:"Simulate EOS: requests that do not ignore EOS stop after max(K, min_tokens) tokens. 0 = never."`
	CharsPerToken    float64 `default:"0" help:"Estimate text prompt tokens as characters/N; 0 = count whitespace-separated words."`

	APIKey string `name:"api-key" env:"BS_SIM_API_KEY" help:"Require 'Authorization: Bearer KEY' (except /health*, /metrics). Never logged."`

	TruthLog     string `placeholder:"FILE" help:"Write one JSON line per generation request (what was sent, and when) to FILE."`
	RecordBodies string `placeholder:"FILE" help:"Write one JSON line per HTTP request received (headers with credentials redacted, raw body) to FILE."`

	FailRate         float64 `default:"0" help:"Fraction of generation requests answered at once with HTTP --fail-status."`
	FailStatus       int     `default:"500" help:"HTTP status of --fail-rate failures."`
	StreamErrorAfter int     `default:"-1" help:"Send an in-band error event after N content events, then end the stream. -1 = off."`
	StreamErrorRate  float64 `default:"1" help:"Fraction of streamed requests that get the --stream-error-after fault."`
	DropAfter        int     `default:"-1" help:"Close the connection after N content events, mid-response. -1 = off."`
	DropRate         float64 `default:"1" help:"Fraction of streamed requests that get the --drop-after fault."`

	SpecAcceptLength  float64       `default:"0" help:"Simulated speculative-decoding accept length, reported by /server_info and native meta_info. 0 = off."`
	TrtAccumulate     bool          `help:"Triton generate_stream sends the accumulated text in each event (tensorrt_llm_bls accumulate_tokens) instead of the new text."`
	PrefixCache       bool          `help:"Simulate a prefix cache: a prompt sharing leading 64-byte blocks with earlier prompts has those tokens cached (prefill skips them; cached_tokens, usage.prompt_tokens_details and, with return_cached_tokens_details, sglext report them). POST /flush_cache clears it."`
	PrefixCacheBlocks int           `default:"1048576" help:"With --prefix-cache: capacity in 64-byte blocks; a full cache is cleared."`
	MaxBodyBytes      int64         `default:"67108864" help:"Largest request body accepted; larger ones get 413."`
	ShutdownTimeout   time.Duration `default:"10s" help:"On SIGINT/SIGTERM, how long in-flight requests may finish before they are cut."`

	Mimic        string        `enum:",llamacpp" default:"" help:"Imitate another server's OpenAI API: 'llamacpp' = llama.cpp's Python server (llama-cpp-python): no usage in streams, role-only first chat chunk, empty final chunk, ': ping' comments, UUID-only X-Request-Id, one request at a time unless --max-concurrency, completions default to 16 tokens, chat and max_tokens 0 run to --max-model-len (package sim, llamacpp.go)."`
	PingInterval time.Duration `default:"15s" help:"With --mimic llamacpp: period of the ': ping - <time>' comment lines on event streams."`

	CPUProfile string `name:"cpu-profile" placeholder:"FILE" hidden:"" help:"Write a Go CPU profile to FILE from start until shutdown (SIGINT/SIGTERM) (diagnostics)."`

	Version kong.VersionFlag `help:"Print the version and exit."`
}

func main() {
	var c cli
	if code, ok := bscli.Parse("bs-sim", "Simulated LLM inference server (SGLang native, OpenAI, Triton, truss) for demos and tests.",
		&c, os.Args[1:], os.Stdout, os.Stderr, nil); !ok {
		os.Exit(code)
	}
	if err := run(&c); err != nil {
		fmt.Fprintln(os.Stderr, "bs-sim:", err)
		os.Exit(1)
	}
}

func run(c *cli) error {
	cfg := sim.Config{
		Model: c.Model, TokenizerPath: c.TokenizerPath, MaxModelLen: c.MaxModelLen,
		TTFT: c.TTFT, PrefillPerToken: c.PrefillPerToken, ITL: c.ITL, Spin: c.Spin, Jitter: c.Jitter, Seed: c.Seed,
		TokensPerChunk: c.TokensPerChunk, MaxConcurrency: c.MaxConcurrency, DefaultOutputLen: c.DefaultOutputLen,
		EOSAfter: c.EOSAfter, CharsPerToken: c.CharsPerToken, APIKey: c.APIKey,
		FailRate: c.FailRate, FailStatus: c.FailStatus,
		StreamErrorAfter: c.StreamErrorAfter, StreamErrorRate: c.StreamErrorRate,
		DropAfter: c.DropAfter, DropRate: c.DropRate,
		SpecAcceptLength: c.SpecAcceptLength, TritonAccumulate: c.TrtAccumulate, MaxBodyBytes: c.MaxBodyBytes,
		Mimic: c.Mimic, PingInterval: c.PingInterval,
		PrefixCache: c.PrefixCache, PrefixCacheBlocks: c.PrefixCacheBlocks,
	}
	if c.Mimic != "" && c.PingInterval <= 0 {
		return fmt.Errorf("--ping-interval: must be positive, got %v", c.PingInterval)
	}
	if c.StreamErrorAfter < 0 {
		cfg.StreamErrorAfter, cfg.StreamErrorRate = 0, 0
	}
	if c.DropAfter < 0 {
		cfg.DropAfter, cfg.DropRate = 0, 0
	}
	// sim.Config reads zero as "use the default"; on the command line zero is an error instead.
	for _, f := range []struct {
		name string
		v    int64
	}{{"--default-output-len", int64(c.DefaultOutputLen)}, {"--tokens-per-chunk", int64(c.TokensPerChunk)},
		{"--max-model-len", int64(c.MaxModelLen)}, {"--prefix-cache-blocks", int64(c.PrefixCacheBlocks)}, {"--max-body-bytes", c.MaxBodyBytes}, {"--fail-status", int64(c.FailStatus)}} {
		if f.v == 0 {
			return fmt.Errorf("%s: must not be 0", f.name)
		}
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	openLog := func(flag, name string) (io.Writer, error) {
		if name == "" {
			return nil, nil
		}
		f, err := os.Create(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		files = append(files, f)
		return f, nil
	}
	var err error
	if cfg.TruthLog, err = openLog("--truth-log", c.TruthLog); err != nil {
		return err
	}
	if cfg.RecordBodies, err = openLog("--record-bodies", c.RecordBodies); err != nil {
		return err
	}
	srv, err := sim.New(cfg)
	if err != nil {
		return err
	}
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}

	l, err := net.Listen("tcp", net.JoinHostPort(c.Host, strconv.Itoa(c.Port)))
	if err != nil {
		return fmt.Errorf("--host/--port: %w", err)
	}
	base := "http://" + l.Addr().String()
	if _, err := fmt.Fprintln(os.Stdout, "listening on", base); err != nil {
		return fmt.Errorf("writing the address to stdout: %w", err)
	}
	if c.AddrFile != "" {
		if err := writeFileAtomic(c.AddrFile, base+"\n"); err != nil {
			return fmt.Errorf("--addr-file: %w", err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		_ = srv.Close()
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	stop() // a second signal kills the process at once
	fmt.Fprintln(os.Stderr, "bs-sim: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintln(os.Stderr, "bs-sim: requests still running after --shutdown-timeout were cut")
		err = srv.Close() // already closed by Shutdown: returns only the log write error, if any
	}
	if e := <-served; e != nil && !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	for _, f := range files {
		if e := f.Close(); e != nil {
			err = errors.Join(err, e)
		}
	}
	files = nil
	return err
}

// writeFileAtomic writes data to name through a temporary file in the same folder and a rename, so
// a reader never sees a partial file.
func writeFileAtomic(name, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}
