package tokenize

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// fileJSON is the subset of the Hugging Face tokenizer.json format that
// bertbench reads. Components are kept raw so that each can be checked for
// its "type" before being decoded.
type fileJSON struct {
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Padding       *paddingJSON     `json:"padding"`
	Model         json.RawMessage  `json:"model"`
}

type addedTokenJSON struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type paddingJSON struct {
	PadID *int32 `json:"pad_id"`
}

type typeJSON struct {
	Type string `json:"type"`
}

type bertNormalizerJSON struct {
	CleanText          *bool `json:"clean_text"`
	HandleChineseChars *bool `json:"handle_chinese_chars"`
	StripAccents       *bool `json:"strip_accents"`
	Lowercase          *bool `json:"lowercase"`
}

type byteLevelJSON struct {
	AddPrefixSpace *bool `json:"add_prefix_space"`
	UseRegex       *bool `json:"use_regex"`
}

type wordPieceJSON struct {
	UnkToken                string           `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	MaxInputCharsPerWord    *int             `json:"max_input_chars_per_word"`
	Vocab                   map[string]int32 `json:"vocab"`
}

type bpeJSON struct {
	Dropout                 *float64         `json:"dropout"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Vocab                   map[string]int32 `json:"vocab"`
	Merges                  json.RawMessage  `json:"merges"`
}

type templateJSON struct {
	Single        []templatePieceJSON            `json:"single"`
	SpecialTokens map[string]templateSpecialJSON `json:"special_tokens"`
}

type templatePieceJSON struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

type templateSpecialJSON struct {
	IDs []int32 `json:"ids"`
}

// robertaJSON also describes BertProcessing: both hold [token, id] pairs.
type robertaJSON struct {
	Sep [2]json.RawMessage `json:"sep"`
	Cls [2]json.RawMessage `json:"cls"`
}

// componentType returns the "type" of a component, "" for a JSON null or an
// absent component.
func componentType(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var t typeJSON
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", err
	}
	if t.Type == "" {
		return "", fmt.Errorf("no \"type\" field")
	}
	return t.Type, nil
}

// boolOr returns *b, or def when b is nil.
func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// parseMerges reads BPE merges in either format Hugging Face writes: a list
// of "a b" strings (older files) or a list of ["a", "b"] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("model.merges: %w", err)
	}
	out := make([][2]string, 0, len(items))
	for i, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return nil, fmt.Errorf("model.merges[%d]: %q is not two tokens separated by one space", i, s)
			}
			out = append(out, [2]string{a, b})
			continue
		}
		var pair []string
		if err := json.Unmarshal(it, &pair); err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("model.merges[%d]: want \"a b\" or [\"a\", \"b\"], got %s", i, truncateForError(string(it)))
		}
		out = append(out, [2]string{pair[0], pair[1]})
	}
	return out, nil
}

// parseTokenIDPair decodes a ["token", id] pair of RobertaProcessing or
// BertProcessing.
func parseTokenIDPair(field string, pair [2]json.RawMessage) (int32, error) {
	var id int32
	if len(pair[1]) == 0 {
		return 0, fmt.Errorf("post_processor.%s: missing [token, id] pair", field)
	}
	if err := json.Unmarshal(pair[1], &id); err != nil {
		return 0, fmt.Errorf("post_processor.%s: id: %w", field, err)
	}
	return id, nil
}

// parseTemplate returns the ids a TemplateProcessing "single" template puts
// before and after the sequence $A.
func parseTemplate(raw json.RawMessage) (prefix, suffix []int32, err error) {
	var tpl templateJSON
	if err := json.Unmarshal(raw, &tpl); err != nil {
		return nil, nil, fmt.Errorf("post_processor: %w", err)
	}
	seenA := false
	for i, p := range tpl.Single {
		switch {
		case p.Sequence != nil:
			if p.Sequence.ID != "A" || seenA {
				return nil, nil, fmt.Errorf("post_processor.single[%d]: only one sequence $A is supported, got %q", i, p.Sequence.ID)
			}
			seenA = true
		case p.SpecialToken != nil:
			st, ok := tpl.SpecialTokens[p.SpecialToken.ID]
			if !ok {
				return nil, nil, fmt.Errorf("post_processor.single[%d]: special token %q is not in special_tokens", i, p.SpecialToken.ID)
			}
			if seenA {
				suffix = append(suffix, st.IDs...)
			} else {
				prefix = append(prefix, st.IDs...)
			}
		default:
			return nil, nil, fmt.Errorf("post_processor.single[%d]: neither SpecialToken nor Sequence", i)
		}
	}
	if !seenA {
		return nil, nil, fmt.Errorf("post_processor.single: template has no $A sequence")
	}
	return prefix, suffix, nil
}

