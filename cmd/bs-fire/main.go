// Command bs-fire sends prompt records (from bs-gen) to an LLM server on an arrival schedule and writes
// one event record per request, as each ends: bs-gen … | bs-fire … | bs-stat … See package
// github.com/bsbench/bs/pkg/fire for the timing model and docs/records.md for the formats.
//
// Exit status: 0 when the run completed (even if requests failed: failures are data), 1 on an error
// (unreachable server, failed warm-up, unreadable input), 2 on invalid flags or prompts the backend
// cannot send, 130 when interrupted (SIGINT/SIGTERM), 141 when the output pipe was closed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bscli "github.com/bsbench/bs/pkg/cli"

	"github.com/alecthomas/kong"
	"golang.org/x/term"

	"github.com/bsbench/bs/pkg/backends"
	"github.com/bsbench/bs/pkg/fire"
	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/schedule"
	"github.com/bsbench/bs/pkg/version"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130
	exitPipe        = 141
)

type cli struct {
	Files []string `arg:"" optional:"" name:"prompts" help:"Prompt record files (bs-gen output; plain, .zst or .gz); '-' or none reads standard input."`

	// Target.
	Backend         string   `default:"sglang" help:"Server API: ${backends}."`
	BaseURL         string   `name:"base-url" placeholder:"URL" help:"Server base URL, used as given (default http://HOST:PORT)."`
	Host            string   `default:"127.0.0.1" help:"Server host when --base-url is not given. (The reference's 0.0.0.0 is a listening address, not a target.)"`
	Port            int      `help:"Server port (default per backend: 30000 sglang*, 8000 vllm and trt, 23333 lmdeploy, 8080 truss)."`
	Model           string   `help:"Model name; detected from GET /v1/models (data[0].id) when absent (trt and truss need it)."`
	ServedModelName string   `placeholder:"NAME" help:"Value of the request's model field (default --model)."`
	Header          []string `sep:"none" placeholder:"KEY=VALUE" help:"Extra HTTP header for generation requests (repeatable); split at the first '='; pairs with an empty key or value are dropped."`
	APIKey          string   `name:"api-key" placeholder:"KEY" help:"Sent as 'Authorization: Bearer KEY'. Default: $$OPENAI_API_KEY (Bearer), else $$API_KEY (sent as is). Never recorded."`

	// Traffic.
	RequestRate        float64       `default:"inf" help:"Target arrival rate, requests/s; inf sends everything at once (with --max-concurrency: a closed loop)."`
	MaxConcurrency     int           `help:"Cap on requests in flight; arrivals beyond it wait in FIFO order and the wait is recorded (sent_ns − scheduled_ns)."`
	Burstiness         float64       `default:"1" help:"Gamma shape of the gaps (vLLM's): 1 = Poisson, <1 burstier, >1 more regular, inf = constant rate."`
	RampUpStartRate    float64       `placeholder:"RATE" help:"Ramp the rate linearly from this to --request-rate (by request index over the run, as vLLM, or over --ramp-up-duration)."`
	RampUpDuration     time.Duration `placeholder:"DUR" help:"Length of the ramp in time (e.g. 30s); 0 ramps over the whole run."`
	UseTraceTimestamps bool          `help:"Send each prompt at its timestamp_ms: (ts − ts0)/1000 × --slowdown-factor seconds after the start."`
	SlowdownFactor     float64       `default:"1" aliases:"mooncake-slowdown-factor" help:"Multiply trace gaps (2 = half speed)."`
	NumPrompts         int           `placeholder:"N" help:"Send only the first N prompts (default all)."`
	Seed               int64         `default:"42" help:"Seed of the arrival gaps and LoRA choices."`
	WarmupRequests     int           `default:"1" help:"Warm-up requests (first prompt, output ≤ 32 tokens) sent before the run and not recorded."`
	FlushCache         bool          `help:"Flush the server's prefix cache after the warm-up."`
	FlushCacheTimeout  float64       `default:"60" help:"timeout parameter of sglang's /flush_cache, seconds."`
	Compat             string        `enum:",sglang" default:"" help:"'sglang': send exactly what the reference sends, draw Poisson gaps from NumPy's generator, pause 1 s before the run."`

	// Request body.
	DisableStream       bool     `help:"Non-streaming requests."`
	DisableIgnoreEOS    bool     `name:"disable-ignore-eos" help:"Send ignore_eos false (the default asks for exactly output_len tokens)."`
	ExtraRequestBody    string   `placeholder:"JSON" help:"JSON object merged into every request body (prompt extra_body keys win)."`
	Temperature         float64  `default:"0" help:"Sampling temperature (native backend; use --extra-request-body for OpenAI ones)."`
	TopP                float64  `default:"1" help:"top_p (native backend, sent when < 1)."`
	ReturnLogprob       bool     `help:"Ask for logprobs (native; completions with --top-logprobs-num)."`
	TopLogprobsNum      int      `help:"Number of top logprobs."`
	TokenIDsLogprob     []int    `name:"token-ids-logprob" sep:"," placeholder:"ID" help:"Token ids whose logprobs to return (native)."`
	LogprobStartLen     int      `default:"-1" help:"logprob_start_len (native)."`
	ReturnRoutedExperts bool     `help:"return_routed_experts (native)."`
	LoraName            []string `sep:"," placeholder:"NAME" help:"LoRA adapters, assigned to prompts that name none."`
	LoraDistribution    string   `name:"lora-request-distribution" enum:"uniform,distinct,skewed" default:"uniform" help:"How adapters are assigned: uniform (random), distinct (round-robin), skewed (Zipf)."`
	LoraZipfAlpha       float64  `default:"1.5" help:"Zipf exponent for skewed (> 1)."`
	FakePrefill         bool     `help:"Add bootstrap_host \"2.2.2.2\" and bootstrap_room 0 to the body (decode-only PD benchmarking)."`
	RecordText          bool     `help:"Record the generated text and each chunk's text in the events."`
	CacheReport         bool     `help:"Ask SGLang for the prefix-cache hit by tier (sglang-oai/sglang-oai-chat: return_cached_tokens_details); reports add the cache-hit section."`
	TokenizePrompt      bool     `hidden:"" help:"A bs-gen flag."`

	// Profiler.
	Profile           bool     `help:"POST /start_profile before the run and /stop_profile after."`
	ProfileActivities []string `sep:"," default:"CPU,GPU" enum:"CPU,GPU,CUDA_PROFILER,XPU,MEM" help:"Profiler activities."`
	ProfileStartStep  *int     `placeholder:"N" help:"start_step (sent as a string)."`
	ProfileSteps      *int     `placeholder:"N" help:"num_steps sent as a string; the server stops by itself."`
	ProfileNumSteps   *int     `placeholder:"N" help:"num_steps; the server stops by itself."`
	ProfileByStage    bool     `help:"Profile by stage (num_steps 5 unless given)."`
	ProfileStages     []string `sep:"," help:"Stages to profile."`
	ProfileOutputDir  string   `placeholder:"DIR" help:"Profile directory (default $$SGLANG_TORCH_PROFILER_DIR or /tmp); a time-named sub-folder is created here and its path sent."`
	ProfilePrefix     *string  `placeholder:"PREFIX" help:"profile_prefix."`
	PDSeparated       bool     `name:"pd-separated" help:"With --profile, profile the PD worker URLs instead of the router."`
	ProfilePrefillURL []string `name:"profile-prefill-url" sep:"," placeholder:"URL" help:"Prefill worker base URLs to profile."`
	ProfileDecodeURL  []string `name:"profile-decode-url" sep:"," placeholder:"URL" help:"Decode worker base URLs to profile."`

	// Run control and output.
	ReadyCheckTimeoutSec int           `default:"60" help:"Wait up to this many seconds for the server to answer 200 (GET /v1/models); 0 skips."`
	Timeout              time.Duration `default:"6h" help:"Deadline of each request."`
	Grace                time.Duration `default:"10s" help:"After the first SIGINT/SIGTERM, how long requests in flight may finish before they are cancelled."`
	MaxLag               time.Duration `default:"10ms" help:"p99 schedule lag above which the run warns that the client was the bottleneck."`
	Tag                  string        `help:"Free label copied into the header."`
	DisableTqdm          bool          `aliases:"quiet" short:"q" help:"No progress display."`
	Output               string        `short:"o" default:"-" placeholder:"FILE" help:"Event stream output ('-' = stdout; .zst/.gz compress)."`

	CPUProfile string `name:"cpu-profile" hidden:"" help:"Write a Go CPU profile of the run to FILE (diagnostics)."`

	Version kong.VersionFlag `help:"Print the version and exit."`
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var c cli
	if code, ok := bscli.Parse("bs-fire", "Send prompt records to an LLM server on an arrival schedule; write one event record per request.",
		&c, args, os.Stdout, os.Stderr, kong.Vars{"backends": strings.Join(backends.Names(), ", ")}); !ok {
		return code
	}
	// SIGPIPE: with Notify, a write to a closed stdout returns EPIPE instead of killing the process
	// (os/signal: "If the program is calling signal.Notify to receive SIGPIPE signals, the file
	// descriptor number does not matter"), so the run can stop cleanly.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	interrupts := make(chan struct{}, 4)
	go func() {
		for range sigs {
			select {
			case interrupts <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		for range pipe {
		}
	}()

	code, err := fireRun(&c, args, interrupts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bs-fire:", err)
		if code == exitOK {
			code = exitError
		}
	}
	return code
}

// fireRun does the work; it returns the exit code and the error to print.
func fireRun(c *cli, args []string, interrupts chan struct{}) (int, error) {
	if c.TokenizePrompt {
		return exitUsage, errors.New("--tokenize-prompt is a bs-gen flag: bs-fire sends token ids whenever a prompt record has them")
	}
	fileLimit, err := fire.RaiseFileLimit()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bs-fire: could not raise the open-file limit:", err)
	}
	auth := authorization(c.APIKey)
	headers := parseHeaders(c.Header)

	// Flags that need no network.
	if err := checkFlags(c); err != nil {
		return exitUsage, err
	}
	if fire.BackendKind(c.Backend) == "" {
		// backends.New gives the precise message (unknown, or known but unsupported).
		_, err := backends.New(c.Backend, backends.Options{BaseURL: "http://127.0.0.1"})
		if err == nil {
			err = fmt.Errorf("backend %q is not supported by bs-fire", c.Backend)
		}
		return exitUsage, err
	}
	extra, err := extraBody(c)
	if err != nil {
		return exitUsage, err
	}
	base := c.BaseURL
	if base == "" {
		port := c.Port
		if port == 0 {
			port = backends.DefaultPort(c.Backend)
		}
		base = "http://" + net.JoinHostPort(c.Host, strconv.Itoa(port))
	}
	if (c.Backend == "trt" || c.Backend == "truss") && c.Model == "" {
		return exitUsage, fmt.Errorf("--backend %s needs --model", c.Backend)
	}
	spec := schedule.Spec{Rate: c.RequestRate, Burstiness: c.Burstiness, RampUpStartRate: c.RampUpStartRate,
		RampUpDuration: c.RampUpDuration, Slowdown: c.SlowdownFactor, Seed: c.Seed, Compat: c.Compat}
	if err := spec.Validate(); err != nil {
		return exitUsage, err
	}
	loraRng := rand.New(rand.NewPCG(uint64(c.Seed), 0x6c6f7261)) // "lora"
	lora, err := fire.NewLoraPicker(c.LoraName, c.LoraDistribution, c.LoraZipfAlpha, loraRng)
	if err != nil {
		return exitUsage, err
	}
	if len(c.LoraName) > 0 && (c.Backend == "trt" || c.Backend == "truss") {
		return exitUsage, fmt.Errorf("--lora-name: backend %s cannot use LoRA adapters", c.Backend)
	}

	// Everything before the run is interruptible: an interrupt ends bs-fire with 130 before any load
	// (at once while prompts are being read, since a read from a pipe cannot be cancelled).
	preCtx, preCancel := context.WithCancel(context.Background())
	defer preCancel()
	preDone := make(chan struct{})
	var preWG sync.WaitGroup
	var preInterrupted bool
	var reading atomic.Bool
	reading.Store(true)
	preWG.Add(1)
	go func() {
		defer preWG.Done()
		select {
		case <-interrupts:
			if reading.Load() {
				fmt.Fprintln(os.Stderr, "bs-fire: interrupted while reading prompts")
				os.Exit(exitInterrupted)
			}
			preInterrupted = true
			preCancel()
		case <-preDone:
		}
	}()
	endPre := func() bool {
		close(preDone)
		preWG.Wait()
		return preInterrupted
	}

	// Prompts. A finite-rate or trace schedule is computed for all n prompts before the run, so they are
	// read first (a prompt record is small: memory ≈ the prompt file). At rate inf they are streamed.
	reader := records.NewReader[records.Prompt](records.StreamPrompts, c.Files...)
	defer reader.Close()
	loader := &fire.Loader{Reader: reader, Backend: c.Backend, Limit: c.NumPrompts, NeedTimestamp: c.UseTraceTimestamps}
	finite := !math.IsInf(c.RequestRate, 1) || c.UseTraceTimestamps
	var (
		prompts []records.Prompt
		first   *records.Prompt
		src     fire.Source
		n       int // prompts known in advance, 0 = unknown
		rounds  int // requests known in advance, 0 = unknown
		times   []time.Duration
		warmSrc records.Prompt // the first prompt as read
	)
	if finite {
		prompts, err = loader.All()
		if err != nil {
			return promptErrCode(err), err
		}
		if c.UseTraceTimestamps {
			spec.TraceMS = fire.SortByTimestamp(prompts)
		}
		if len(prompts) > 0 {
			warmSrc = prompts[0] // before LoRA assignment: the warm-up uses the first --lora-name
		}
		for i := range prompts {
			lora.Assign(&prompts[i])
		}
		n, rounds = len(prompts), fire.Rounds(prompts)
		times = schedule.Times(n, spec)
		src = &fire.SliceSource{Prompts: prompts}
		if n > 0 {
			first = &prompts[0]
		}
	} else {
		var p records.Prompt
		switch err := loader.Next(&p); {
		case errors.Is(err, io.EOF):
		case err != nil:
			return promptErrCode(err), err
		default:
			warmSrc = p
			lora.Assign(&p)
			first = &p
		}
		src = &fire.PeekSource{First: first, Src: loader, Each: lora.Assign}
	}
	if first == nil {
		return exitError, errors.New("no prompts to send (the input is empty)")
	}
	reading.Store(false)
	if c.NumPrompts > 0 && finite && n < c.NumPrompts {
		fmt.Fprintf(os.Stderr, "bs-fire: --num-prompts %d, but the input holds only %d prompts; sending %d\n", c.NumPrompts, n, n)
	}

	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "bs-fire: "+format+"\n", a...) }
	conns := c.MaxConcurrency
	if conns <= 0 {
		conns = max(rounds, 1024)
	}
	if want := preconnectCount(c.MaxConcurrency, rounds); fileLimit > 0 && uint64(want)+64 > fileLimit {
		logf("warning: up to %d requests may be in flight but the open-file limit is %d: the excess will fail to connect (raise `ulimit -n` or use --max-concurrency)", want, fileLimit)
	}
	client := fire.NewClient(conns)
	srv := &fire.Server{Client: client, BaseURL: base, Authorization: auth}

	readyTimeout := time.Duration(c.ReadyCheckTimeoutSec) * time.Second
	if err := srv.WaitReady(preCtx, fire.ReadyURL(c.Backend, base), readyTimeout); err != nil {
		if endPre() {
			return exitInterrupted, errors.New("interrupted before the run")
		}
		return exitError, err
	}
	model := c.Model
	if model == "" {
		model, err = srv.DetectModel(preCtx)
		if err != nil {
			if endPre() {
				return exitInterrupted, errors.New("interrupted before the run")
			}
			return exitError, err
		}
		logf("model %s (from /v1/models)", model)
	}
	sent := model
	if c.ServedModelName != "" {
		sent = c.ServedModelName
	}
	be, err := backends.New(c.Backend, backends.Options{
		BaseURL: base, Model: sent, Stream: !c.DisableStream, IgnoreEOS: !c.DisableIgnoreEOS,
		ExtraBody: extra, Header: headers, Authorization: auth,
		Temperature: c.Temperature, TopP: c.TopP, ReturnLogprob: c.ReturnLogprob, TopLogprobsNum: c.TopLogprobsNum,
		TokenIDsLogprob: c.TokenIDsLogprob, LogprobStartLen: c.LogprobStartLen, ReturnRoutedExperts: c.ReturnRoutedExperts,
		RecordText: c.RecordText, Compat: c.Compat,
		// Only multi-turn rounds use the answers (for the next round's history): other requests
		// need not keep the generated text.
		NoText: true,
	})
	if err != nil {
		endPre()
		return exitUsage, err
	}
	firstLora := ""
	if len(c.LoraName) > 0 {
		firstLora = c.LoraName[0]
	}
	prefix := fire.NewRunID()
	if c.WarmupRequests > 0 {
		logf("warm-up: %d request(s)", c.WarmupRequests)
		wp := fire.WarmupPrompt(warmSrc, firstLora)
		if err := fire.Warmup(preCtx, be, client, wp, c.WarmupRequests, c.MaxConcurrency, c.Timeout, prefix); err != nil {
			if endPre() {
				return exitInterrupted, errors.New("interrupted during the warm-up")
			}
			return exitError, err
		}
	}
	if c.FlushCache {
		if err := srv.FlushCache(preCtx, c.Backend, c.FlushCacheTimeout); err != nil {
			if endPre() {
				return exitInterrupted, errors.New("interrupted before the run")
			}
			return exitError, err
		}
	}
	if c.Compat == schedule.CompatSGLang {
		// The reference sleeps 1 s after the warm-up and flush; in compat mode bs-fire does too.
		select {
		case <-time.After(time.Second):
		case <-preCtx.Done():
		}
	}
	var prof *fire.Profile
	if c.Profile {
		prof, err = profileSettings(c)
		if err != nil {
			endPre()
			return exitError, err
		}
		for _, target := range prof.Targets(base) {
			if err := srv.PostProfile(preCtx, target, "/start_profile", prof.StartBody()); err != nil {
				logf("profiler not started: %v", err)
			}
		}
	}
	// Open the connections the first requests will use, so their TTFT does not include connecting.
	fire.Preconnect(preCtx, client, base, preconnectCount(c.MaxConcurrency, max(rounds, c.NumPrompts)))
	if endPre() {
		return exitInterrupted, errors.New("interrupted before the run")
	}

	// The run.
	out, err := records.Create(c.Output)
	if err != nil {
		return exitError, fmt.Errorf("output: %w", err)
	}
	arrival := spec.Arrival()
	if arrival == schedule.ArrivalBurst && c.MaxConcurrency > 0 {
		arrival = "closed"
	}
	host, _ := os.Hostname()
	seed := c.Seed
	runInfo := &records.Run{
		Backend: c.Backend, BaseURL: fire.RedactURL(base), Endpoint: fire.RedactURL(be.URL()), Model: model,
		RequestRate: records.Rate(c.RequestRate), Arrival: arrival, MaxConcurrency: c.MaxConcurrency,
		NumPrompts: max(n, c.NumPrompts), Stream: !c.DisableStream, WarmupRequests: c.WarmupRequests,
		UseTraceTimestamps: c.UseTraceTimestamps, Tag: c.Tag, CacheReport: c.CacheReport,
	}
	if sent != model {
		runInfo.ServedModel = sent
	}
	if arrival == schedule.ArrivalGamma {
		runInfo.Burstiness = c.Burstiness
	}
	header := records.Header{Stream: records.StreamEvents, Tool: "bs-fire", Version: version.String(),
		Args: redactArgs(args), Seed: &seed, Host: host, Run: runInfo, Inputs: reader.Headers()}

	terminal := term.IsTerminal(int(os.Stderr.Fd()))
	total := rounds
	if total == 0 && c.NumPrompts > 0 && len(first.Turns) == 0 {
		total = c.NumPrompts // streamed: at most this many (the input may hold fewer)
	}
	progress := fire.NewProgress(os.Stderr, total, terminal, c.DisableTqdm, 5*time.Second)
	what := fmt.Sprintf("%d prompts", n)
	if n == 0 {
		what = "prompts as they arrive"
	}
	rateText := strconv.FormatFloat(c.RequestRate, 'g', -1, 64)
	if math.IsInf(c.RequestRate, 1) {
		rateText = "inf"
	}
	capText := "none"
	if c.MaxConcurrency > 0 {
		capText = strconv.Itoa(c.MaxConcurrency)
	}
	logf("run: %s, %s arrivals, request rate %s req/s, max concurrency %s", what, arrival, rateText, capText)

	runner := &fire.Runner{
		Backend: be, Client: client, Prompts: src, N: n, Times: times, MaxConcurrency: c.MaxConcurrency,
		Timeout: c.Timeout, Grace: c.Grace, MaxLag: c.MaxLag, Header: header, Out: out,
		Interrupts: interrupts, Progress: progress, RequestIDPrefix: prefix,
		AfterRun: func(ctx context.Context) ([]byte, *float64) {
			if prof != nil && prof.NeedsStop() {
				for _, target := range prof.Targets(base) {
					if err := srv.PostProfile(ctx, target, "/stop_profile", prof.StopBody()); err != nil {
						logf("profiler not stopped: %v", err)
					}
				}
			}
			return srv.ServerInfo(ctx)
		},
	}
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return exitError, fmt.Errorf("--cpu-profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return exitError, fmt.Errorf("--cpu-profile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	res, err := runner.Run(context.Background())
	progress.Close()
	cerr := out.Close()
	if err != nil {
		if records.IsBrokenPipe(err) {
			return exitPipe, errors.New("the output was closed (broken pipe) before the run started")
		}
		return exitError, err
	}
	fmt.Fprintln(os.Stderr, res.Summary())
	if w := res.Warning(); w != "" {
		fmt.Fprintln(os.Stderr, w)
	}
	switch res.Trailer.Interrupted {
	case records.InterruptOutputClosed:
		return exitPipe, errors.New("the output was closed (broken pipe): stopped dispatching and cancelled the requests in flight")
	case records.InterruptSignal:
		return exitInterrupted, nil
	case records.InterruptInputError:
		return promptErrCode(res.Err), res.Err
	}
	if res.Err != nil {
		return exitError, res.Err
	}
	if cerr != nil && !records.IsBrokenPipe(cerr) {
		return exitError, fmt.Errorf("output: %w", cerr)
	}
	return exitOK, nil
}

