// Package generate writes a dataset of source/reference pairs with a
// teacher model (step 1 of the YiVal study, after YiVal's
// openai_prompt_data_generator): each request asks the teacher, through
// an instruction template, for one sentence in the source language and its
// translation, with a topic and a style hint for variety; each answer is
// parsed and judged; the pairs that pass are written, as they are
// accepted, to a JSONL file that dataset.Open reads with its default
// fields.
//
// # Requests
//
// Request i (0, 1, 2, ...) is fully determined by the options and i: its
// hints are topic i mod T and style (i div T) mod S of the T topics and S
// styles (every combination once in T×S requests, then again), and its
// seed is Params.Seed + i. So a run asks the same requests in the same
// order every time, and the response cache (runners/cache) serves every
// answer already given: a resumed run, or a longer one, pays for no call
// twice.
//
// # Judging
//
// Answers are judged in request order, whatever order the calls finish in
// (a bounded window of calls runs ahead), so the file is the same for any
// concurrency and for a run interrupted and resumed. An answer is, in this
// order: a failed call (call_error); not a pair (parse, or truncated when
// the teacher hit the token limit); a side outside its length bounds
// (source_too_short, ...); a side not in its language's script
// (source_language, reference_language: the share of letters in the
// script, measured by runners/outputcheck, below MinShare); a reference
// that is the source again (untranslated); a source already accepted
// (duplicate, compared normalized, see Normalize) or nearly so
// (near_duplicate: character 3-gram Jaccard similarity at least
// NearDuplicate, found through MinHash bands in O(k) a query, confirmed
// exactly). Anything else is accepted. Answers that finish after the
// target count was reached are not judged (Report.Unused).
//
// # Output and resuming
//
// Each line is {"id", "source", "reference", "teacher", "prompt",
// "system", "params", "topic", "style", "request", "checks"}: the id is
// "gen-" and the request index, prompt is the request's rendered prompt,
// params its sampling parameters (with its own seed), checks the judging
// settings in words. When the output file exists, Run resumes it: every
// line must have been written by these options (same teacher, same
// prompt and parameters for its request, same checks; else the error names
// the first that differs and the fix), its sources are remembered for
// deduplication, and requests continue after the last line's. A last line
// cut short by a crash is dropped and written again.
//
// # Examples
//
//	opts := generate.DefaultOptions()
//	opts.Teacher = teacher // e.g. from runners/factory, with the response cache
//	opts.Count = 500
//	opts.Topics = []string{"travel", "cooking", "science"}
//	opts.Output = "pairs.jsonl"
//	rep, err := generate.Run(ctx, opts)
//	fmt.Println(rep.String())
package generate

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/outputcheck"
)

// DefaultInstruction is the default instruction template, after YiVal's
// data generator: one sentence, its translation, and a JSON object only.
// It sees .To (the target language's name) and .Fields.from, .Fields.to,
// .Fields.topic and .Fields.style (hints are "" when there are none).
const DefaultInstruction = `Write one natural {{.Fields.from}} sentence{{with .Fields.topic}} about {{.}}{{end}}{{with .Fields.style}}, in a {{.}} style{{end}}, and translate it into {{.To}}.
The sentence must stand on its own, as if taken from real text, and differ from the usual textbook examples.
Reply with only a JSON object, no other text:
{"source": "<the {{.Fields.from}} sentence>", "reference": "<its {{.To}} translation>"}`

// Defaults of DefaultOptions.
const (
	DefaultFrom        = "en"
	DefaultTo          = "zh"
	DefaultTemperature = 1.0
	DefaultMaxTokens   = 256
	DefaultMinChars    = 2
	DefaultMaxChars    = 400
	// DefaultNearDuplicate is the Jaccard similarity of character 3-grams
	// from which a source is a near duplicate of an accepted one.
	DefaultNearDuplicate = 0.8
	// DefaultSeparator splits a plain "SOURCE ||| REFERENCE" answer.
	DefaultSeparator = "|||"
	// AttemptsPerItem sets the default MaxAttempts: this many requests
	// per item of Count.
	AttemptsPerItem = 4
)

// ErrInvalidInput is matched (errors.Is) by the errors that the options
// or an existing output file cause: fixing them, not retrying, cures them.
var ErrInvalidInput = errors.New("invalid input")