// truncateForError shortens s for use in an error message.
func truncateForError(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

type unigramJSON struct {
	UnkID        *int32   `json:"unk_id"`
	Vocab        [][2]any `json:"vocab"`
	ByteFallback bool     `json:"byte_fallback"`
}

type metaspaceJSON struct {
	Replacement    *string `json:"replacement"`
	PrependScheme  *string `json:"prepend_scheme"`
	AddPrefixSpace *bool   `json:"add_prefix_space"`
	Split          *bool   `json:"split"`
}

type normalizerJSON struct {
	Type                string            `json:"type"`
	PrecompiledCharsmap *string           `json:"precompiled_charsmap"`
	Normalizers         []json.RawMessage `json:"normalizers"`
	Pattern             *struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	} `json:"pattern"`
	Content *string `json:"content"`
}

// parseUnigram reads a SentencePiece-style tokenizer: Unigram model,
// Metaspace pre-tokenizer, and Precompiled and Replace normalizers (alone or
// in a Sequence).
func parseUnigram(f fileJSON, normType, preType string) (*unigram, error) {
	var m unigramJSON
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	switch {
	case m.ByteFallback:
		return nil, errors.New("model.byte_fallback is not supported for Unigram")
	case len(m.Vocab) == 0:
		return nil, errors.New("model.vocab is empty")
	case m.UnkID == nil:
		return nil, errors.New("model.unk_id is missing: a Unigram model without an unknown token is not supported")
	}
	u, err := newUnigram(m.Vocab, *m.UnkID)
	if err != nil {
		return nil, err
	}
	if preType != "Metaspace" {
		return nil, fmt.Errorf("pre_tokenizer %s is not supported with Unigram (supported: Metaspace)", quoteType(preType))
	}
	var ms metaspaceJSON
	if err := json.Unmarshal(f.PreTokenizer, &ms); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	u.replacement = "▁"
	if ms.Replacement != nil {
		if utf8.RuneCountInString(*ms.Replacement) != 1 {
			return nil, fmt.Errorf("pre_tokenizer.replacement %q is not one character", *ms.Replacement)
		}
		u.replacement = *ms.Replacement
	}
	u.prependScheme = "always"
	switch {
	case ms.PrependScheme != nil:
		u.prependScheme = *ms.PrependScheme
	case ms.AddPrefixSpace != nil && !*ms.AddPrefixSpace:
		u.prependScheme = "never"
	}
	if p := u.prependScheme; p != "always" && p != "first" && p != "never" {
		return nil, fmt.Errorf("pre_tokenizer.prepend_scheme %q is not one of always, first, never", p)
	}
	u.split = boolOr(ms.Split, true)
	if normType != "" {
		if err := u.addNormalizer(f.Normalizer, "normalizer"); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// addNormalizer adds a Precompiled, Replace or Sequence normalizer.
func (u *unigram) addNormalizer(raw json.RawMessage, where string) error {
	var n normalizerJSON
	if err := json.Unmarshal(raw, &n); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	switch n.Type {
	case "Sequence":
		for i, sub := range n.Normalizers {
			if err := u.addNormalizer(sub, fmt.Sprintf("%s.normalizers[%d]", where, i)); err != nil {
				return err
			}
		}
		return nil
	case "Precompiled":
		if n.PrecompiledCharsmap == nil || *n.PrecompiledCharsmap == "" {
			// Hugging Face treats an empty charsmap as no normalization.
			return nil
		}
		p, err := newPrecompiled(*n.PrecompiledCharsmap)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		u.normalizers = append(u.normalizers, p)
		return nil
	case "Replace":
		if n.Pattern == nil || n.Content == nil {
			return fmt.Errorf("%s: Replace needs pattern and content", where)
		}
		r := &replaceNormalizer{content: *n.Content}
		switch {
		case n.Pattern.String != nil && *n.Pattern.String != "":
			r.literal = *n.Pattern.String
		case n.Pattern.Regex != nil:
			re, err := regexp.Compile(*n.Pattern.Regex)
			if err != nil {
				return fmt.Errorf("%s: Replace pattern: %w", where, err)
			}
			r.re = re
		default:
			return fmt.Errorf("%s: Replace pattern is empty", where)
		}
		u.normalizers = append(u.normalizers, r)
		return nil
	default:
		return fmt.Errorf("%s %s is not supported with Unigram (supported: Precompiled, Replace, Sequence)", where, quoteType(n.Type))
	}
}
