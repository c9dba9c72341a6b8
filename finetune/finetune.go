// Package finetune turns dataset items into training data for fine-tuning
// a translation model, in the formats trainers take, with every item that
// overlaps an evaluation set left out.
//
// # Examples from items
//
// Each kept item becomes one [Example]: the user turn is the item rendered
// by the prompt template (the very text `bertbench translate` sends with the
// same --prompt and --to), the assistant turn is the item's first
// reference, and the system turn is Options.System (the text translate
// sends as --system), when set. Fine-tune with the prompt you evaluate with:
// the model learns to answer that prompt.
//
// Items come from a dataset file (dataset.Open) or, for distillation, from
// a run's outputs: a teacher's generations as items whose first reference
// is the teacher's output, with Options.Score giving each id's score (the
// BERTScore F of that output), so that only outputs with F ≥
// Options.MinScore are kept.
//
// # What is dropped
//
// An item is dropped, and counted under the first reason that applies, in
// this order:
//
//   - [OverlapID]: its id is the id of an evaluation item. Only ids that
//     the records give count (dataset.Item.IDGiven): an id derived from a
//     line ("L7") names a position in a file, not an item, and two files'
//     line 7 are not the same item;
//   - [OverlapSource]: its source is an evaluation item's source once both
//     are normalised ([Normalize]);
//   - [EmptySource]: its source is empty;
//   - [EmptyReference]: it has no reference, or the first one is empty;
//   - [Unscored]: a score filter is set and the item has no score (or an
//     undefined one, NaN);
//   - [BelowScore]: its score is below Options.MinScore.
//
// # Train and validation
//
// With Options.ValidationFraction f > 0, each kept item goes to the
// validation set when a hash of (Options.Seed, its id) falls in the first f
// of the hash range ([InValidation]), else to the training set. The split
// is deterministic under a seed and decided for each item on its own:
// adding or removing items never moves another item between the sets, and
// a different seed gives a different split. The validation set holds about
// f of the items (for n items, f·n ± a few √n), not exactly f.
//
// # Formats
//
//   - [OpenAIChat]: OpenAI's chat fine-tuning JSONL, one object a line:
//     {"messages": [{"role": "system", "content": ...}, {"role": "user",
//     "content": ...}, {"role": "assistant", "content": ...}]} (the system
//     message only when there is one).
//   - [Alpaca]: one JSON array of {"instruction": ..., "input": ...,
//     "output": ...}: the instruction is the rendered prompt (which
//     already holds the source), the input is empty, and "system" is added
//     when there is a system prompt (as LLaMA-Factory reads it).
//   - [ShareGPT]: JSONL, one object a line: {"conversations": [{"from":
//     "system", "value": ...}, {"from": "human", "value": ...}, {"from":
//     "gpt", "value": ...}]} (the system turn only when there is one), as
//     axolotl, LLaMA-Factory and unsloth read it.
//
// No record carries the item's id: trainers refuse or ignore fields they
// do not know. HTML characters are written as they are (no \u003c).
//
// # Examples
//
//	tmpl, _ := prompt.Parse("--prompt", prompt.DefaultTranslate)
//	eval := finetune.NewEvalSet()
//	// ... eval.Add(it) for every item of the test set
//	train, _ := finetune.NewWriter(trainFile, finetune.OpenAIChat)
//	val, _ := finetune.NewWriter(valFile, finetune.OpenAIChat)
//	r, _ := dataset.Open("train.jsonl", dataset.Options{})
//	defer r.Close()
//	counts, err := finetune.Export(ctx, r.All(), finetune.Options{
//		Prompt: tmpl, To: "Chinese", Exclude: eval,
//		Seed: 1, ValidationFraction: 0.1,
//	}, train, val)
package finetune

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"

	"github.com/bertbench/bertbench/dataset"
	"github.com/bertbench/bertbench/prompt"
)

// ErrInvalidInput is matched (with errors.Is) by every error that the
// input or the options caused; other errors (a write failing) are runtime
// failures. Errors from reading items keep their own kinds too
// (dataset.ErrInvalidInput, prompt.ErrInvalidInput).
var ErrInvalidInput = errors.New("invalid input")

// ErrNothingKept is matched by the error of an export that dropped every
// item (it also matches ErrInvalidInput).
var ErrNothingKept = errors.New("no item left to train on")

// Reason is why an item was dropped.
type Reason string

// The reasons, in the order they are checked (see the package
// documentation).
const (
	OverlapID      Reason = "overlap by id"
	OverlapSource  Reason = "overlap by source"
	EmptySource    Reason = "empty source"
	EmptyReference Reason = "empty reference"
	Unscored       Reason = "no score"
	BelowScore     Reason = "below score"
)

// Reasons lists every Reason in the order they are checked, for reports.
var Reasons = []Reason{OverlapID, OverlapSource, EmptySource, EmptyReference, Unscored, BelowScore}

// ScoreFunc gives an item's score by its id (the BERTScore F of a
// teacher's output), and false when there is none.
type ScoreFunc func(id string) (float64, bool)

// Scores is the ScoreFunc of a table of scores by item id, e.g. the F of
// each teacher output of a run.
func Scores(byID map[string]float64) ScoreFunc {
	return func(id string) (float64, bool) {
		f, ok := byID[id]
		return f, ok
	}
}

