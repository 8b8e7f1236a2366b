package datasets

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/bsbench/bs/pkg/records"
)

// MMMUExample is one MMMU question with its first image.
type MMMUExample struct {
	Question string
	// Image is the encoded image_1 (PNG, JPEG, …); nil when the example has none.
	Image []byte
	// Where names the source (file and row or line) for error messages.
	Where string
}

type mmmuImage struct {
	Bytes []byte  `parquet:"bytes,optional"`
	Path  *string `parquet:"path,optional"`
}

type mmmuRow struct {
	Question *string    `parquet:"question,optional"`
	Image1   *mmmuImage `parquet:"image_1,optional"`
}

// LoadMMMU reads MMMU examples from a parquet file (HF layout: question string, image_1
// struct<bytes, path>), a folder of parquet files (read in name order), or a JSON / JSONL file whose
// records have "question" and "image_1" (a path relative to the file, a data URI, or
// {"bytes": base64, "path": …}).
func LoadMMMU(path string) ([]MMMUExample, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mmmu dataset: %w", err)
	}
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		var files []string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".parquet") && strings.HasPrefix(e.Name(), "test") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("mmmu dataset: %s has no test*.parquet files", path)
		}
		sort.Strings(files)
		var out []MMMUExample
		for _, f := range files {
			ex, err := loadMMMUParquet(f)
			if err != nil {
				return nil, err
			}
			out = append(out, ex...)
		}
		return out, nil
	}
	if strings.HasSuffix(path, ".parquet") {
		return loadMMMUParquet(path)
	}
	return loadMMMUJSON(path)
}

func loadMMMUParquet(path string) ([]MMMUExample, error) {
	f, pf, cols, err := openParquet("mmmu", path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	for _, field := range []string{"question", "image_1"} {
		if _, ok := cols[field]; !ok {
			return nil, &records.DecodeError{File: path, Field: field, Err: errors.New("column missing")}
		}
	}
	rd := parquet.NewGenericReader[mmmuRow](pf)
	defer rd.Close()
	var out []MMMUExample
	buf := make([]mmmuRow, 64)
	row := 0
	for {
		n, err := rd.Read(buf)
		for i := 0; i < n; i++ {
			r := buf[i]
			ex := MMMUExample{Where: fmt.Sprintf("%s: row %d", path, row)}
			if r.Question != nil {
				ex.Question = *r.Question
			}
			if r.Image1 != nil && len(r.Image1.Bytes) > 0 {
				ex.Image = r.Image1.Bytes
			}
			out = append(out, ex)
			row++
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, row, err)
		}
	}
}

func loadMMMUJSON(path string) ([]MMMUExample, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mmmu dataset: %w", err)
	}
	type rec struct {
		raw  json.RawMessage
		line int
	}
	var recs []rec
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, &records.DecodeError{File: path, Line: 1, Err: err}
		}
		for i, r := range list {
			recs = append(recs, rec{raw: r, line: i})
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 1<<30)
		for line := 1; sc.Scan(); line++ {
			if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
				recs = append(recs, rec{raw: append(json.RawMessage(nil), l...), line: line})
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	var out []MMMUExample
	for _, r := range recs {
		fail := func(field string, err error) error {
			return &records.DecodeError{File: path, Line: r.line, Field: field, Err: err}
		}
		var v struct {
			Question *string         `json:"question"`
			Image1   json.RawMessage `json:"image_1"`
		}
		if err := json.Unmarshal(r.raw, &v); err != nil {
			return nil, fail("", err)
		}
		ex := MMMUExample{Where: fmt.Sprintf("%s:%d", path, r.line)}
		if v.Question != nil {
			ex.Question = *v.Question
		}
		img, err := mmmuJSONImage(v.Image1, filepath.Dir(path))
		if err != nil {
			return nil, fail("image_1", err)
		}
		ex.Image = img
		out = append(out, ex)
	}
	return out, nil
}

