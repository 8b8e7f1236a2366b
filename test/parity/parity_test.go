// Package parity holds differential tests: SGLang's own benchmark client (the reference,
// `python -m sglang.benchmark.serving` from the venv made by test/parity/setup.sh) and bs run on
// the same inputs against a real bs-sim on 127.0.0.1, and what each sent or computed is compared.
//
//   - bodies_test.go: datasets through request bodies (random, random-ids, sharegpt,
//     generated-shared-prefix × sglang, vllm, vllm-chat).
//   - datasets_test.go: longbench_v2, speed-bench and agentic-trace rows of the reference's own
//     get_dataset vs bs-gen --compat sglang, on files the test writes (bodies_test.go replays
//     agentic-trace multi-turn on chat backends).
//   - payload_test.go: every backend's endpoint, headers and body under the request flags.
//   - metrics_test.go: the reference's calculate_metrics on bs events vs bs-stat/bs-report, and the
//     reference's --output-details arrays converted to bs events.
//
// The reference is driven by diff/refdriver.py, which imports it once (~10 s: torch) and forks one
// child per run, each calling the reference's own cli_main() with the run's flags.
//
// Without the venv (.cache/venv-sglang, or $BS_PARITY_VENV) the tests skip, naming
// `bash test/parity/setup.sh`; with BS_REQUIRE_PARITY=1 they fail instead. BS_PARITY_KEEP=1 keeps
// the work folder (request logs, event files, the reference's JSONL and console logs).
package parity

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/sim"
	"github.com/bsbench/bs/pkg/testutil"
)

// Concurrency limits. Reference children are mostly idle (the reference pauses 1 s after its
// warm-up; ~0.7 s of CPU each, mostly loading the tokenizer); bs pipelines are short.
const (
	refSlots = 4
	bsSlots  = 2
)

var (
	repoRoot   string
	binDir     string
	venvPython string
	tokDir     string // Qwen3 tokenizer fixture
	sharegpt   string // small ShareGPT-format file (make_sharegpt.py)
	workDir    string // scratch space for the whole package run
	// skipReason is set when the reference's venv is missing; setupErr when something else needed
	// by every test could not be prepared.
	skipReason string
	setupErr   error

	driverOnce sync.Once
	driver     *refDriver
	driverErr  error

	bsSem = make(chan struct{}, bsSlots)
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Every case is a parallel subtest; the real limits are refSlots and bsSlots. The default
	// -parallel (GOMAXPROCS, 2 here) would leave the reference's 1 s pauses unoverlapped.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "12")
	}
	code := func() int {
		dir, err := os.MkdirTemp("", "bs-parity")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		workDir = dir
		defer func() {
			if os.Getenv("BS_PARITY_KEEP") == "" {
				os.RemoveAll(dir)
			} else {
				fmt.Fprintf(os.Stderr, "parity: kept %s\n", dir)
			}
		}()
		setupErr = setup()
		code := m.Run()
		if driver != nil {
			driver.close()
		}
		return code
	}()
	os.Exit(code)
}

// setup locates the venv and fixtures and builds the bs binaries. A missing venv only sets
// skipReason (each test then skips or fails); anything else is an error every test reports.
func setup() error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	if _, err := os.Stat(filepath.Join(repoRoot, "go.mod")); err != nil {
		return fmt.Errorf("repository root not found from %s: %w", wd, err)
	}
	venv := filepath.Join(repoRoot, ".cache", "venv-sglang")
	if v := os.Getenv("BS_PARITY_VENV"); v != "" {
		venv = v // another venv made the same way (setup.sh's layout and stamp)
	}
	venvPython = filepath.Join(venv, "bin", "python")
	stamps, _ := filepath.Glob(filepath.Join(venv, ".bs-setup-*"))
	if _, err := os.Stat(venvPython); err != nil || len(stamps) == 0 {
		skipReason = fmt.Sprintf("the reference client's venv %s is missing or incomplete: run `bash test/parity/setup.sh` (needs ~3 GB of PyPI wheels)", venv)
		return nil
	}
	tokDir = filepath.Join(repoRoot, ".cache", "testdata", "tokenizers", "qwen3")
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		if fi, err := os.Stat(filepath.Join(tokDir, f)); err != nil || fi.Size() == 0 {
			return fmt.Errorf("test tokenizer %s is missing: run `make testdata`", filepath.Join(tokDir, f))
		}
	}
	// The ShareGPT-format file the reference's sharegpt and random datasets read (the parity
	// scripts' generator, same rows and seed as run-reference.sh).
	sharegpt = filepath.Join(workDir, "sharegpt-tiny.json")
	if out, err := exec.Command(venvPython, filepath.Join(repoRoot, "test", "parity", "make_sharegpt.py"), sharegpt, "--rows", "200", "--seed", "7").CombinedOutput(); err != nil {
		return fmt.Errorf("make_sharegpt.py: %v\n%s", err, out)
	}
	return buildBinaries()
}