// preconnectCount is the number of connections the first wave of requests needs: the concurrency cap,
// or every request when there is none (0 when unknown).
func preconnectCount(maxConc, rounds int) int {
	switch {
	case maxConc > 0 && rounds > 0:
		return min(maxConc, rounds)
	case maxConc > 0:
		return maxConc
	}
	return rounds
}

// promptErrCode is 2 for a prompt the backend cannot send (an invalid combination), 1 for other input
// errors.
func promptErrCode(err error) int {
	var ie *fire.IncompatibleError
	if errors.As(err, &ie) {
		return exitUsage
	}
	return exitError
}

func checkFlags(c *cli) error {
	switch {
	case c.MaxConcurrency < 0:
		return errors.New("--max-concurrency must not be negative")
	case c.NumPrompts < 0:
		return errors.New("--num-prompts must not be negative")
	case c.WarmupRequests < 0:
		return errors.New("--warmup-requests must not be negative")
	case c.ReadyCheckTimeoutSec < 0:
		return errors.New("--ready-check-timeout-sec must not be negative")
	case c.Timeout < 0 || c.Grace < 0 || c.MaxLag < 0:
		return errors.New("--timeout, --grace and --max-lag must not be negative")
	case math.IsNaN(c.FlushCacheTimeout) || math.IsInf(c.FlushCacheTimeout, 0) || c.FlushCacheTimeout <= 0:
		return errors.New("--flush-cache-timeout must be a finite number > 0")
	case !(c.Burstiness > 0):
		return errors.New("--burstiness must be > 0 (1 = Poisson, inf = constant rate)")
	case c.SlowdownFactor <= 0:
		return errors.New("--slowdown-factor must be > 0")
	case c.UseTraceTimestamps && c.RampUpStartRate > 0:
		return errors.New("--use-trace-timestamps and --ramp-up-start-rate cannot be combined")
	case len(c.ProfilePrefillURL) > 0 && len(c.ProfileDecodeURL) > 0:
		return errors.New("--profile-prefill-url and --profile-decode-url are mutually exclusive")
	}
	if (len(c.Files) == 0 || slices.Contains(c.Files, records.Stdio)) && term.IsTerminal(int(os.Stdin.Fd())) {
		return errors.New("no prompt file given and standard input is a terminal: pipe bs-gen's output in, or name a file")
	}
	for _, f := range c.Files {
		if _, err := os.Stat(f); err != nil && f != records.Stdio && strings.Contains(f, "=") {
			return fmt.Errorf("%q is not a prompt file: give --header once per KEY=VALUE pair (--header A=1 --header B=2)", f)
		}
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--base-url %q: want http://host:port or https://host:port", fire.RedactURL(c.BaseURL))
		}
	}
	return nil
}