func mmmuJSONImage(raw json.RawMessage, dir string) ([]byte, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.HasPrefix(s, "data:") {
			_, data, ok := strings.Cut(s, ";base64,")
			if !ok {
				return nil, errors.New("data URI without base64 payload")
			}
			return base64.StdEncoding.DecodeString(data)
		}
		p := s
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return os.ReadFile(p)
	}
	var obj struct {
		Bytes *string `json:"bytes"`
		Path  *string `json:"path"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, errors.New("must be a path, a data URI or {\"bytes\": base64}")
	}
	if obj.Bytes != nil {
		return base64.StdEncoding.DecodeString(*obj.Bytes)
	}
	if obj.Path != nil {
		p := *obj.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return os.ReadFile(p)
	}
	return nil, nil
}

// mmmuSource resolves the MMMU input: --dataset-path, else the Math test split downloaded from
// the hub (MMMU/MMMU, Math/test-*.parquet).
func (g *gen) mmmuSource() ([]MMMUExample, error) {
	if p := g.opts.DatasetPath; p != "" {
		return LoadMMMU(p)
	}
	if g.fetch == nil {
		return nil, errors.New("mmmu: no --dataset-path given and downloads are off; pass an MMMU parquet or JSON file")
	}
	files, err := g.fetch.HubList(g.ctx, "dataset", MMMURepo, "Math")
	if err != nil {
		return nil, err
	}
	var out []MMMUExample
	for _, f := range files {
		if !strings.HasPrefix(filepath.Base(f), "test") || !strings.HasSuffix(f, ".parquet") {
			continue
		}
		p, err := g.fetch.HubFile(g.ctx, "dataset", MMMURepo, f)
		if err != nil {
			return nil, err
		}
		ex, err := loadMMMUParquet(p)
		if err != nil {
			return nil, err
		}
		out = append(out, ex...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("mmmu: the hub repo %s has no Math/test*.parquet files", MMMURepo)
	}
	return out, nil
}

// mmmu generates the mmmu dataset (the reference's sample_mmmu_requests): when there are more
// examples than --num-prompts, random.sample picks that many (Python stream), in sampled order;
// each example with an image_1 becomes "Question: {question}\n\nAnswer: " with the image
// (RGBA converted to RGB, re-encoded as PNG) and output_len --random-output-len.
func (g *gen) mmmu() ([]records.Prompt, error) {
	all, err := g.mmmuSource()
	if err != nil {
		return nil, err
	}
	sel := all
	if n := g.opts.NumPrompts; len(all) > n {
		idx := g.rng.Py.Sample(len(all), n)
		sel = make([]MMMUExample, n)
		for i, k := range idx {
			sel[i] = all[k]
		}
	}
	type res struct {
		p    records.Prompt
		keep bool
	}
	rs := make([]res, len(sel))
	err = parallelFor(g.opts.Workers, len(sel), func(i int) error {
		ex := sel[i]
		if ex.Image == nil {
			return nil
		}
		im, err := mmmuImagePNG(ex.Image)
		if err != nil {
			return fmt.Errorf("%s: image_1: %w", ex.Where, err)
		}
		p, err := g.mmPrompt("Question: "+ex.Question+"\n\nAnswer: ", []imageInfo{im}, g.opts.RandomOutputLen)
		if err != nil {
			return fmt.Errorf("%s: %w", ex.Where, err)
		}
		rs[i] = res{p: p, keep: true}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []records.Prompt
	for _, r := range rs {
		if r.keep {
			out = append(out, r.p)
		}
	}
	if skipped := len(sel) - len(out); skipped > 0 {
		g.logf("Skipped %d MMMU examples without image_1\n", skipped)
	}
	g.logf("Created %d MMMU prompts\n", len(out))
	return out, nil
}

// mmmuImagePNG decodes an image, drops any alpha channel (PIL's convert("RGB")) and re-encodes it as PNG.
func mmmuImagePNG(b []byte) (imageInfo, error) {
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return imageInfo{}, fmt.Errorf("decoding image: %w", err)
	}
	if hasAlpha(img) {
		r := img.Bounds()
		rgb := image.NewRGBA(r)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				rgb.SetRGBA(x, y, color.RGBA{c.R, c.G, c.B, 255})
			}
		}
		img = rgb
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return imageInfo{}, fmt.Errorf("encoding PNG: %w", err)
	}
	r := img.Bounds()
	return imageInfo{uri: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), height: r.Dy(), width: r.Dx()}, nil
}

func hasAlpha(img image.Image) bool {
	switch img.(type) {
	case *image.NRGBA, *image.RGBA, *image.NRGBA64, *image.RGBA64:
		return true
	}
	return false
}

// openParquet opens a dataset's parquet file and returns its top-level columns by name; the caller
// closes the file.
func openParquet(dataset, path string) (*os.File, *parquet.File, map[string]parquet.Field, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s dataset: %w", dataset, err)
	}
	st, err := f.Stat()
	if err == nil {
		var pf *parquet.File
		if pf, err = parquet.OpenFile(f, st.Size()); err == nil {
			cols := map[string]parquet.Field{}
			for _, fld := range pf.Schema().Fields() {
				cols[fld.Name()] = fld
			}
			return f, pf, cols, nil
		}
		err = fmt.Errorf("%s: not a parquet file: %w", path, err)
	}
	f.Close()
	return nil, nil, nil, err
}