// buildBinaries builds bs-gen and bs-stat (cgo, linked with libtokenizers) and bs-fire and bs-report
// into a temporary bin folder.
func buildBinaries() error {
	binDir = filepath.Join(workDir, "bin")
	return testutil.BuildTools(binDir, "bs-gen", "bs-fire", "bs-stat", "bs-report")
}

// needReference skips the test (or fails it under BS_REQUIRE_PARITY=1) when the reference is not
// installed, and fails it when the shared setup failed.
func needReference(t *testing.T) {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("parity setup: %v", setupErr)
	}
	if skipReason != "" {
		if os.Getenv("BS_REQUIRE_PARITY") == "1" {
			t.Fatalf("BS_REQUIRE_PARITY=1 but %s", skipReason)
		}
		t.Skip(skipReason)
	}
}

func bin(name string) string { return filepath.Join(binDir, name) }

// ---- the reference driver ----

type refReply struct {
	ID      int     `json:"id"`
	Ready   bool    `json:"ready"`
	OK      bool    `json:"ok"`
	Error   string  `json:"error"`
	Seconds float64 `json:"seconds"`
}

type refDriver struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *lockedWriter
	mu      sync.Mutex
	nextID  int
	waiters map[int]chan refReply
	dead    error
	slots   chan struct{}
}

// referenceEnv is the reference's environment, as test/parity/run-reference.sh sets it: offline,
// no proxies, no API keys (HOME is set per run by the driver).
func referenceEnv() []string {
	drop := map[string]bool{"OPENAI_API_KEY": true, "API_KEY": true, "http_proxy": true, "https_proxy": true,
		"HTTP_PROXY": true, "HTTPS_PROXY": true, "all_proxy": true, "ALL_PROXY": true}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env, "NO_PROXY=*", "no_proxy=*", "HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1",
		"HF_DATASETS_OFFLINE=1", "HF_HUB_DISABLE_TELEMETRY=1", "PYTHONWARNINGS=ignore", "TOKENIZERS_PARALLELISM=false")
}

// reference returns the shared driver, starting it on first use.
func reference(t *testing.T) *refDriver {
	t.Helper()
	driverOnce.Do(func() { driver, driverErr = startDriver() })
	if driverErr != nil {
		t.Fatalf("starting the reference driver: %v", driverErr)
	}
	return driver
}

func startDriver() (*refDriver, error) {
	d := &refDriver{waiters: map[int]chan refReply{}, stderr: &lockedWriter{w: &bytes.Buffer{}}, slots: make(chan struct{}, refSlots)}
	d.cmd = exec.Command(venvPython, "-u", filepath.Join(repoRoot, "test", "parity", "diff", "refdriver.py"))
	d.cmd.Dir = workDir
	d.cmd.Env = referenceEnv()
	d.cmd.Stderr = d.stderr
	stdin, err := d.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	d.stdin = stdin
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 16<<20)
	ready := make(chan error, 1)
	go func() {
		if !sc.Scan() {
			ready <- fmt.Errorf("the driver exited while importing the reference: %s", d.stderr.String())
			return
		}
		var r refReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || !r.Ready {
			ready <- fmt.Errorf("the driver could not import the reference: %s %s", sc.Text(), r.Error)
			return
		}
		ready <- nil
		for sc.Scan() {
			var r refReply
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				continue
			}
			d.mu.Lock()
			ch := d.waiters[r.ID]
			delete(d.waiters, r.ID)
			d.mu.Unlock()
			if ch != nil {
				ch <- r
			}
		}
		d.mu.Lock()
		d.dead = fmt.Errorf("the reference driver exited: %s", lastLines(d.stderr.String(), 20))
		for id, ch := range d.waiters {
			ch <- refReply{ID: id, Error: d.dead.Error()}
			delete(d.waiters, id)
		}
		d.mu.Unlock()
	}()
	select {
	case err := <-ready:
		if err != nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
			return nil, err
		}
	case <-time.After(3 * time.Minute):
		d.cmd.Process.Kill()
		d.cmd.Wait()
		return nil, errors.New("the driver did not import the reference within 3 minutes")
	}
	return d, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// do sends one command and waits for its reply (at most refSlots commands are in flight).
func (d *refDriver) do(cmd map[string]any) refReply {
	d.slots <- struct{}{}
	defer func() { <-d.slots }()
	d.mu.Lock()
	if d.dead != nil {
		d.mu.Unlock()
		return refReply{Error: d.dead.Error()}
	}
	d.nextID++
	id := d.nextID
	cmd["id"] = id
	ch := make(chan refReply, 1)
	d.waiters[id] = ch
	b, _ := json.Marshal(cmd)
	_, err := d.stdin.Write(append(b, '\n'))
	d.mu.Unlock()
	if err != nil {
		return refReply{ID: id, Error: "writing to the driver: " + err.Error()}
	}
	select {
	case r := <-ch:
		return r
	case <-time.After(3 * time.Minute):
		return refReply{ID: id, Error: "no reply from the reference within 3 minutes"}
	}
}

