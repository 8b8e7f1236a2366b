package datasets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	_ "image/gif" // decoders for custom/mmmu images

	"github.com/bsbench/bs/pkg/records"
)

// Resolution is a parsed --image-resolution: a fixed size, or random bounds.
type Resolution struct {
	MinWidth, MinHeight int
	MaxWidth, MaxHeight int
	Random              bool
}

var resolutionPresets = map[string][2]int{ // width, height
	"4k": {3840, 2160}, "1080p": {1920, 1080}, "720p": {1280, 720}, "360p": {640, 360},
}

func parseFixedResolution(s string) (w, h int, err error) {
	if p, ok := resolutionPresets[s]; ok {
		return p[0], p[1], nil
	}
	res := strings.ToLower(strings.TrimSpace(s))
	if a, b, ok := strings.Cut(res, "x"); ok && !strings.Contains(b, "x") && isDigits(a) && isDigits(b) {
		hh, _ := strconv.Atoi(a)
		ww, _ := strconv.Atoi(b)
		if hh > 0 && ww > 0 {
			return ww, hh, nil
		}
	}
	return 0, 0, fmt.Errorf("--image-resolution %q: unsupported image resolution; choose from 4k, 1080p, 720p, 360p, "+
		"a custom 'heightxwidth' (e.g. 1080x1920), or 'random:<min_h>x<min_w>-<max_h>x<max_w>'", s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ParseImageResolution parses --image-resolution: presets 4k, 1080p, 720p, 360p, a custom
// HEIGHTxWIDTH (height first, as in the reference), or random:<min_h>x<min_w>-<max_h>x<max_w>.
func ParseImageResolution(s string) (Resolution, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToLower(t), "random:") {
		lo, hi, ok := strings.Cut(t[len("random:"):], "-")
		if !ok {
			return Resolution{}, fmt.Errorf("--image-resolution %q: random image resolution must be "+
				"'random:<min_h>x<min_w>-<max_h>x<max_w>', for example 'random:256x256-1024x1024'", s)
		}
		w0, h0, err := parseFixedResolution(lo)
		if err != nil {
			return Resolution{}, err
		}
		w1, h1, err := parseFixedResolution(hi)
		if err != nil {
			return Resolution{}, err
		}
		if w0 > w1 || h0 > h1 {
			return Resolution{}, fmt.Errorf("--image-resolution %q: random image resolution minimum cannot exceed maximum", s)
		}
		return Resolution{MinWidth: w0, MinHeight: h0, MaxWidth: w1, MaxHeight: h1, Random: true}, nil
	}
	w, h, err := parseFixedResolution(t)
	if err != nil {
		return Resolution{}, err
	}
	return Resolution{MinWidth: w, MinHeight: h, MaxWidth: w, MaxHeight: h}, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// image generates the image dataset (the reference's sample_image_requests). Draw order: image
// counts (with --random-image-count), input lengths, output lengths (NumPy); then per prompt the
// text ids (random.choices over the vocabulary without special ids and the image token) and per
// image its size (random resolution: width then height) and pixels (numpy.random.rand(h, w, 3)).
// Pixels are byte-identical to the reference's arrays; the JPEG/PNG files are Go's encodings of
// them, so their bytes differ from PIL's.
func (g *gen) image() ([]records.Prompt, error) {
	o := g.opts
	n := o.NumPrompts
	res, err := ParseImageResolution(o.ImageResolution)
	if err != nil {
		return nil, err
	}
	counts := make([]int, n)
	if o.RandomImageCount {
		for i, c := range g.rng.NP.Randint(1, int64(o.ImageCount)+1, n) {
			counts[i] = int(c)
		}
	} else {
		for i := range counts {
			counts[i] = o.ImageCount
		}
	}
	inLens := RandomLens(g.rng.NP, o.RandomInputLen, o.RandomRangeRatio, n)
	outLens := RandomLens(g.rng.NP, o.RandomOutputLen, o.RandomRangeRatio, n)
	avail := g.mmTextIDs()
	if len(avail) == 0 {
		return nil, fmt.Errorf("image dataset: the tokenizer has no usable text tokens")
	}

	prompts := make([]records.Prompt, n)
	textIDs := make([][]int, n)
	images := make([][]imageInfo, n)
	var blank sync.Map // "WxH" -> data URI
	// Random draws stay sequential; encoding each image runs on a worker, bounded so that at most
	// a few pixel arrays are in memory at once.
	type job struct {
		i, k   int
		pixels []float64
		w, h   int
	}
	jobs := make(chan job, 2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	workers := o.Workers
	if workers <= 0 {
		workers = 2
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				uri, err := g.encodeImage(j.pixels, j.w, j.h, &blank)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				images[j.i][j.k] = imageInfo{uri: uri, height: j.h, width: j.w}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		idx := g.rng.Py.Choices(len(avail), inLens[i])
		textIDs[i] = make([]int, len(idx))
		for j, k := range idx {
			textIDs[i][j] = avail[k]
		}
		images[i] = make([]imageInfo, counts[i])
		for k := 0; k < counts[i]; k++ {
			w, h := res.MinWidth, res.MinHeight
			if res.Random {
				w = int(g.rng.NP.Randint(int64(res.MinWidth), int64(res.MaxWidth)+1, 1)[0])
				h = int(g.rng.NP.Randint(int64(res.MinHeight), int64(res.MaxHeight)+1, 1)[0])
			}
			var px []float64
			if o.ImageContent != "blank" {
				px = g.rng.NP.RandomSample(h * w * 3)
			}
			jobs <- job{i: i, k: k, pixels: px, w: w, h: h}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	err = parallelFor(o.Workers, n, func(i int) error {
		text, err := g.randomText(textIDs[i])
		if err != nil {
			return err
		}
		p, err := g.mmPrompt(text, images[i], outLens[i])
		if err != nil {
			return err
		}
		prompts[i] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	vision := 0
	for i := range prompts {
		vision += prompts[i].VisionPromptLen
	}
	g.logf("#Input tokens: %d\n#Output tokens: %d\n#Total images: %d\nVision tokens (estimated): %d\n",
		sumPromptLen(prompts), sumOutputLen(prompts), total, vision)
	return prompts, nil
}

// mmTextIDs are the reference's text ids for multimodal prompts: the sorted vocabulary ids without
// the special ids and the image token id.
func (g *gen) mmTextIDs() []int {
	excl := map[int]bool{}
	for _, id := range g.tok.SpecialIDs() {
		excl[id] = true
	}
	if id, ok := g.tok.TokenID(g.opts.Vision.ImageToken); ok {
		excl[id] = true
	}
	n := g.tok.FullVocabSize()
	out := make([]int, 0, n)
	for id := 0; id < n; id++ {
		if !excl[id] {
			out = append(out, id)
		}
	}
	return out
}

// encodeImage turns pixel values (h×w×3 doubles in [0,1), nil for blank white) into a data URI.
func (g *gen) encodeImage(px []float64, w, h int, blank *sync.Map) (string, error) {
	key := fmt.Sprintf("%dx%d", w, h)
	if px == nil {
		if u, ok := blank.Load(key); ok {
			return u.(string), nil
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	if px == nil {
		for i := range img.Pix {
			img.Pix[i] = 255
		}
	} else {
		for p := 0; p < w*h; p++ {
			img.Pix[4*p] = uint8(px[3*p] * 255)
			img.Pix[4*p+1] = uint8(px[3*p+1] * 255)
			img.Pix[4*p+2] = uint8(px[3*p+2] * 255)
			img.Pix[4*p+3] = 255
		}
	}
	var buf bytes.Buffer
	var err error
	if g.opts.ImageFormat == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	}
	if err != nil {
		return "", fmt.Errorf("encoding a %s image: %w", g.opts.ImageFormat, err)
	}
	uri := "data:image/" + g.opts.ImageFormat + ";base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
	if px == nil {
		blank.Store(key, uri)
	}
	return uri, nil
}

// imageFromBytes decodes image bytes for their size and returns a data URI. With reencodePNG the
// image is re-encoded as PNG (the reference's MMMU rows); otherwise the bytes are kept with mime.
func imageFromBytes(b []byte, mimeType string, reencodePNG bool) (imageInfo, error) {
	if reencodePNG {
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			return imageInfo{}, fmt.Errorf("decoding image: %w", err)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return imageInfo{}, fmt.Errorf("encoding PNG: %w", err)
		}
		r := img.Bounds()
		return imageInfo{uri: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
			height: r.Dy(), width: r.Dx()}, nil
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return imageInfo{}, fmt.Errorf("decoding image: %w", err)
	}
	return imageInfo{uri: "data:" + mimeType + ";base64," + base64.StdEncoding.EncodeToString(b),
		height: cfg.Height, width: cfg.Width}, nil
}

// attachImage turns a custom-dataset row with an "image" path into a multimodal prompt.
func (g *gen) attachImage(p *records.Prompt, pr pair, prompt string) error {
	path := pr.image
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(g.opts.DatasetPath), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return &records.DecodeError{File: g.opts.DatasetPath, Line: pr.line, Field: "image", Err: err}
	}
	mt := mime.TypeByExtension(strings.ToLower(filepath.Ext(path)))
	if mt == "" {
		mt = "application/octet-stream"
	}
	im, err := imageFromBytes(b, mt, false)
	if err != nil {
		return &records.DecodeError{File: g.opts.DatasetPath, Line: pr.line, Field: "image", Err: fmt.Errorf("%s: %w", path, err)}
	}
	text := strings.ReplaceAll(prompt, "<image 1>", "")
	np, err := g.mmPrompt(text, []imageInfo{im}, p.OutputLen)
	if err != nil {
		return err
	}
	*p = np
	return nil
}
