// Package outputcheck looks at a model's output before it is scored and
// flags what would make its score mean something else than translation
// quality: an empty output, a failed call, an answer in the wrong language
// (by the share of the target language's script), and an input or output
// cut by the context window or the token limit.
//
// Flags are facts stored beside the output (package store) and shown in
// summaries; a flagged output is still kept and still scored, never
// silently dropped. The language check is a script check, not language
// identification: for a Chinese target it measures the share of Han
// characters, for an English-like target the share of Latin words, and it
// flags the output when that share is below MinShare.
//
// # Examples
//
//	rep := outputcheck.Check(res, "zh")
//	if rep.Has(outputcheck.WrongLanguage) {
//		fmt.Printf("only %.0f%% %s\n", 100*rep.Share, rep.Script)
//	}
package outputcheck

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/bertbench/bertbench/runners"
)

// Flag names one thing wrong with an output. The names are stored in
// results files and databases: they never change meaning.
type Flag string

// The flags Check raises, in their canonical order.
const (
	// Error: the call failed (Result.Error is set); the output is empty.
	Error Flag = "error"
	// Empty: the call succeeded but the output is empty or only white space.
	Empty Flag = "empty"
	// WrongLanguage: too little of the output is in the target language's
	// script (see Report.Share and MinShare).
	WrongLanguage Flag = "wrong_language"
	// TruncatedInput: the server cut the prompt to fit the context window,
	// so the output answers part of the input.
	TruncatedInput Flag = "truncated_input"
	// TruncatedOutput: generation stopped at the token limit or the end of
	// the context window (done reason "length"), so the output may be cut.
	TruncatedOutput Flag = "truncated_output"
)

// All lists every flag in canonical order.
var All = []Flag{Error, Empty, WrongLanguage, TruncatedInput, TruncatedOutput}

// MinShare is the share of the target script below which an output is
// flagged WrongLanguage. A Chinese sentence that keeps a few Latin names
// ("iPhone 的 USB-C 接口" counts 3 Han characters against 3 Latin words)
// stays at or above it; an English answer to a Chinese target is near 0.
const MinShare = 0.5

// Report is what Check found about one output.
type Report struct {
	// Flags are the flags raised, in canonical order; nil when none.
	Flags []Flag
	// Script names the script the target language is written in (e.g.
	// "Han", "Latin"); "" when the target is not known to the check, in
	// which case the language is not checked.
	Script string
	// Share is the share of the output's letters in Script: for scripts
	// written without spaces (Han, kana, Hangul, Thai) each character
	// counts once, for the others each word (a run of letters of one
	// script). NaN when not measured: unknown target, failed call, or an
	// output without letters.
	Share float64
}

// Has reports whether the report carries f.
func (r Report) Has(f Flag) bool { return slices.Contains(r.Flags, f) }

// String joins the flags with commas ("" when clean), the form stored.
func (r Report) String() string { return JoinFlags(r.Flags) }

// JoinFlags writes flags as one comma-separated string.
func JoinFlags(flags []Flag) string {
	s := make([]string, len(flags))
	for i, f := range flags {
		s[i] = string(f)
	}
	return strings.Join(s, ",")
}

// ParseFlags reads a string written by JoinFlags; an unknown name is an
// error (a newer bertbench may add flags, and dropping one would hide it).
func ParseFlags(s string) ([]Flag, error) {
	if s == "" {
		return nil, nil
	}
	var flags []Flag
	for name := range strings.SplitSeq(s, ",") {
		f := Flag(name)
		if !slices.Contains(All, f) {
			return nil, fmt.Errorf("unknown output flag %q (known: %s)", name, JoinFlags(All))
		}
		flags = append(flags, f)
	}
	return flags, nil
}

// Check flags res for a translation into the language target, a BCP 47
// tag such as "zh", "zh-Hant", "ja", "en-GB" or "fr" ("" or an unknown
// language: the language is not checked).
func Check(res runners.Result, target string) Report {
	rep := Report{Share: math.NaN()}
	var flags []Flag
	if res.Error != "" {
		flags = append(flags, Error)
	} else if strings.TrimSpace(res.Output) == "" {
		flags = append(flags, Empty)
	}
	sc := scriptFor(target)
	if sc != nil {
		rep.Script = sc.name
		if res.Error == "" {
			rep.Share = share(res.Output, sc)
			if rep.Share < MinShare { // false for NaN: no letters, nothing to judge
				flags = append(flags, WrongLanguage)
			}
		}
	}
	if res.TruncatedInput {
		flags = append(flags, TruncatedInput)
	}
	if res.DoneReason == "length" {
		flags = append(flags, TruncatedOutput)
	}
	rep.Flags = flags
	return rep
}

