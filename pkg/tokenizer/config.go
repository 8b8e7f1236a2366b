package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// DefaultTemplateName is the name of the chat template used when a model
// ships several named templates and none is asked for (as in transformers).
const DefaultTemplateName = "default"

// Config is the part of a model's tokenizer_config.json (and
// chat_template.jinja) that bs uses.
type Config struct {
	// ChatTemplate is the default Jinja chat template: the string form of
	// "chat_template", the template named "default" of the list form, or the
	// content of chat_template.jinja when that file exists (it takes
	// precedence, as in transformers). Empty when the model has none.
	ChatTemplate string
	// ChatTemplates holds every named template of the list form
	// ([{"name": ..., "template": ...}]) and of additional_chat_templates/*.jinja,
	// plus ChatTemplate under "default" when there is one. Nil when there is none.
	ChatTemplates map[string]string
	// BOSToken and EOSToken are the configured token strings ("" when null or
	// absent). The AddedToken object form ({"content": ...}) is accepted.
	BOSToken string
	EOSToken string
	// AddBOSToken and AddEOSToken are the "add_bos_token"/"add_eos_token"
	// flags, nil when absent. Informational: Encode follows the
	// tokenizer.json post-processor, which is what transformers 5 does for
	// tokenizer.json-backed tokenizers (see the package comment).
	AddBOSToken *bool
	AddEOSToken *bool
	// TokenizerClass is "tokenizer_class" (e.g. "Qwen2Tokenizer").
	TokenizerClass string
}

// TemplateNames returns the sorted names of the available chat templates.
func (c Config) TemplateNames() []string {
	names := make([]string, 0, len(c.ChatTemplates))
	for n := range c.ChatTemplates {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Template returns the chat template called name ("" means the default one).
func (c Config) Template(name string) (string, error) {
	if name == "" || name == DefaultTemplateName {
		if c.ChatTemplate == "" {
			if len(c.ChatTemplates) > 0 {
				return "", fmt.Errorf("no default chat template; named templates: %v", c.TemplateNames())
			}
			return "", errors.New("the tokenizer has no chat template")
		}
		return c.ChatTemplate, nil
	}
	t, ok := c.ChatTemplates[name]
	if !ok {
		return "", fmt.Errorf("no chat template named %q; available: %v", name, c.TemplateNames())
	}
	return t, nil
}

type rawConfig struct {
	ChatTemplate   json.RawMessage `json:"chat_template"`
	BOSToken       json.RawMessage `json:"bos_token"`
	EOSToken       json.RawMessage `json:"eos_token"`
	AddBOSToken    *bool           `json:"add_bos_token"`
	AddEOSToken    *bool           `json:"add_eos_token"`
	TokenizerClass string          `json:"tokenizer_class"`
}

// tokenString decodes a special-token field: null, "<s>" or {"content": "<s>", ...}.
func tokenString(raw json.RawMessage, field string) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return "", fmt.Errorf("field %q: want a string, null or an object with \"content\", got %s", field, truncate(string(raw), 80))
	}
	return *obj.Content, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// parseChatTemplate decodes "chat_template": a string, or a list of
// {"name", "template"} objects.
func parseChatTemplate(raw json.RawMessage) (string, map[string]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil, nil
	}
	var list []struct {
		Name     *string `json:"name"`
		Template *string `json:"template"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", nil, fmt.Errorf("field \"chat_template\": want a string or a list of {\"name\", \"template\"} objects: %v", err)
	}
	named := make(map[string]string, len(list))
	for i, e := range list {
		if e.Name == nil || e.Template == nil {
			return "", nil, fmt.Errorf("field \"chat_template\"[%d]: want both \"name\" and \"template\"", i)
		}
		named[*e.Name] = *e.Template
	}
	return named[DefaultTemplateName], named, nil
}

// LoadConfig reads tokenizer_config.json from dir (absent file: zero Config)
// and chat_template.jinja / additional_chat_templates/*.jinja when present.
func LoadConfig(dir string) (Config, error) {
	var cfg Config
	path := filepath.Join(dir, "tokenizer_config.json")
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return cfg, fmt.Errorf("read %s: %w", path, err)
	default:
		var raw rawConfig
		if err := json.Unmarshal(data, &raw); err != nil {
			return cfg, fmt.Errorf("%s: %w", path, jsonErrorContext(data, err))
		}
		if cfg.ChatTemplate, cfg.ChatTemplates, err = parseChatTemplate(raw.ChatTemplate); err != nil {
			return cfg, fmt.Errorf("%s: %w", path, err)
		}
		if cfg.BOSToken, err = tokenString(raw.BOSToken, "bos_token"); err != nil {
			return cfg, fmt.Errorf("%s: %w", path, err)
		}
		if cfg.EOSToken, err = tokenString(raw.EOSToken, "eos_token"); err != nil {
			return cfg, fmt.Errorf("%s: %w", path, err)
		}
		cfg.AddBOSToken, cfg.AddEOSToken = raw.AddBOSToken, raw.AddEOSToken
		cfg.TokenizerClass = raw.TokenizerClass
	}

	// Separate template files, as saved by newer transformers.
	jinja := filepath.Join(dir, "chat_template.jinja")
	if b, err := os.ReadFile(jinja); err == nil {
		cfg.ChatTemplate = string(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return cfg, fmt.Errorf("read %s: %w", jinja, err)
	}
	extra, _ := filepath.Glob(filepath.Join(dir, "additional_chat_templates", "*.jinja"))
	for _, p := range extra {
		b, err := os.ReadFile(p)
		if err != nil {
			return cfg, fmt.Errorf("read %s: %w", p, err)
		}
		if cfg.ChatTemplates == nil {
			cfg.ChatTemplates = map[string]string{}
		}
		name := filepath.Base(p)
		cfg.ChatTemplates[name[:len(name)-len(".jinja")]] = string(b)
	}
	if cfg.ChatTemplate != "" && cfg.ChatTemplates != nil {
		cfg.ChatTemplates[DefaultTemplateName] = cfg.ChatTemplate
	}
	return cfg, nil
}

// jsonErrorContext adds the line and column of a JSON syntax or type error.
func jsonErrorContext(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}