// ErrPreflight is matched by the error of a run whose teacher failed its
// preflight check (runners.Preflight): no call was made, the output file
// was not touched.
var ErrPreflight = errors.New("teacher preflight failed")

// ErrTargetNotReached is matched by the error of a run that used up
// MaxAttempts before Count items were accepted.
var ErrTargetNotReached = errors.New("target count not reached")

// Bounds are length bounds on one side of a pair; 0 is no bound. Chars
// counts Unicode characters; words are runs of non-space characters, a
// measure for languages written with spaces.
type Bounds struct {
	MinChars, MaxChars int
	MinWords, MaxWords int
}

// Options configure a run. Start from DefaultOptions.
type Options struct {
	// Teacher answers the requests (required). Give it the response cache
	// (runners/cache) for resuming without paying twice.
	Teacher runners.Runner
	// Instruction is the prompt template (see DefaultInstruction for what
	// it sees). Default DefaultInstruction.
	Instruction string
	// System is an optional system prompt.
	System string
	// From and To are the BCP 47 tags of the source and reference
	// languages, e.g. "en" and "zh" (defaults). The prompt names them by
	// FromName and ToName ("" : their English names where known, e.g.
	// "English", "Chinese", else the tags).
	From, To         string
	FromName, ToName string
	// Topics and Styles are hints for variety; none of either is no hint.
	Topics, Styles []string
	// Params are the sampling parameters of every request. Params.Seed is
	// the seed of request 0 (nil: 0); request i gets Seed + i. Default
	// temperature DefaultTemperature, max tokens DefaultMaxTokens.
	Params runners.Params
	// Count is how many items the file must hold (required).
	Count int
	// MaxAttempts bounds the request index, over every run on the file,
	// so that a run always ends. Default (0): AttemptsPerItem × Count.
	MaxAttempts int
	// Source and Reference bound the length of each side. Default
	// DefaultMinChars to DefaultMaxChars characters on both.
	Source, Reference Bounds
	// MinShare is the least share of a side's letters in its language's
	// script (runners/outputcheck), e.g. Han characters in a Chinese
	// reference, Latin words in an English source; a side without letters
	// fails too. 0 checks no language; a language the check does not know
	// is not checked. Default outputcheck.MinShare.
	MinShare float64
	// NearDuplicate is the character 3-gram Jaccard similarity, in (0, 1],
	// from which a source is a near duplicate of an accepted one; 0 looks
	// for exact duplicates only. Default DefaultNearDuplicate.
	NearDuplicate float64
	// Separator splits an answer that holds no JSON pair as "SOURCE
	// SEPARATOR REFERENCE"; "" reads JSON only. Default DefaultSeparator.
	Separator string
	// Concurrency is the most calls at once (0: the teacher's own limit,
	// see runners/batch). Judging stays in request order.
	Concurrency int
	// Output is the JSONL file written, or resumed when it exists
	// (required).
	Output string
	// PreflightTimeout bounds the teacher's preflight check (0: ctx
	// only).
	PreflightTimeout time.Duration
	// Progress, when set, is told the report so far after every answer
	// judged, on the goroutine that called Run.
	Progress func(Report)
}

// DefaultOptions returns the defaults; set Teacher, Count and Output.
func DefaultOptions() Options {
	temp, maxTokens := DefaultTemperature, DefaultMaxTokens
	b := Bounds{MinChars: DefaultMinChars, MaxChars: DefaultMaxChars}
	return Options{
		Instruction:   DefaultInstruction,
		From:          DefaultFrom,
		To:            DefaultTo,
		Params:        runners.Params{Temperature: &temp, MaxTokens: &maxTokens},
		Source:        b,
		Reference:     b,
		MinShare:      outputcheck.MinShare,
		NearDuplicate: DefaultNearDuplicate,
		Separator:     DefaultSeparator,
	}
}

// OptionError is an option whose value cannot be used. It matches
// ErrInvalidInput. Option names the Options field ("Count", "From", ...).
type OptionError struct {
	Option string
	Value  any
	Reason string
}

// Error reads "OPTION VALUE: REASON".
func (e *OptionError) Error() string {
	if s, ok := e.Value.(string); ok {
		return fmt.Sprintf("%s %q: %s", e.Option, s, e.Reason)
	}
	return fmt.Sprintf("%s %v: %s", e.Option, e.Value, e.Reason)
}

