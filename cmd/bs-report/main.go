// Command bs-report formats summary streams (bs-stat output): the reference benchmark's console block
// (default), JSON, CSV, Markdown or a self-contained HTML page with charts; --compare puts two or more
// summaries side by side; --output-file appends the reference's JSONL result line.
//
//	bs-stat events.jsonl | bs-report
//	bs-report --compare before.json after.json --format markdown
//
// Exit status: 0 on success, 1 when an input cannot be read or the output cannot be written, 2 on
// invalid flags.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bscli "github.com/bsbench/bs/pkg/cli"

	"github.com/alecthomas/kong"

	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/report"
)

const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

type cli struct {
	Files []string `arg:"" optional:"" name:"summaries" help:"Summary streams (bs-stat output; plain, .zst or .gz); '-' or none reads standard input."`

	Format        string `enum:"console,json,csv,markdown,html" default:"console" help:"Report format: ${enum}. console is the reference's result block, byte for byte."`
	Output        string `short:"o" default:"-" placeholder:"FILE" help:"Where the report goes ('-' = stdout)."`
	Compare       bool   `help:"Compare the summaries side by side (the first is the baseline): absolute and % differences."`
	OutputFile    string `name:"output-file" placeholder:"FILE" help:"Also append the reference's JSONL result line per summary to FILE; 'auto' names it as the reference does."`
	OutputDetails bool   `name:"output-details" help:"With --output-file: add the per-request arrays (needs bs-stat --details)."`

	Version kong.VersionFlag `help:"Print the version and exit."`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var c cli
	if code, ok := bscli.Parse("bs-report", "Format bs-stat summaries: the reference's console block, JSON, CSV, Markdown, HTML, comparisons.",
		&c, args, stdout, stderr, nil); !ok {
		return code
	}
	if c.OutputDetails && c.OutputFile == "" {
		fmt.Fprintln(stderr, "bs-report: --output-details needs --output-file")
		return exitUsage
	}
	if err := reportRun(&c, stdout); err != nil {
		fmt.Fprintln(stderr, "bs-report:", err)
		return exitError
	}
	return exitOK
}

// readSummaries reads every summary of the inputs, with a label per summary (its file name when
// several files are read).
func readSummaries(files []string) ([]records.Summary, []string, error) {
	if len(files) == 0 {
		files = []string{records.Stdio}
	}
	var sums []records.Summary
	var labels []string
	for _, f := range files {
		got, err := records.NewReader[records.Summary](records.StreamSummary, f).All()
		if err != nil {
			return nil, nil, err
		}
		label := ""
		if len(files) > 1 {
			label = filepath.Base(f)
		}
		for range got {
			labels = append(labels, label)
		}
		sums = append(sums, got...)
	}
	if len(sums) == 0 {
		return nil, nil, fmt.Errorf("no summary in %v (is it bs-stat output?)", files)
	}
	return sums, labels, nil
}

func reportRun(c *cli, stdout io.Writer) (err error) {
	sums, labels, err := readSummaries(c.Files)
	if err != nil {
		return err
	}
	if c.OutputFile != "" {
		name, err := report.AppendResults(c.OutputFile, sums, c.OutputDetails, time.Now())
		if err != nil {
			return fmt.Errorf("--output-file %s: %w", name, err)
		}
	}
	var w io.Writer = stdout
	if c.Output != records.Stdio {
		f, err := os.Create(c.Output)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	if c.Compare {
		if c.Format == "html" {
			return report.HTML(w, sums, labels, true)
		}
		names := make([]string, len(sums))
		for i := range sums {
			names[i] = report.Title(&sums[i], labels[i])
		}
		cmp, err := report.Compare(sums, names)
		if err != nil {
			return err
		}
		switch c.Format {
		case "json":
			return cmp.WriteJSON(w)
		case "csv":
			return cmp.WriteCSV(w)
		case "markdown":
			return cmp.WriteMarkdown(w)
		}
		return cmp.WriteText(w)
	}
	switch c.Format {
	case "json":
		return report.JSON(w, sums)
	case "csv":
		return report.CSV(w, sums, labels)
	case "markdown":
		return report.Markdown(w, sums)
	case "html":
		return report.HTML(w, sums, labels, false)
	}
	for i := range sums {
		if err := report.Console(w, &sums[i]); err != nil {
			return err
		}
	}
	return nil
}
