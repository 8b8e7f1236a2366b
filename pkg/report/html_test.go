package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/metrics"
	"github.com/bsbench/bs/pkg/records"
)

func htmlReport(t *testing.T, compare bool) (string, []records.Summary) {
	t.Helper()
	a := summarize(t, metrics.Options{Series: true, Percentiles: []float64{99.9}, SLO: map[string]float64{"ttft": 0.2}}, "../metrics/testdata/parity/many.jsonl")
	sums := a
	labels := []string{""}
	if compare {
		b := summarize(t, metrics.Options{Series: true}, "../metrics/testdata/parity/native.jsonl")
		sums = append(sums, b...)
		labels = []string{"many", "native"}
	}
	var buf bytes.Buffer
	if err := HTML(&buf, sums, labels, compare); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, sums
}

func TestHTMLSelfContained(t *testing.T) {
	for _, compare := range []bool{false, true} {
		path, _ := htmlReport(t, compare)
		b, _ := os.ReadFile(path)
		s := string(b)
		if n := strings.Count(s, `<svg class="chart"`); n != 6 {
			t.Errorf("compare=%v: %d charts, want 6", compare, n)
		}
		for _, bad := range []string{"http://", "https://", "<script", "<link"} {
			if strings.Contains(strings.ReplaceAll(s, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
				t.Errorf("compare=%v: report references %q: it must be self-contained", compare, bad)
			}
		}
		// Failures are drawn in the latency chart.
		if !strings.Contains(s, `data-series="failed"`) && !strings.Contains(s, `data-series="many failed"`) {
			t.Errorf("compare=%v: no failure series", compare)
		}
		// Deterministic output.
		again, _ := htmlReport(t, compare)
		b2, _ := os.ReadFile(again)
		if !bytes.Equal(b, b2) {
			t.Errorf("compare=%v: two renders differ", compare)
		}
	}
}

// chromium finds a headless browser, or skips (fails when BS_REQUIRE_CHROMIUM=1, as in CI).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("BS_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium not found (apt-get install -y chromium)")
	}
	t.Skip("chromium not installed; set BS_REQUIRE_CHROMIUM=1 to make this an error")
	return ""
}

func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.Bytes()
}

// The HTML report renders in headless Chromium: a non-trivial screenshot, and the charts' SVG elements
// are in the rendered DOM.
func TestHTMLRendersInChromium(t *testing.T) {
	bin := chromium(t)
	path, _ := htmlReport(t, false)
	url := "file://" + path
	dom := string(runChromium(t, bin, "--dump-dom", url))
	if n := strings.Count(dom, `<svg class="chart"`); n != 6 {
		t.Errorf("rendered DOM has %d chart SVGs, want 6", n)
	}
	for _, want := range []string{`data-chart="ttft-cdf"`, `data-chart="latency"`, `<path class="series"`, `<circle`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %s", want)
		}
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	runChromium(t, bin, "--window-size=1500,1900", "--screenshot="+shot, url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1500 || b.Dy() != 1900 {
		t.Errorf("screenshot is %v", b)
	}
	// Non-trivial: many distinct colours (text, grid, series), not a blank page.
	colours := map[uint32]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 3 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 3 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|b>>8] = true
		}
	}
	if len(colours) < 50 {
		t.Errorf("screenshot has only %d colours: blank render?", len(colours))
	}
}