// Is matches ErrInvalidInput.
func (e *OptionError) Is(target error) bool { return target == ErrInvalidInput }

// reTag is the shape of a BCP 47 tag as far as this package reads it.
var reTag = regexp.MustCompile(`^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$`)

// Validate checks the options and returns the first problem: an
// *OptionError, a *runners.FieldError for a parameter, or a template
// error (matching prompt.ErrInvalidInput) for the instruction.
func (o Options) Validate() error {
	if o.Teacher == nil {
		return &OptionError{"Teacher", "<nil>", "a teacher runner is required"}
	}
	if o.Count < 1 {
		return &OptionError{"Count", o.Count, "must be at least 1"}
	}
	if o.MaxAttempts < 0 {
		return &OptionError{"MaxAttempts", o.MaxAttempts, "must be positive (0: the default)"}
	}
	if o.Output == "" {
		return &OptionError{"Output", o.Output, "an output file is required"}
	}
	for _, l := range []struct{ name, tag string }{{"From", o.From}, {"To", o.To}} {
		if !reTag.MatchString(l.tag) {
			return &OptionError{l.name, l.tag, "want a BCP 47 language tag such as en, zh or zh-Hant"}
		}
	}
	if !(o.MinShare >= 0 && o.MinShare <= 1) {
		return &OptionError{"MinShare", o.MinShare, "must be in [0, 1] (0: no language check)"}
	}
	if !(o.NearDuplicate >= 0 && o.NearDuplicate <= 1) {
		return &OptionError{"NearDuplicate", o.NearDuplicate, "must be in [0, 1] (0: exact duplicates only)"}
	}
	if o.Concurrency < 0 {
		return &OptionError{"Concurrency", o.Concurrency, "must be positive (0: the teacher's limit)"}
	}
	for _, b := range []struct {
		name string
		b    Bounds
	}{{"Source", o.Source}, {"Reference", o.Reference}} {
		if err := b.b.validate(b.name); err != nil {
			return err
		}
	}
	for _, h := range []struct {
		name  string
		hints []string
	}{{"Topics", o.Topics}, {"Styles", o.Styles}} {
		if i := slices.IndexFunc(h.hints, func(s string) bool { return strings.TrimSpace(s) == "" }); i >= 0 {
			return &OptionError{fmt.Sprintf("%s[%d]", h.name, i), h.hints[i], "an empty hint; leave it out"}
		}
	}
	if err := (runners.Request{Params: o.Params}).Validate(); err != nil {
		return err
	}
	p, err := o.plan()
	if err != nil {
		return err
	}
	_, err = p.request(0) // a template that fails, fails for every request
	return err
}

func (b Bounds) validate(side string) error {
	for _, f := range []struct {
		name string
		v    int
	}{{"MinChars", b.MinChars}, {"MaxChars", b.MaxChars}, {"MinWords", b.MinWords}, {"MaxWords", b.MaxWords}} {
		if f.v < 0 {
			return &OptionError{side + "." + f.name, f.v, "must be positive (0: no bound)"}
		}
	}
	if b.MaxChars > 0 && b.MinChars > b.MaxChars {
		return &OptionError{side + ".MinChars", b.MinChars, fmt.Sprintf("is above the maximum, %d", b.MaxChars)}
	}
	if b.MaxWords > 0 && b.MinWords > b.MaxWords {
		return &OptionError{side + ".MinWords", b.MinWords, fmt.Sprintf("is above the maximum, %d", b.MaxWords)}
	}
	return nil
}

// maxAttempts is MaxAttempts with its default.
func (o Options) maxAttempts() int {
	if o.MaxAttempts > 0 {
		return o.MaxAttempts
	}
	return AttemptsPerItem * o.Count
}

// languageNames are the English names of common languages, as the
// instruction names them.
var languageNames = map[string]string{
	"ar": "Arabic", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "en": "English",
	"es": "Spanish", "fa": "Persian", "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi",
	"hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean",
	"nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
	"ru": "Russian", "sv": "Swedish", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian",
	"vi": "Vietnamese", "zh": "Chinese", "zh-hans": "Simplified Chinese", "zh-hant": "Traditional Chinese",
	"zh-cn": "Simplified Chinese", "zh-tw": "Traditional Chinese", "yue": "Cantonese",
}