// Options say how items become examples.
type Options struct {
	// Prompt renders each item into the user turn. Required.
	Prompt *prompt.Template
	// To is the target language the prompt shows as {{.To}}, e.g.
	// "Chinese".
	To string
	// System is the system turn of every example; "" gives none.
	System string
	// Exclude holds the evaluation items to leave out (nil: none).
	Exclude *EvalSet
	// Score, when set, gives each item's score, and only items scoring at
	// least MinScore are kept.
	Score ScoreFunc
	// MinScore is the lowest score kept when Score is set.
	MinScore float64
	// Seed picks the train/validation split (see InValidation).
	Seed uint64
	// ValidationFraction is the share of kept items, in [0, 1), that goes
	// to the validation set; 0 sends every item to training.
	ValidationFraction float64
	// OnDrop, when set, is called for every dropped item with its reason.
	OnDrop func(it dataset.Item, why Reason)
}

// Counts say what an export did.
type Counts struct {
	// Read is the number of items read.
	Read int
	// Train and Validation are the numbers of examples written to each
	// set; their sum is the number kept.
	Train, Validation int
	// Dropped counts the dropped items by reason (a nil map reads as
	// zeros).
	Dropped map[Reason]int
}

// Kept is the number of items written to either set.
func (c Counts) Kept() int { return c.Train + c.Validation }

// DroppedTotal is the number of items dropped for any reason.
func (c Counts) DroppedTotal() int {
	n := 0
	for _, v := range c.Dropped {
		n += v
	}
	return n
}

// Example is one training example: a prompt and the answer to learn.
type Example struct {
	// ID is the item's id (not written: see the package documentation).
	ID string
	// System is the system turn; "" for none.
	System string
	// Prompt is the user turn: the rendered prompt.
	Prompt string
	// Output is the assistant turn: the reference or the teacher's output.
	Output string
}

// Export reads items, drops those the package documentation lists, and
// writes the others as examples to train or, by the seeded split, to
// validation (which may be nil when Options.ValidationFraction is 0). It
// stops at the first error: a read error (returned as it is, naming the
// file and line), a prompt that fails for an item, a write error, or
// ctx's. It closes neither writer: the caller finishes them (Writer.Close)
// once Export succeeds. An export that keeps nothing fails with
// ErrNothingKept.
func Export(ctx context.Context, items iter.Seq2[dataset.Item, error], opts Options, train, validation Writer) (Counts, error) {
	c := Counts{Dropped: make(map[Reason]int)}
	if err := opts.check(train, validation); err != nil {
		return c, err
	}
	for it, err := range items {
		if err != nil {
			return c, err
		}
		if err := ctx.Err(); err != nil {
			return c, err
		}
		c.Read++
		if why, drop := opts.drop(it); drop {
			c.Dropped[why]++
			if opts.OnDrop != nil {
				opts.OnDrop(it, why)
			}
			continue
		}
		text, err := opts.Prompt.Render(prompt.Data{Source: it.Source, To: opts.To, ID: it.ID, Line: it.Line, Fields: it.Extra})
		if err != nil {
			return c, fmt.Errorf("item %s (line %d): %w", it.ID, it.Line, err)
		}
		ex := Example{ID: it.ID, System: opts.System, Prompt: text, Output: it.References[0]}
		w, n := train, &c.Train
		if InValidation(opts.Seed, it.ID, opts.ValidationFraction) {
			w, n = validation, &c.Validation
		}
		if err := w.Write(ex); err != nil {
			return c, err
		}
		*n++
	}
	if c.Kept() == 0 {
		return c, inputErr(fmt.Errorf("%w: all %d items were dropped (%s)", ErrNothingKept, c.Read, c.DroppedSummary()))
	}
	return c, nil
}

// DroppedSummary lists the non-zero drop counts in the order of Reasons,
// e.g. "3 overlap by id, 1 empty reference"; "none dropped" when there
// are none.
func (c Counts) DroppedSummary() string {
	s := ""
	for _, r := range Reasons {
		if n := c.Dropped[r]; n > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%d %s", n, r)
		}
	}
	if s == "" {
		return "none dropped"
	}
	return s
}

// check validates the options and writers.
func (o Options) check(train, validation Writer) error {
	switch {
	case o.Prompt == nil:
		return inputErr(errors.New("finetune: no prompt template"))
	case train == nil:
		return inputErr(errors.New("finetune: no training writer"))
	case math.IsNaN(o.ValidationFraction) || o.ValidationFraction < 0 || o.ValidationFraction >= 1:
		return inputErr(fmt.Errorf("finetune: validation fraction %v: want at least 0 and below 1", o.ValidationFraction))
	case o.ValidationFraction > 0 && validation == nil:
		return inputErr(errors.New("finetune: a validation fraction without a validation writer"))
	case o.Prompt.UsesTarget() && o.To == "":
		return inputErr(fmt.Errorf("finetune: the prompt %s shows the target language ({{.To}}) but none is given", o.Prompt.Name()))
	}
	return nil
}

// drop decides whether an item is dropped, and why.
func (o Options) drop(it dataset.Item) (Reason, bool) {
	if why, ok := o.Exclude.Match(it); ok {
		return why, true
	}
	if it.Source == "" {
		return EmptySource, true
	}
	if len(it.References) == 0 || it.References[0] == "" {
		return EmptyReference, true
	}
	if o.Score != nil {
		f, ok := o.Score(it.ID)
		if !ok || math.IsNaN(f) {
			return Unscored, true
		}
		if f < o.MinScore {
			return BelowScore, true
		}
	}
	return "", false
}

// inputError marks an error as ErrInvalidInput without changing its text.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrInvalidInput }

func inputErr(err error) error { return inputError{err} }
