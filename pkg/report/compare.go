package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bsbench/bs/pkg/records"
)

// Comparison is a side-by-side table of summaries: the first is the baseline, every other one gets
// its absolute and relative difference from it.
type Comparison struct {
	Labels []string          `json:"labels"`
	Rows   []ComparisonRow   `json:"rows"`
	sums   []records.Summary `json:"-"`
}

// ComparisonRow is one metric across the compared summaries. Values[i] is nil when summary i has no
// value; Delta[i] and Pct[i] compare summary i+1 with the baseline (Pct nil when the baseline is 0).
type ComparisonRow struct {
	Key    string     `json:"key"`
	Label  string     `json:"label"`
	Dir    int        `json:"better"` // -1 lower is better, +1 higher is better, 0 neither
	Values []*float64 `json:"values"`
	Delta  []*float64 `json:"delta"`
	Pct    []*float64 `json:"pct"`
	m      Metric
}

// Compare builds the comparison of sums (at least two), labelled by labels.
func Compare(sums []records.Summary, labels []string) (*Comparison, error) {
	if len(sums) < 2 {
		return nil, fmt.Errorf("--compare needs at least two summaries, got %d", len(sums))
	}
	c := &Comparison{Labels: labels, sums: sums}
	for _, m := range Metrics(&sums[0]) {
		r := ComparisonRow{Key: m.Key, Label: m.Label, Dir: m.Dir, m: m}
		any := false
		for i := range sums {
			v, ok := m.Get(&sums[i])
			if !ok {
				r.Values = append(r.Values, nil)
				continue
			}
			any = true
			r.Values = append(r.Values, &v)
		}
		if !any {
			continue
		}
		base := r.Values[0]
		for _, v := range r.Values[1:] {
			if base == nil || v == nil {
				r.Delta, r.Pct = append(r.Delta, nil), append(r.Pct, nil)
				continue
			}
			d := *v - *base
			r.Delta = append(r.Delta, &d)
			if *base == 0 {
				r.Pct = append(r.Pct, nil)
				continue
			}
			p := d / *base * 100
			r.Pct = append(r.Pct, &p)
		}
		c.Rows = append(c.Rows, r)
	}
	return c, nil
}

func (r *ComparisonRow) cells() []string {
	out := []string{r.Label}
	for i, v := range r.Values {
		if v == nil {
			out = append(out, "n/a")
		} else {
			out = append(out, fmtValue(r.m, *v, true))
		}
		if i == 0 {
			continue
		}
		d, p := r.Delta[i-1], r.Pct[i-1]
		if d == nil {
			out = append(out, "n/a", "n/a")
			continue
		}
		sign := "+"
		if *d < 0 {
			sign = ""
		}
		out = append(out, sign+fmtValue(r.m, *d, true))
		if p == nil {
			out = append(out, "n/a")
		} else {
			mark := ""
			if *d != 0 && r.Dir != 0 {
				better := (*d < 0) == (r.Dir < 0)
				if better {
					mark = " better"
				} else {
					mark = " worse"
				}
			}
			out = append(out, fmt.Sprintf("%+.1f%%%s", *p, mark))
		}
	}
	return out
}

func (c *Comparison) header() []string {
	h := []string{"Metric"}
	for i, l := range c.Labels {
		h = append(h, l)
		if i > 0 {
			h = append(h, "Δ "+l, "Δ% "+l)
		}
	}
	return h
}

// WriteText writes the comparison as an aligned text table.
func (c *Comparison) WriteText(w io.Writer) error {
	table := [][]string{c.header()}
	for i := range c.Rows {
		table = append(table, c.Rows[i].cells())
	}
	widths := make([]int, len(table[0]))
	for _, row := range table {
		for j, cell := range row {
			widths[j] = max(widths[j], len([]rune(cell)))
		}
	}
	l := &lineWriter{w: w}
	for k, row := range table {
		var b strings.Builder
		for j, cell := range row {
			pad := widths[j] - len([]rune(cell))
			if j == 0 {
				b.WriteString(cell + strings.Repeat(" ", pad))
			} else {
				b.WriteString("  " + strings.Repeat(" ", pad) + cell)
			}
		}
		l.line(strings.TrimRight(b.String(), " "))
		if k == 0 {
			total := 0
			for _, wd := range widths {
				total += wd + 2
			}
			l.line(strings.Repeat("-", total-2))
		}
	}
	return l.err
}

// WriteMarkdown writes the comparison as a Markdown table.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	l := &lineWriter{w: w}
	h := c.header()
	l.line("| " + strings.Join(mapStrings(h, mdEscape), " | ") + " |")
	sep := []string{"---"}
	for range h[1:] {
		sep = append(sep, "---:")
	}
	l.line("| " + strings.Join(sep, " | ") + " |")
	for i := range c.Rows {
		l.line("| " + strings.Join(mapStrings(c.Rows[i].cells(), mdEscape), " | ") + " |")
	}
	return l.err
}

// WriteCSV writes the comparison with full-precision numbers.
func (c *Comparison) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	h := []string{"key"}
	for i, l := range c.Labels {
		h = append(h, l)
		if i > 0 {
			h = append(h, "delta "+l, "pct "+l)
		}
	}
	if err := cw.Write(h); err != nil {
		return err
	}
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'g', -1, 64)
	}
	for _, r := range c.Rows {
		rec := []string{r.Key}
		for i, v := range r.Values {
			rec = append(rec, num(v))
			if i > 0 {
				rec = append(rec, num(r.Delta[i-1]), num(r.Pct[i-1]))
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the comparison as one JSON object.
func (c *Comparison) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	return enc.Encode(c)
}

func mapStrings(xs []string, f func(string) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