// LanguageName is the English name of a language tag where this package
// knows it ("zh-Hant": "Traditional Chinese", "en-GB": "English"), else
// the tag itself.
func LanguageName(tag string) string {
	t := strings.ToLower(strings.ReplaceAll(tag, "_", "-"))
	for t != "" {
		if n, ok := languageNames[t]; ok {
			return n
		}
		i := strings.LastIndexByte(t, '-')
		if i < 0 {
			break
		}
		t = t[:i]
	}
	return tag
}

// ScriptChecked reports whether the language check knows the script of
// the language tag (runners/outputcheck); other languages are not checked.
func ScriptChecked(tag string) bool {
	return outputcheck.Check(runners.Result{}, tag).Script != ""
}

// Reason is why an answer was rejected. The names are printed and may be
// stored: they never change meaning.
type Reason string

// The reasons, in the order answers are judged.
const (
	ReasonCallError         Reason = "call_error"
	ReasonParse             Reason = "parse"
	ReasonTruncated         Reason = "truncated"
	ReasonSourceTooShort    Reason = "source_too_short"
	ReasonSourceTooLong     Reason = "source_too_long"
	ReasonReferenceTooShort Reason = "reference_too_short"
	ReasonReferenceTooLong  Reason = "reference_too_long"
	ReasonSourceLanguage    Reason = "source_language"
	ReasonReferenceLanguage Reason = "reference_language"
	ReasonUntranslated      Reason = "untranslated"
	ReasonDuplicate         Reason = "duplicate"
	ReasonNearDuplicate     Reason = "near_duplicate"
)

// Reasons lists every reason in judging order.
var Reasons = []Reason{
	ReasonCallError, ReasonParse, ReasonTruncated,
	ReasonSourceTooShort, ReasonSourceTooLong, ReasonReferenceTooShort, ReasonReferenceTooLong,
	ReasonSourceLanguage, ReasonReferenceLanguage, ReasonUntranslated, ReasonDuplicate, ReasonNearDuplicate,
}

// Report sums up a run.
type Report struct {
	// Target is Options.Count.
	Target int
	// Resumed counts the items the file held when the run started.
	Resumed int
	// Accepted counts the items this run added.
	Accepted int
	// Judged counts the answers this run judged (accepted and rejected).
	Judged int
	// Rejected counts the rejected answers by reason.
	Rejected map[Reason]int
	// Unused counts the answers that came back but were not judged (or
	// not kept): they finished after the target was reached, or the run
	// stopped while an earlier request was still out, or writing the item
	// failed. Those of successful calls are in the response cache, for a
	// later run to judge without a call.
	Unused int
	// Calls sums up the calls: live, from the cache, failed.
	Calls runners.Tally
	// NextRequest is the index of the request after the last one judged.
	NextRequest int
	// DroppedTornLine reports that the file's last line was cut short (a
	// crash while it was written) and was dropped.
	DroppedTornLine bool
	// Elapsed is how long the run took.
	Elapsed time.Duration
}

// Total is how many items the file holds.
func (r Report) Total() int { return r.Resumed + r.Accepted }

// Done reports whether the file holds the target count.
func (r Report) Done() bool { return r.Total() >= r.Target }

// RejectedTotal counts the rejected answers.
func (r Report) RejectedTotal() int {
	n := 0
	for _, c := range r.Rejected {
		n += c
	}
	return n
}

// RejectedString lists the rejections by reason in judging order, e.g.
// "parse 3, near_duplicate 2" ("none" when there are none).
func (r Report) RejectedString() string {
	var parts []string
	for _, reason := range Reasons {
		if n := r.Rejected[reason]; n > 0 {
			parts = append(parts, string(reason)+" "+strconv.Itoa(n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// String describes the report in one line.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d items", r.Total(), r.Target)
	if r.Resumed > 0 {
		fmt.Fprintf(&b, " (%d resumed, %d new)", r.Resumed, r.Accepted)
	}
	fmt.Fprintf(&b, "; %d answers judged, %d rejected (%s)", r.Judged, r.RejectedTotal(), r.RejectedString())
	if r.Unused > 0 {
		fmt.Fprintf(&b, ", %d unused", r.Unused)
	}
	fmt.Fprintf(&b, "; calls: %s", &r.Calls)
	return b.String()
}
