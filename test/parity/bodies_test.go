package parity

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/sim"
)

// pairCase is one differential run: the reference and bs, each against its own bs-sim.
type pairCase struct {
	name    string
	backend string
	ref     []string          // reference flags (--backend and --base-url are added)
	gen     []string          // bs-gen flags (--compat sglang, --tokenizer, --backend are added)
	fire    []string          // bs-fire flags (--compat sglang, --backend, --base-url, -o are added)
	env     map[string]string // extra environment for both clients
	sim     sim.Config
	want    int // requests expected after the warm-up, on each side
}

type pairResult struct {
	ref, bs  *side
	refJSONL string
	events   string
	err      error
}

// runPair runs the case's reference and bs pipelines concurrently, each against a fresh bs-sim,
// and returns what each server received.
func runPair(group string, c pairCase) pairResult {
	dir := filepath.Join(workDir, group, c.name)
	refSim, err := startSim(c.sim)
	if err != nil {
		return pairResult{err: err}
	}
	bsSim, err := startSim(c.sim)
	if err != nil {
		refSim.stop()
		return pairResult{err: err}
	}
	var res pairResult
	var refErr, bsErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res.refJSONL, refErr = runReference(filepath.Join(dir, "ref"), c.env,
			append([]string{"--base-url", refSim.URL, "--backend", c.backend}, c.ref...)...)
	}()
	bsDir := filepath.Join(dir, "bs")
	if err := os.MkdirAll(bsDir, 0o755); err != nil {
		bsErr = err
	} else {
		res.events, bsErr = runBS(bsDir, c.env,
			append(append([]string{}, c.gen...), "--backend", c.backend),
			append([]string{"--backend", c.backend, "--base-url", bsSim.URL}, c.fire...))
	}
	<-done
	refRecs, e1 := refSim.stop()
	bsRecs, e2 := bsSim.stop()
	if err := firstErr(refErr, bsErr, e1, e2); err != nil {
		return pairResult{err: err}
	}
	// Kept for inspection (BS_PARITY_KEEP=1 keeps the work folder).
	os.WriteFile(filepath.Join(dir, "ref-bodies.jsonl"), refSim.bodies.b.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "bs-bodies.jsonl"), bsSim.bodies.b.Bytes(), 0o644)
	res.ref = splitRequests("reference", refRecs, true)
	res.bs = splitRequests("bs", bsRecs, false)
	return res
}

// check reports the comparison of one case's requests as test errors.
func (r pairResult) check(t *testing.T, c pairCase) {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.ref.run) != c.want || len(r.bs.run) != c.want {
		t.Errorf("requests after the warm-up: reference %d, bs %d, want %d each", len(r.ref.run), len(r.bs.run), c.want)
	}
	diffs := compareSides(r.ref, r.bs)
	for _, d := range diffs {
		t.Error(d)
	}
	if len(diffs) == 0 {
		t.Logf("%d requests + warm-up identical (endpoint %s)", len(r.ref.run), r.ref.warmup.path)
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// fastSim answers quickly: the body tests look at requests, not timings.
var fastSim = sim.Config{TTFT: time.Millisecond, ITL: 100 * time.Microsecond, Seed: 1}

// TestDatasetBodies: for each dataset and backend, with the same seed and the Qwen3 tokenizer, the
// requests bs-sim receives from the reference and from `bs-gen --compat sglang | bs-fire --compat
// sglang` are identical — endpoint, headers (apart from headerRules) and JSON body by value, key
// order and int-vs-float included. The warm-up (first request received) is compared on its own;
// the rest as multisets, since the reference starts every request at once (rate inf) and arrival
// order differs. Random by design: the generated-shared-prefix routing-key prefix (only the group
// is compared).
func TestDatasetBodies(t *testing.T) {
	t.Parallel()
	needReference(t)
	reference(t)

	type dataset struct {
		name  string
		flags []string
		want  int
	}
	datasets := []dataset{
		{"random", []string{"--dataset-name", "random", "--dataset-path", sharegpt, "--num-prompts", "24",
			"--random-input-len", "48", "--random-output-len", "8", "--random-range-ratio", "0.5", "--seed", "11"}, 24},
		{"random-ids", []string{"--dataset-name", "random-ids", "--num-prompts", "24",
			"--random-input-len", "48", "--random-output-len", "8", "--random-range-ratio", "0.5", "--seed", "12"}, 24},
		// Output lengths from the conversations' replies (no --sharegpt-output-len).
		{"sharegpt", []string{"--dataset-name", "sharegpt", "--dataset-path", sharegpt, "--num-prompts", "24", "--seed", "13"}, 24},
		{"generated-shared-prefix", []string{"--dataset-name", "generated-shared-prefix", "--gsp-num-groups", "3",
			"--gsp-prompts-per-group", "6", "--gsp-system-prompt-len", "40", "--gsp-question-len", "10",
			"--gsp-output-len", "6", "--gsp-send-routing-key", "--seed", "14"}, 18},
	}
	var cases []pairCase
	for _, b := range []string{"sglang", "vllm", "vllm-chat"} {
		for _, d := range datasets {
			cases = append(cases, pairCase{
				name: b + "/" + d.name, backend: b, ref: d.flags, gen: d.flags, sim: fastSim, want: d.want,
			})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runPair("bodies", c).check(t, c)
		})
	}
}

// TestMultiTurnBodies: the agentic-trace dataset replayed multi-turn on chat backends. Each round
// sends the conversation so far (earlier rounds' messages and bs-sim's replies) with the
// reference's body, stream_options included. One conversation at a time (--max-concurrency 1) so
// that both bs-sims number the requests alike and generate the same replies. The warm-up replays
// the first conversation (its first round is the compared warm-up, the other rounds join the run).
func TestMultiTurnBodies(t *testing.T) {
	t.Parallel()
	needReference(t)
	reference(t)
	_, _, _, trace := writeDatasetFiles(t, caseDir(t, "multi-turn-files"))
	flags := []string{"--dataset-name", "agentic-trace", "--dataset-path", trace, "--sharegpt-output-len", "5"}
	// 20 rounds in 6 usable conversations (2+3+5+2+4+4), plus the warm-up's second round.
	const want = 21
	for _, b := range []string{"vllm-chat", "sglang-oai-chat"} {
		c := pairCase{
			name: b + "/agentic-trace", backend: b, ref: append(append([]string{}, flags...), "--max-concurrency", "1"),
			gen: flags, fire: []string{"--max-concurrency", "1"}, sim: fastSim, want: want,
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runPair("multi-turn", c).check(t, c)
		})
	}
}