// authorization returns the Authorization header value: --api-key as a Bearer token, else
// $OPENAI_API_KEY as a Bearer token, else $API_KEY as is (the reference's rules), else "".
func authorization(flag string) string {
	switch {
	case flag != "":
		return "Bearer " + flag
	case os.Getenv("OPENAI_API_KEY") != "":
		return "Bearer " + os.Getenv("OPENAI_API_KEY")
	}
	return os.Getenv("API_KEY")
}

// parseHeaders splits each KEY=VALUE at the first '=' and drops pairs with an empty key or value, as the
// reference.
func parseHeaders(pairs []string) http.Header {
	h := http.Header{}
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			continue
		}
		h.Set(k, v)
	}
	return h
}

// extraBody validates --extra-request-body and adds the --cache-report and --fake-prefill keys, in
// the reference's order.
func extraBody(c *cli) ([]byte, error) {
	var obj []byte
	if strings.TrimSpace(c.ExtraRequestBody) != "" {
		o, err := fire.ParseObject(c.ExtraRequestBody)
		if err != nil {
			return nil, err
		}
		obj = o
	}
	if c.CacheReport {
		switch c.Backend {
		case "sglang-oai", "sglang-oai-chat":
			o, err := fire.SetKeys(obj, "return_cached_tokens_details", "true")
			if err != nil {
				return nil, err
			}
			obj = o
		case "sglang", "sglang-native": // meta_info carries the cached tokens anyway
		default:
			fmt.Fprintf(os.Stderr, "bs-fire: warning: --cache-report asks SGLang for cache details; backend %s reports only what its server sends (OpenAI's usage.prompt_tokens_details.cached_tokens)\n", c.Backend)
		}
	}
	if c.FakePrefill {
		o, err := fire.SetKeys(obj, "bootstrap_host", `"2.2.2.2"`, "bootstrap_room", "0")
		if err != nil {
			return nil, err
		}
		obj = o
	}
	return obj, nil
}