func (d *refDriver) close() {
	d.stdin.Close()
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
}

// runReference runs the reference with the given flags in dir (a fresh folder), adding
// --tokenizer, --disable-tqdm and --output-file dir/ref.jsonl --output-details. env adds variables
// for this run only. It returns the JSONL path; a failure includes the tail of the console log.
func runReference(dir string, env map[string]string, args ...string) (string, error) {
	out := filepath.Join(dir, "ref.jsonl")
	log := filepath.Join(dir, "ref.log")
	args = append(append([]string{}, args...), "--tokenizer", tokDir, "--disable-tqdm", "--output-file", out, "--output-details")
	r := driver.do(map[string]any{"op": "run", "argv": args, "cwd": filepath.Join(dir, "ref-cwd"), "log": log, "env": env})
	if !r.OK {
		b, _ := os.ReadFile(log)
		return "", fmt.Errorf("reference %s: %s\nconsole (last lines):\n%s", strings.Join(args, " "), r.Error, lastLines(string(b), 25))
	}
	return out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---- bs-sim in process ----

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// simServer is a bs-sim (pkg/sim) serving on 127.0.0.1 with an in-memory body log.
type simServer struct {
	URL    string
	srv    *sim.Server
	bodies *syncBuffer
	done   chan error
	once   sync.Once
	recs   []sim.BodyRecord
	err    error
}

func startSim(cfg sim.Config) (*simServer, error) {
	s := &simServer{bodies: &syncBuffer{}, done: make(chan error, 1)}
	cfg.RecordBodies = s.bodies
	srv, err := sim.New(cfg)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.srv, s.URL = srv, "http://"+l.Addr().String()
	go func() { s.done <- srv.Serve(l) }()
	return s, nil
}

// stop shuts the server down and returns every request it received, in arrival order.
func (s *simServer) stop() ([]sim.BodyRecord, error) {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.err = err
			return
		}
		<-s.done
		sc := bufio.NewScanner(bytes.NewReader(s.bodies.b.Bytes()))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var r sim.BodyRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				s.err = fmt.Errorf("body log: %w", err)
				return
			}
			s.recs = append(s.recs, r)
		}
		sortByTime(s.recs)
	})
	return s.recs, s.err
}

func sortByTime(recs []sim.BodyRecord) {
	// Insertion sort: the log is nearly in order already.
	for i := 1; i < len(recs); i++ {
		for j := i; j > 0 && recs[j].TimeNS < recs[j-1].TimeNS; j-- {
			recs[j], recs[j-1] = recs[j-1], recs[j]
		}
	}
}

// ---- bs pipelines ----

// runBS runs `bs-gen --compat sglang GEN | bs-fire --compat sglang FIRE -o dir/events.jsonl` and
// returns the event file. env adds variables (both tools).
func runBS(dir string, env map[string]string, gen, fire []string) (string, error) {
	bsSem <- struct{}{}
	defer func() { <-bsSem }()
	events := filepath.Join(dir, "events.jsonl")
	g := exec.Command(bin("bs-gen"), append([]string{"--compat", "sglang", "--tokenizer", tokDir, "-q"}, gen...)...)
	f := exec.Command(bin("bs-fire"), append([]string{"--compat", "sglang", "-q", "-o", events}, fire...)...)
	for _, c := range []*exec.Cmd{g, f} {
		c.Dir = dir
		c.Env = bsEnv(env)
	}
	var gerr, ferr bytes.Buffer
	g.Stderr, f.Stderr = &gerr, &ferr
	pipe, err := g.StdoutPipe()
	if err != nil {
		return "", err
	}
	f.Stdin = pipe
	if err := g.Start(); err != nil {
		return "", err
	}
	if err := f.Start(); err != nil {
		g.Process.Kill()
		g.Wait()
		return "", err
	}
	e1 := g.Wait()
	e2 := f.Wait()
	if e1 != nil || e2 != nil {
		return "", fmt.Errorf("bs-gen %s: %v\n%s\nbs-fire %s: %v\n%s", strings.Join(gen, " "), e1, gerr.String(),
			strings.Join(fire, " "), e2, ferr.String())
	}
	return events, nil
}

func bsEnv(extra map[string]string) []string {
	drop := map[string]bool{"OPENAI_API_KEY": true, "API_KEY": true}
	for k := range extra {
		drop[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// runTool runs one of the bs binaries and returns its stdout.
func runTool(dir, name string, args ...string) ([]byte, error) {
	c := exec.Command(bin(name), args...)
	c.Dir = dir
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// caseDir makes a fresh folder for one case.
func caseDir(t *testing.T, parts ...string) string {
	t.Helper()
	dir := filepath.Join(append([]string{workDir}, parts...)...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
