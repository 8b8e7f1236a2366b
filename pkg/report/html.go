package report

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/bsbench/bs/pkg/records"
)

// The HTML report is one self-contained file: inline CSS and inline SVG charts drawn here, no script
// and nothing fetched from the network, so it opens offline and its bytes depend only on the input.

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"}

const failColor = "#d62728"

type plotSeries struct {
	name    string
	color   string
	pts     [][2]float64
	scatter bool
	cross   bool // scatter drawn as crosses (failures)
}

type plot struct {
	id, title, xlabel, ylabel string
	series                    []plotSeries
	yFromZero                 bool
}

const (
	svgW, svgH             = 680, 320
	padL, padR, padT, padB = 64, 16, 34, 48
	plotW, plotH           = svgW - padL - padR, svgH - padT - padB
	maxPointsDrawn         = 2000
	chartFont              = "font-family:sans-serif;font-size:11px"
)

// niceStep returns a 1-2-5 step giving about n ticks over span.
func niceStep(span float64, n int) float64 {
	if span <= 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func tickLabel(v, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step)))
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// svg draws the plot.
func (p *plot) svg() string {
	var b strings.Builder
	x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range p.series {
		for _, pt := range s.pts {
			x0, x1 = math.Min(x0, pt[0]), math.Max(x1, pt[0])
			y0, y1 = math.Min(y0, pt[1]), math.Max(y1, pt[1])
		}
	}
	empty := math.IsInf(x0, 1)
	if empty {
		x0, x1, y0, y1 = 0, 1, 0, 1
	}
	if p.yFromZero {
		y0 = math.Min(0, y0)
	}
	if x1 <= x0 {
		x1 = x0 + 1
	}
	if y1 <= y0 {
		y1 = y0 + 1
	}
	xs, ys := niceStep(x1-x0, 6), niceStep(y1-y0, 5)
	x0, x1 = math.Floor(x0/xs)*xs, math.Ceil(x1/xs)*xs
	y0, y1 = math.Floor(y0/ys)*ys, math.Ceil(y1/ys)*ys
	px := func(x float64) float64 { return padL + (x-x0)/(x1-x0)*plotW }
	py := func(y float64) float64 { return padT + plotH - (y-y0)/(y1-y0)*plotH }

	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		html.EscapeString(p.id), svgW, svgH, svgW, svgH, html.EscapeString(p.title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`, svgW, svgH)
	fmt.Fprintf(&b, `<text x="%d" y="20" style="%s;font-size:14px;font-weight:bold">%s</text>`, padL, chartFont, html.EscapeString(p.title))
	// Grid and ticks.
	for v := y0; v <= y1+ys/2; v += ys {
		y := py(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#e5e5e5"/>`, padL, num(y), padL+plotW, num(y))
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" style="%s">%s</text>`, padL-6, num(y+4), chartFont, tickLabel(v, ys))
	}
	for v := x0; v <= x1+xs/2; v += xs {
		x := px(v)
		fmt.Fprintf(&b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#e5e5e5"/>`, num(x), padT, num(x), padT+plotH)
		fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle" style="%s">%s</text>`, num(x), padT+plotH+16, chartFont, tickLabel(v, xs))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`, padL, padT, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" style="%s">%s</text>`, padL+plotW/2, svgH-8, chartFont, html.EscapeString(p.xlabel))
	fmt.Fprintf(&b, `<text transform="translate(14 %d) rotate(-90)" text-anchor="middle" style="%s">%s</text>`, padT+plotH/2, chartFont, html.EscapeString(p.ylabel))
	if empty {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" style="%s">no data</text>`, padL+plotW/2, padT+plotH/2, chartFont)
	}
	// Series.
	for _, s := range p.series {
		pts := s.pts
		step := max(1, len(pts)/maxPointsDrawn)
		switch {
		case s.cross:
			fmt.Fprintf(&b, `<g class="series" data-series="%s" stroke="%s" stroke-width="1.5">`, html.EscapeString(s.name), s.color)
			for i := 0; i < len(pts); i += step {
				x, y := px(pts[i][0]), py(pts[i][1])
				fmt.Fprintf(&b, `<path d="M%s %sL%s %sM%s %sL%s %s"/>`, num(x-3), num(y-3), num(x+3), num(y+3), num(x-3), num(y+3), num(x+3), num(y-3))
			}
			b.WriteString(`</g>`)
		case s.scatter:
			fmt.Fprintf(&b, `<g class="series" data-series="%s" fill="%s" fill-opacity="0.6">`, html.EscapeString(s.name), s.color)
			for i := 0; i < len(pts); i += step {
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2"/>`, num(px(pts[i][0])), num(py(pts[i][1])))
			}
			b.WriteString(`</g>`)
		default:
			var d strings.Builder
			for i := 0; i < len(pts); i += step {
				if d.Len() == 0 {
					d.WriteString("M")
				} else {
					d.WriteString(" L")
				}
				d.WriteString(num(px(pts[i][0])) + " " + num(py(pts[i][1])))
			}
			fmt.Fprintf(&b, `<path class="series" data-series="%s" d="%s" fill="none" stroke="%s" stroke-width="1.6"/>`, html.EscapeString(s.name), d.String(), s.color)
		}
	}
	// Legend.
	for i, s := range p.series {
		x := padL + 8 + i*150
		if s.cross {
			fmt.Fprintf(&b, `<path d="M%d %dL%d %dM%d %dL%d %d" stroke="%s" stroke-width="1.5"/>`, x, padT+6, x+8, padT+14, x, padT+14, x+8, padT+6, s.color)
		} else {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/>`, x, padT+5, s.color)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" style="%s">%s</text>`, x+14, padT+14, chartFont, html.EscapeString(truncate(s.name, 22)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// charts builds the report's charts over one or more summaries (one series per summary).
func charts(sums []records.Summary, names []string) []plot {
	cdfPlot := func(id, title string, get func(*records.Series) [][2]float64) plot {
		p := plot{id: id, title: title, xlabel: "milliseconds", ylabel: "fraction of values ≤ x", yFromZero: true}
		for i := range sums {
			if se := sums[i].Series; se != nil {
				var pts [][2]float64
				for _, q := range get(se) {
					pts = append(pts, [2]float64{q[0] * 1000, q[1]})
				}
				p.series = append(p.series, plotSeries{name: names[i], color: palette[i%len(palette)], pts: pts})
			}
		}
		return p
	}
	timePlot := func(id, title, ylabel string, get func(*records.Series) []float64) plot {
		p := plot{id: id, title: title, xlabel: "seconds after the first request", ylabel: ylabel, yFromZero: true}
		for i := range sums {
			if se := sums[i].Series; se != nil {
				var pts [][2]float64
				for k, v := range get(se) {
					pts = append(pts, [2]float64{float64(k) * se.BucketSeconds, v})
				}
				p.series = append(p.series, plotSeries{name: names[i], color: palette[i%len(palette)], pts: pts})
			}
		}
		return p
	}
	out := []plot{
		cdfPlot("ttft-cdf", "TTFT distribution (CDF)", func(s *records.Series) [][2]float64 { return s.TTFTCDF }),
		cdfPlot("itl-cdf", "ITL distribution (CDF)", func(s *records.Series) [][2]float64 { return s.ITLCDF }),
		cdfPlot("e2e-cdf", "End-to-end latency distribution (CDF)", func(s *records.Series) [][2]float64 { return s.E2ECDF }),
		timePlot("throughput", "Output tokens per second over time", "tokens/s", func(s *records.Series) []float64 { return s.OutputTokensPerS }),
		timePlot("concurrency", "Concurrent requests over time", "requests", func(s *records.Series) []float64 { return s.ConcurrentRequests }),
	}
	lat := plot{id: "latency", title: "Latency over time (failures marked ×)", xlabel: "seconds after the first request", ylabel: "milliseconds", yFromZero: true}
	for i := range sums {
		se := sums[i].Series
		if se == nil {
			continue
		}
		var ok, ttft, fail [][2]float64
		for _, p := range se.Latency {
			switch {
			case p[3] == 0:
				fail = append(fail, [2]float64{p[0], p[1] * 1000})
			default:
				ok = append(ok, [2]float64{p[0], p[1] * 1000})
				if p[2] >= 0 {
					ttft = append(ttft, [2]float64{p[0], p[2] * 1000})
				}
			}
		}
		c := palette[i%len(palette)]
		prefix := ""
		if len(sums) > 1 {
			prefix = names[i] + " "
		}
		lat.series = append(lat.series, plotSeries{name: prefix + "E2E", color: c, pts: ok, scatter: true})
		if len(sums) == 1 {
			lat.series = append(lat.series, plotSeries{name: "TTFT", color: palette[2], pts: ttft, scatter: true})
		}
		lat.series = append(lat.series, plotSeries{name: prefix + "failed", color: failColor, pts: fail, cross: true})
	}
	return append(out, lat)
}

const css = `body{font-family:sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px}
td.v{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #eee}
.row{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
.note{color:#8a4b00}.better{color:#1a7f37}.worse{color:#b42318}`

// HTML writes a self-contained report of one or more summaries: per summary its run description,
// metrics table and notes; then charts overlaying every summary (CDFs of TTFT, ITL and E2E, output
// tokens/s and concurrency over time, latency over time with failures marked). With two or more
// summaries and compare set, a comparison table replaces the per-summary tables.
func HTML(w io.Writer, sums []records.Summary, labels []string, compare bool) error {
	names := make([]string, len(sums))
	for i := range sums {
		l := ""
		if i < len(labels) {
			l = labels[i]
		}
		names[i] = Title(&sums[i], l)
	}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bs benchmark report</title><style>")
	b.WriteString(css)
	b.WriteString("</style></head><body>\n<h1>bs benchmark report</h1>\n")
	if compare && len(sums) > 1 {
		c, err := Compare(sums, names)
		if err != nil {
			return err
		}
		b.WriteString("<h2>Comparison (baseline: " + html.EscapeString(names[0]) + ")</h2>\n<table class=\"compare\"><tr>")
		for _, h := range c.header() {
			b.WriteString("<th>" + html.EscapeString(h) + "</th>")
		}
		b.WriteString("</tr>\n")
		for i := range c.Rows {
			b.WriteString("<tr>")
			for j, cell := range c.Rows[i].cells() {
				cls := ""
				if j > 0 {
					cls = ` class="v"`
					if strings.HasSuffix(cell, " better") {
						cls = ` class="v better"`
					} else if strings.HasSuffix(cell, " worse") {
						cls = ` class="v worse"`
					}
				}
				b.WriteString("<td" + cls + ">" + html.EscapeString(cell) + "</td>")
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("</table>\n")
	} else {
		for i := range sums {
			s := &sums[i]
			b.WriteString("<h2>" + html.EscapeString(names[i]) + "</h2>\n<div class=\"row\"><table class=\"run\">")
			for _, kv := range [][2]string{
				{"Backend", s.Run.Backend}, {"Model", s.Run.Model}, {"Dataset", s.Run.DatasetName},
				{"Request rate", RequestRateString(s.Run)}, {"Max concurrency", concurrencyString(s.Run)},
				{"Inputs", strings.Join(s.Run.Inputs, ", ")}, {"Hosts", strings.Join(s.Run.Hosts, ", ")},
			} {
				if kv[1] != "" {
					b.WriteString("<tr><th>" + kv[0] + "</th><td>" + html.EscapeString(kv[1]) + "</td></tr>")
				}
			}
			b.WriteString("</table>\n<table class=\"metrics\"><tr><th>Metric</th><th>Value</th></tr>\n")
			for _, m := range Metrics(s) {
				v, ok := m.Get(s)
				if !ok || m.Unit == "ms" {
					continue
				}
				b.WriteString("<tr><td>" + html.EscapeString(m.Label) + "</td><td class=\"v\">" + fmtValue(m, v, ok) + "</td></tr>\n")
			}
			b.WriteString("</table></div>\n")
			writeDistTable(&b, s)
			for _, n := range s.Notes {
				b.WriteString("<p class=\"note\">note: " + html.EscapeString(n) + "</p>\n")
			}
		}
	}
	hasSeries := false
	for i := range sums {
		hasSeries = hasSeries || sums[i].Series != nil
	}
	if hasSeries {
		b.WriteString("<h2>Charts</h2>\n<div class=\"charts\">\n")
		for _, p := range charts(sums, names) {
			b.WriteString(p.svg())
			b.WriteString("\n")
		}
		b.WriteString("</div>\n")
	} else {
		b.WriteString("<p class=\"note\">No chart data: these summaries were made with bs-stat --no-series.</p>\n")
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeDistTable writes the latency distributions as one matrix: a row per distribution, a column per
// statistic (milliseconds).
func writeDistTable(b *strings.Builder, s *records.Summary) {
	rows := []struct {
		name string
		d    *records.Dist
	}{
		{"E2E latency", &s.E2E}, {"TTFT", &s.TTFT}, {"TPOT", &s.TPOT}, {"ITL", &s.ITL},
		{"ITL per chunk", &s.ITLChunk}, {"ITL per token", &s.ITLToken}, {"TTFT from schedule", &s.TTFTSched},
		{"E2E from schedule", &s.E2ESched}, {"Client queue time", &s.Queue},
	}
	b.WriteString("<table class=\"dists\"><tr><th>ms</th><th>count</th><th>mean</th><th>median</th><th>std</th><th>P90</th><th>P95</th><th>P99</th><th>max</th>")
	for _, q := range s.E2E.Percentiles {
		b.WriteString("<th>P" + PyPercent(q.P) + "</th>")
	}
	b.WriteString("</tr>\n")
	for _, r := range rows {
		d := r.d
		b.WriteString("<tr><td>" + r.name + "</td><td class=\"v\">" + strconv.Itoa(d.Count) + "</td>")
		for _, v := range []float64{d.Mean, d.Median, d.Std, d.P90, d.P95, d.P99, d.Max} {
			b.WriteString("<td class=\"v\">" + f2(ms(v)) + "</td>")
		}
		for _, q := range d.Percentiles {
			b.WriteString("<td class=\"v\">" + f2(ms(q.V)) + "</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
}