// profileSettings resolves the profiler flags; the output directory is created on this machine under
// the given (or default) directory, named by the current Unix time, as the reference does.
func profileSettings(c *cli) (*fire.Profile, error) {
	dir := c.ProfileOutputDir
	if dir == "" {
		dir = os.Getenv("SGLANG_TORCH_PROFILER_DIR")
	}
	if dir == "" {
		dir = "/tmp"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	now := float64(time.Now().UnixNano()) / 1e9
	abs = filepath.Join(abs, strconv.FormatFloat(now, 'f', -1, 64))
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("--profile-output-dir: %w", err)
	}
	p := &fire.Profile{Activities: c.ProfileActivities, NumSteps: c.ProfileNumSteps, ByStage: c.ProfileByStage,
		Stages: c.ProfileStages, OutputDir: abs, Prefix: c.ProfilePrefix, StartStep: c.ProfileStartStep, Steps: c.ProfileSteps}
	if c.PDSeparated {
		p.PrefillURLs, p.DecodeURLs = c.ProfilePrefillURL, c.ProfileDecodeURL
		if len(p.PrefillURLs)+len(p.DecodeURLs) == 0 {
			fmt.Fprintln(os.Stderr, "bs-fire: --pd-separated without --profile-prefill-url or --profile-decode-url: profiling nothing")
			return &fire.Profile{}, nil
		}
	}
	return p, nil
}

// redactArgs redacts secrets (records.RedactArgs) and the password of URLs given to --base-url.
func redactArgs(args []string) []string {
	out := records.RedactArgs(args)
	for i, a := range out {
		switch {
		case strings.HasPrefix(a, "--base-url="):
			out[i] = "--base-url=" + fire.RedactURL(strings.TrimPrefix(a, "--base-url="))
		case a == "--base-url" && i+1 < len(out):
			out[i+1] = fire.RedactURL(out[i+1])
		}
	}
	return out
}