// script is the set of Unicode scripts a language is written in.
type script struct {
	name   string
	tables []*unicode.RangeTable
}

var (
	han        = &script{"Han", []*unicode.RangeTable{unicode.Han}}
	japanese   = &script{"Han+Kana", []*unicode.RangeTable{unicode.Han, unicode.Hiragana, unicode.Katakana}}
	korean     = &script{"Hangul", []*unicode.RangeTable{unicode.Hangul, unicode.Han}}
	latin      = &script{"Latin", []*unicode.RangeTable{unicode.Latin}}
	cyrillic   = &script{"Cyrillic", []*unicode.RangeTable{unicode.Cyrillic}}
	greek      = &script{"Greek", []*unicode.RangeTable{unicode.Greek}}
	arabic     = &script{"Arabic", []*unicode.RangeTable{unicode.Arabic}}
	hebrew     = &script{"Hebrew", []*unicode.RangeTable{unicode.Hebrew}}
	devanagari = &script{"Devanagari", []*unicode.RangeTable{unicode.Devanagari}}
	thai       = &script{"Thai", []*unicode.RangeTable{unicode.Thai}}
)

// languages maps a primary language subtag to its usual script.
var languages = map[string]*script{
	"zh": han, "yue": han, "ja": japanese, "ko": korean,
	"ru": cyrillic, "uk": cyrillic, "bg": cyrillic, "be": cyrillic, "mk": cyrillic, "kk": cyrillic,
	"el": greek, "ar": arabic, "fa": arabic, "ur": arabic, "he": hebrew, "yi": hebrew,
	"hi": devanagari, "mr": devanagari, "ne": devanagari, "th": thai,
}

// latinLanguages are the languages written in the Latin script.
var latinLanguages = []string{
	"af", "ca", "cs", "cy", "da", "de", "en", "eo", "es", "et", "eu", "fi", "fr", "ga", "gl",
	"hr", "hu", "id", "is", "it", "la", "lt", "lv", "ms", "mt", "nb", "nl", "nn", "no", "pl",
	"pt", "ro", "sk", "sl", "sq", "sv", "sw", "tl", "tr", "vi",
}

// scripts maps an ISO 15924 script subtag to the script checked.
var scripts = map[string]*script{
	"hans": han, "hant": han, "jpan": japanese, "kore": korean, "hang": korean, "latn": latin,
	"cyrl": cyrillic, "grek": greek, "arab": arabic, "hebr": hebrew, "deva": devanagari, "thai": thai,
}

// scriptFor returns the script the language tag is written in, nil when
// it is not known: a script subtag ("sr-Latn", "zh-Hant") wins over the
// language's usual script.
func scriptFor(tag string) *script {
	parts := strings.FieldsFunc(strings.ToLower(strings.TrimSpace(tag)), func(r rune) bool { return r == '-' || r == '_' })
	if len(parts) == 0 {
		return nil
	}
	for _, p := range parts[1:] {
		if len(p) == 4 {
			if sc, ok := scripts[p]; ok {
				return sc
			}
		}
	}
	if slices.Contains(latinLanguages, parts[0]) {
		return latin
	}
	return languages[parts[0]]
}

// unspaced reports letters of scripts written without spaces between
// words, which count one unit per character.
func unspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Thai)
}

// share returns the share of units of text in sc, NaN when text has no
// letters. A unit is a character of an unspaced script, else a maximal run
// of letters (and combining marks) of one script.
func share(text string, sc *script) float64 {
	var total, in int
	var run *unicode.RangeTable // the script of the word being read, nil between words
	for _, r := range text {
		if run != nil && unicode.In(r, unicode.Mn, unicode.Mc) {
			continue // a combining mark belongs to its letter
		}
		if !unicode.IsLetter(r) {
			run = nil
			continue
		}
		if unspaced(r) {
			run = nil
			total++
			if unicode.In(r, sc.tables...) {
				in++
			}
			continue
		}
		t := scriptOf(r)
		if run != nil && t == run {
			continue // same word
		}
		run = t
		total++
		if unicode.In(r, sc.tables...) {
			in++
		}
	}
	if total == 0 {
		return math.NaN()
	}
	return float64(in) / float64(total)
}

// wordScripts are the spaced scripts a word's letters are matched to.
var wordScripts = []*unicode.RangeTable{unicode.Latin, unicode.Cyrillic, unicode.Greek, unicode.Arabic, unicode.Hebrew, unicode.Devanagari}

// other stands for the script of letters in none of wordScripts.
var other = &unicode.RangeTable{}

func scriptOf(r rune) *unicode.RangeTable {
	for _, t := range wordScripts {
		if unicode.Is(t, r) {
			return t
		}
	}
	return other
}
