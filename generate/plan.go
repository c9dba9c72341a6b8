package generate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bertbench/bertbench/prompt"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/batch"
	"github.com/bertbench/bertbench/runners/outputcheck"
)

// Line is one line of the output file: an item dataset.Open reads (id,
// source, reference) and how it was made.
type Line struct {
	// ID is "gen-" and the request index.
	ID        string `json:"id"`
	Source    string `json:"source"`
	Reference string `json:"reference"`
	// Teacher is the teacher's runner spec.
	Teacher string `json:"teacher"`
	// Prompt is the rendered prompt sent, System the system prompt.
	Prompt string `json:"prompt"`
	System string `json:"system,omitempty"`
	// Params are the request's sampling parameters, its seed included.
	Params runners.Params `json:"params"`
	// Topic and Style are the request's hints ("" for none).
	Topic string `json:"topic,omitempty"`
	Style string `json:"style,omitempty"`
	// Request is the request's index.
	Request int `json:"request"`
	// Checks are the judging settings, in words.
	Checks string `json:"checks"`
}

// ItemID is the id of the item that request i gives.
func ItemID(i int) string { return "gen-" + strconv.Itoa(i) }

// plan is what the options make of every request and answer.
type plan struct {
	o        Options
	tmpl     *prompt.Template
	from, to string // the languages' names
	checks   string
	spec     string
}

func (o Options) plan() (*plan, error) {
	text := o.Instruction
	if text == "" {
		text = DefaultInstruction
	}
	tmpl, err := prompt.Parse("instruction", text)
	if err != nil {
		return nil, err
	}
	p := &plan{o: o, tmpl: tmpl, from: o.FromName, to: o.ToName, spec: o.Teacher.Spec()}
	if p.from == "" {
		p.from = LanguageName(o.From)
	}
	if p.to == "" {
		p.to = LanguageName(o.To)
	}
	p.checks = o.checksString()
	return p, nil
}

// checksString writes the judging settings in words, e.g. "en > zh;
// source chars 2..400; reference chars 2..400; script share 0.5;
// near-duplicate 0.8; separator "|||"".
func (o Options) checksString() string {
	num := func(v float64) string {
		if v == 0 {
			return "off"
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprintf("%s > %s; source %s; reference %s; script share %s; near-duplicate %s; separator %q",
		o.From, o.To, o.Source, o.Reference, num(o.MinShare), num(o.NearDuplicate), o.Separator)
}

// String writes the bounds, e.g. "chars 2..400, words 3..".
func (b Bounds) String() string {
	rng := func(lo, hi int) string {
		if hi == 0 {
			return strconv.Itoa(lo) + ".."
		}
		return strconv.Itoa(lo) + ".." + strconv.Itoa(hi)
	}
	s := "chars " + rng(b.MinChars, b.MaxChars)
	if b.MinWords > 0 || b.MaxWords > 0 {
		s += ", words " + rng(b.MinWords, b.MaxWords)
	}
	return s
}

// hints returns request i's topic and style.
func (p *plan) hints(i int) (topic, style string) {
	t, s := p.o.Topics, p.o.Styles
	nt := max(len(t), 1)
	if len(t) > 0 {
		topic = t[i%nt]
	}
	if len(s) > 0 {
		style = s[(i/nt)%len(s)]
	}
	return topic, style
}

// request builds request i and the line it would give, without the pair.
func (p *plan) request(i int) (Line, error) {
	topic, style := p.hints(i)
	text, err := p.tmpl.Render(prompt.Data{To: p.to, ID: ItemID(i), Line: i + 1, Fields: map[string]string{
		"from": p.from, "to": p.to, "topic": topic, "style": style,
	}})
	if err != nil {
		return Line{}, err
	}
	params := p.o.Params
	seed := i
	if params.Seed != nil {
		seed += *params.Seed
	}
	params.Seed = &seed
	return Line{
		ID: ItemID(i), Teacher: p.spec, Prompt: text, System: p.o.System, Params: params,
		Topic: topic, Style: style, Request: i, Checks: p.checks,
	}, nil
}

// runnerRequest is the call a line's request makes.
func (l Line) runnerRequest() runners.Request {
	return runners.Request{Prompt: l.Prompt, System: l.System, Mode: runners.ModeChat, Params: l.Params}
}

// judge decides on the answer to request line.Request: a reason to reject
// it, or "" and the line to write, with commit to call once it is written
// (it remembers the source for deduplication).
func (p *plan) judge(line Line, o batch.Outcome[int], d *dedup) (Line, Reason, func()) {
	if o.Err != nil || o.Result.Error != "" {
		return line, ReasonCallError, nil
	}
	src, ref, ok := parseAnswer(o.Result.Output, p.o.Separator)
	if !ok {
		if o.Result.DoneReason == "length" {
			return line, ReasonTruncated, nil
		}
		return line, ReasonParse, nil
	}
	if r := lengthReason(src, p.o.Source, ReasonSourceTooShort, ReasonSourceTooLong); r != "" {
		return line, r, nil
	}
	if r := lengthReason(ref, p.o.Reference, ReasonReferenceTooShort, ReasonReferenceTooLong); r != "" {
		return line, r, nil
	}
	if !p.inScript(src, p.o.From) {
		return line, ReasonSourceLanguage, nil
	}
	if !p.inScript(ref, p.o.To) {
		return line, ReasonReferenceLanguage, nil
	}
	if Normalize(src) == Normalize(ref) {
		return line, ReasonUntranslated, nil
	}
	reason, commit := d.check(src)
	if reason != "" {
		return line, reason, nil
	}
	line.Source, line.Reference = src, ref
	return line, "", commit
}

// lengthReason checks text against b.
func lengthReason(text string, b Bounds, short, long Reason) Reason {
	chars := utf8.RuneCountInString(text)
	words := len(strings.Fields(text))
	switch {
	case chars < b.MinChars || words < b.MinWords:
		return short
	case b.MaxChars > 0 && chars > b.MaxChars, b.MaxWords > 0 && words > b.MaxWords:
		return long
	}
	return ""
}

// inScript reports whether text passes the language check for tag: at
// least MinShare of its letters in the language's script. Without a
// check (MinShare 0, or a script the check does not know) every text
// passes; a text without letters fails.
func (p *plan) inScript(text, tag string) bool {
	if p.o.MinShare == 0 {
		return true
	}
	rep := outputcheck.Check(runners.Result{Output: text}, tag)
	if rep.Script == "" {
		return true
	}
	return !math.IsNaN(rep.Share) && rep.Share >= p.o.MinShare
}
