package finetune

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/dataset"
	"github.com/bertbench/bertbench/prompt"
)

// item is a dataset item with a given id (as a JSONL record gives it).
func item(id, source string, refs ...string) dataset.Item {
	raw, _ := json.Marshal(id)
	return dataset.Item{ID: id, IDJSON: raw, Source: source, References: refs}
}

// lineItem is an item whose id comes from its line ("L<n>").
func lineItem(line int, source string, refs ...string) dataset.Item {
	return dataset.Item{ID: fmt.Sprintf("L%d", line), Line: line, Source: source, References: refs}
}

func seq(items []dataset.Item) iter.Seq2[dataset.Item, error] {
	return func(yield func(dataset.Item, error) bool) {
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	}
}

func mustPrompt(t *testing.T, text string) *prompt.Template {
	t.Helper()
	p, err := prompt.Parse("--prompt", text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// collect is a Writer that keeps the examples.
type collect struct{ got []Example }

func (c *collect) Write(ex Example) error { c.got = append(c.got, ex); return nil }
func (c *collect) Close() error           { return nil }

func (c *collect) ids() []string {
	var ids []string
	for _, ex := range c.got {
		ids = append(ids, ex.ID)
	}
	return ids
}

// export runs Export into collecting writers.
func export(t *testing.T, items []dataset.Item, opts Options) (Counts, *collect, *collect) {
	t.Helper()
	if opts.Prompt == nil {
		opts.Prompt = mustPrompt(t, prompt.DefaultTranslate)
	}
	if opts.To == "" {
		opts.To = "Chinese"
	}
	train, val := &collect{}, &collect{}
	c, err := Export(context.Background(), seq(items), opts, train, val)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return c, train, val
}

// TestExport_Formats writes the same items in every format, checks each
// file against its documented shape (Validate) and reads back exactly
// what each record says.
func TestExport_Formats(t *testing.T) {
	items := []dataset.Item{
		item("a", "Guten Morgen", "早上好"),
		item("b", "<b>Tom & Jerry</b>", "<b>汤姆和杰瑞</b>", "ignored second reference"),
		item("c", "Zeile\nzwei \"Anführung\"", "第二行"),
	}
	tmpl := mustPrompt(t, prompt.DefaultTranslate)
	for _, system := range []string{"", "You are a translator."} {
		for _, f := range []Format{OpenAIChat, Alpaca, ShareGPT} {
			t.Run(fmt.Sprintf("%s/system=%t", f, system != ""), func(t *testing.T) {
				var buf bytes.Buffer
				w, err := NewWriter(&buf, f)
				if err != nil {
					t.Fatal(err)
				}
				c, err := Export(context.Background(), seq(items), Options{Prompt: tmpl, To: "Chinese", System: system}, w, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if c.Read != 3 || c.Train != 3 || c.Validation != 0 || c.DroppedTotal() != 0 {
					t.Errorf("counts %+v", c)
				}
				n, err := Validate(bytes.NewReader(buf.Bytes()), "out", f)
				if err != nil || n != 3 {
					t.Fatalf("Validate: %d, %v\n%s", n, err, buf.String())
				}
				if strings.Contains(buf.String(), `\u003c`) {
					t.Errorf("HTML-escaped output: %s", buf.String())
				}
				for i, rec := range decodeRecords(t, f, buf.Bytes()) {
					user, _ := tmpl.Render(prompt.Data{Source: items[i].Source, To: "Chinese"})
					want := Example{System: system, Prompt: user, Output: items[i].References[0]}
					if got := exampleOf(t, f, rec); got != want {
						t.Errorf("record %d: got %+v, want %+v", i+1, got, want)
					}
				}
			})
		}
	}
}

// decodeRecords reads the records of a file in format f.
func decodeRecords(t *testing.T, f Format, b []byte) []map[string]any {
	t.Helper()
	var recs []map[string]any
	if f == Alpaca {
		if err := json.Unmarshal(b, &recs); err != nil {
			t.Fatal(err)
		}
		return recs
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(b), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, m)
	}
	return recs
}

// exampleOf reads an example back from a record, checking that the
// record has exactly the keys the format documents.
func exampleOf(t *testing.T, f Format, rec map[string]any) Example {
	t.Helper()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range rec {
			if !yield(k) {
				return
			}
		}
	})
	var ex Example
	switch f {
	case OpenAIChat, ShareGPT:
		list, role, text := "messages", "role", "content"
		names := map[string]*string{"system": &ex.System, "user": &ex.Prompt, "assistant": &ex.Output}
		if f == ShareGPT {
			list, role, text = "conversations", "from", "value"
			names = map[string]*string{"system": &ex.System, "human": &ex.Prompt, "gpt": &ex.Output}
		}
		if !reflect.DeepEqual(keys, []string{list}) {
			t.Errorf("keys %v, want [%s]", keys, list)
		}
		for _, m := range rec[list].([]any) {
			m := m.(map[string]any)
			if len(m) != 2 {
				t.Errorf("turn %v: want exactly %q and %q", m, role, text)
			}
			*names[m[role].(string)] = m[text].(string)
		}
	case Alpaca:
		want := []string{"input", "instruction", "output"}
		if _, ok := rec["system"]; ok {
			want = []string{"input", "instruction", "output", "system"}
			ex.System = rec["system"].(string)
		}
		if !reflect.DeepEqual(keys, want) || rec["input"] != "" {
			t.Errorf("record %v: want keys %v and an empty input", rec, want)
		}
		ex.Prompt, ex.Output = rec["instruction"].(string), rec["output"].(string)
	}
	return ex
}

// TestExport_EmptyAlpaca: an Alpaca file without examples is still a JSON
// array.
func TestExport_EmptyAlpaca(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Alpaca)
	if err := w.Close(); err != nil || buf.String() != "[]\n" {
		t.Errorf("got %q, %v", buf.String(), err)
	}
}

// TestExport_SplitDeterministic: the split is a function of (seed, id):
// the same seed gives the same split, adding items moves no other item,
// another seed gives another split, and about the fraction goes to
// validation.
func TestExport_SplitDeterministic(t *testing.T) {
	var items []dataset.Item
	for i := range 2000 {
		items = append(items, item(fmt.Sprintf("id-%d", i), fmt.Sprintf("source %d", i), fmt.Sprintf("ref %d", i)))
	}
	opts := Options{Seed: 7, ValidationFraction: 0.1}
	c1, train1, val1 := export(t, items, opts)
	c2, train2, val2 := export(t, items, opts)
	if !reflect.DeepEqual(train1.got, train2.got) || !reflect.DeepEqual(val1.got, val2.got) || !reflect.DeepEqual(c1, c2) {
		t.Fatal("two exports with the same seed differ")
	}
	// 2000 × 0.1 = 200, σ ≈ 13.4: ±60 is beyond 4σ.
	if c1.Validation < 140 || c1.Validation > 260 || c1.Train+c1.Validation != 2000 {
		t.Errorf("validation %d of %d (train %d), want about 200", c1.Validation, c1.Read, c1.Train)
	}

	// More items, in another order: the first 2000 keep their sides.
	more := slices.Clone(items)
	for i := range 500 {
		more = append(more, item(fmt.Sprintf("new-%d", i), fmt.Sprintf("new source %d", i), "r"))
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(more), func(i, j int) { more[i], more[j] = more[j], more[i] })
	_, _, val3 := export(t, more, opts)
	inVal := make(map[string]bool)
	for _, id := range val3.ids() {
		inVal[id] = true
	}
	for _, it := range items {
		if was := slices.Contains(val1.ids(), it.ID); inVal[it.ID] != was {
			t.Fatalf("adding items moved %s (validation before: %t)", it.ID, was)
		}
	}

	_, _, val4 := export(t, items, Options{Seed: 8, ValidationFraction: 0.1})
	if reflect.DeepEqual(val1.ids(), val4.ids()) {
		t.Error("seeds 7 and 8 give the same split")
	}
	// The split is the documented hash: pin a few values so that a change
	// to it (which would reshuffle everyone's splits) is noticed.
	for _, tc := range []struct {
		seed uint64
		id   string
		f    float64
		want bool
	}{
		{7, "id-0", 0.1, slices.Contains(val1.ids(), "id-0")},
		{0, "x", 0, false},
		{0, "x", 1, true},
	} {
		if got := InValidation(tc.seed, tc.id, tc.f); got != tc.want {
			t.Errorf("InValidation(%d, %q, %v) = %t", tc.seed, tc.id, tc.f, got)
		}
	}
}

// TestInValidation_Pinned pins the documented hash (SHA-256 of the seed as
// 8 bytes big-endian, then the id; its first 53 bits as a fraction of
// 2^53), so that a change to it, which would move items between every
// user's train and validation sets, is noticed. The want values come from
// Python: hashlib.sha256(struct.pack('>Q', 1) + b'item-%d' % i).
func TestInValidation_Pinned(t *testing.T) {
	want := []bool{false, true, true, true, true, false, false, true, true, false, false, false, false, true, false, false}
	var got []bool
	for i := range 16 {
		got = append(got, InValidation(1, fmt.Sprint("item-", i), 0.5))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("split of item-0..15 at seed 1, fraction 0.5: got %v, want %v", got, want)
	}
}

// TestExport_NoEvalLeak builds a corpus where many items overlap the
// evaluation set, by id or by a source that differs only in case, width,
// white space and end punctuation, and checks that no written example
// overlaps it.
func TestExport_NoEvalLeak(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	eval := NewEvalSet()
	var evalItems []dataset.Item
	for i := range 300 {
		it := item(fmt.Sprintf("wmt-%d", i), fmt.Sprintf("The quick brown fox number %d jumps.", i), "r")
		evalItems = append(evalItems, it)
		eval.Add(it)
	}
	variants := []func(string) string{
		strings.ToUpper,
		func(s string) string { return "  " + strings.ReplaceAll(s, " ", " \t ") + "\n" },
		func(s string) string { return strings.TrimSuffix(s, ".") + "!!!" },
		func(s string) string { return "“" + s + "”" },
		toFullWidth,
	}
	var items []dataset.Item
	wantID, wantSource := 0, 0
	for i := range 3000 {
		switch rng.IntN(6) {
		case 0: // an evaluation id, a new source
			items = append(items, item(fmt.Sprintf("wmt-%d", rng.IntN(300)), fmt.Sprintf("fresh %d", i), "r"))
			wantID++
		case 1: // a new id, an evaluation source in disguise
			src := evalItems[rng.IntN(300)].Source
			items = append(items, item(fmt.Sprintf("train-%d", i), variants[rng.IntN(len(variants))](src), "r"))
			wantSource++
		default:
			items = append(items, item(fmt.Sprintf("train-%d", i), fmt.Sprintf("The quick brown fox number %d jumps, again.", i), "r"))
		}
	}
	byID := make(map[string]dataset.Item)
	for _, it := range items {
		byID[it.ID] = it
	}
	c, train, val := export(t, items, Options{Exclude: eval, Seed: 1, ValidationFraction: 0.2})
	if c.Dropped[OverlapID] != wantID || c.Dropped[OverlapSource] != wantSource || c.Kept() != 3000-wantID-wantSource {
		t.Errorf("counts %+v; want %d overlapping by id, %d by source", c, wantID, wantSource)
	}
	for _, ex := range append(train.got, val.got...) {
		if _, ok := eval.ids[ex.ID]; ok {
			t.Errorf("example %s has an evaluation id", ex.ID)
		}
		if _, ok := eval.sources[Normalize(byID[ex.ID].Source)]; ok {
			t.Errorf("example %s has an evaluation source: %q", ex.ID, byID[ex.ID].Source)
		}
	}
}

// toFullWidth writes ASCII letters, digits and punctuation full-width
// (U+FF01..U+FF5E), as CJK text often does.
func toFullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7f {
			return r - '!' + '！'
		}
		return r
	}, s)
}

// TestExport_LineIDsDoNotOverlap: ids derived from lines ("L3") are
// positions, not identities: a text test set's line 3 is not the training
// file's line 3. The source still counts.
func TestExport_LineIDsDoNotOverlap(t *testing.T) {
	eval := NewEvalSet()
	eval.Add(lineItem(1, "eins"))
	eval.Add(lineItem(2, "zwei"))
	eval.Add(item("L3", "drei")) // a given id that looks like a line's
	items := []dataset.Item{
		lineItem(1, "one", "r"),   // same derived id as eval line 1: kept
		lineItem(2, "ZWEI.", "r"), // same source as eval line 2: dropped
		lineItem(3, "three", "r"), // derived L3 against given L3: kept
		item("L1", "four", "r"),   // given L1 against derived L1: kept
		item("L3", "five", "r"),   // given L3 against given L3: dropped
	}
	c, train, _ := export(t, items, Options{Exclude: eval})
	if want := []string{"L1", "L3", "L1"}; !reflect.DeepEqual(train.ids(), want) {
		t.Errorf("kept %v, want %v", train.ids(), want)
	}
	if c.Dropped[OverlapSource] != 1 || c.Dropped[OverlapID] != 1 {
		t.Errorf("counts %+v", c)
	}
}

// TestExport_Drops: each reason, and the order they are checked in.
func TestExport_Drops(t *testing.T) {
	eval := NewEvalSet()
	eval.Add(item("e1", "evaluation source"))
	scores := map[string]float64{"good": 0.95, "edge": 0.9, "low": 0.5, "nan": math.NaN(), "e1": 1, "gone": 0.99}
	items := []dataset.Item{
		item("good", "a", "A"),
		item("edge", "b", "B"),
		item("low", "c", "C"),
		item("nan", "d", "D"),
		item("unscored", "e", "E"),
		item("e1", "", ""),                      // overlap by id comes first
		item("x1", "Evaluation source!", "R"),   // overlap by source
		item("x2", "", "R"),                     // empty source
		item("x3", "f"),                         // no reference
		item("x4", "g", "", "second is unused"), // empty first reference
	}
	var dropped []string
	opts := Options{
		Exclude:  eval,
		Score:    Scores(scores),
		MinScore: 0.9,
		OnDrop:   func(it dataset.Item, why Reason) { dropped = append(dropped, it.ID+": "+string(why)) },
	}
	c, train, _ := export(t, items, opts)
	if want := []string{"good", "edge"}; !reflect.DeepEqual(train.ids(), want) {
		t.Errorf("kept %v, want %v", train.ids(), want)
	}
	want := []string{"low: below score", "nan: no score", "unscored: no score", "e1: overlap by id",
		"x1: overlap by source", "x2: empty source", "x3: empty reference", "x4: empty reference"}
	if !reflect.DeepEqual(dropped, want) {
		t.Errorf("dropped %q, want %q", dropped, want)
	}
	wantCounts := map[Reason]int{OverlapID: 1, OverlapSource: 1, EmptySource: 1, EmptyReference: 2, Unscored: 2, BelowScore: 1}
	if c.Read != 10 || !reflect.DeepEqual(c.Dropped, wantCounts) {
		t.Errorf("counts %+v, want dropped %v", c, wantCounts)
	}
	if got, want := c.DroppedSummary(), "1 overlap by id, 1 overlap by source, 1 empty source, 2 empty reference, 2 no score, 1 below score"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

// TestExport_FromJSONL reads items through the dataset package, with a
// prompt that uses an item's extra field.
func TestExport_FromJSONL(t *testing.T) {
	const data = `{"id": 1, "source": "Hallo", "reference": "你好", "domain": "chat"}
{"id": "2", "source": "Welt", "references": ["世界", "天下"], "domain": "news"}
`
	r, err := dataset.NewReader(strings.NewReader(data), "train.jsonl", dataset.Options{Extra: true})
	if err != nil {
		t.Fatal(err)
	}
	eval := NewEvalSet()
	eval.Add(item("1", "other"))
	tmpl := mustPrompt(t, "[{{.Fields.domain}}] {{.Source}} → {{.To}}")
	train := &collect{}
	c, err := Export(context.Background(), r.All(), Options{Prompt: tmpl, To: "zh", Exclude: eval}, train, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{{ID: "2", Prompt: "[news] Welt → zh", Output: "世界"}}
	if !reflect.DeepEqual(train.got, want) || c.Dropped[OverlapID] != 1 {
		t.Errorf("got %+v (counts %+v), want %+v", train.got, c, want)
	}
}

func TestExport_Errors(t *testing.T) {
	tmpl := mustPrompt(t, prompt.DefaultTranslate)
	noTo := mustPrompt(t, "{{.Source}}")
	fields := mustPrompt(t, "{{.Fields.domain}} {{.Source}}")
	items := []dataset.Item{item("a", "x", "y")}
	readErr := errors.New("disk on fire")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		items iter.Seq2[dataset.Item, error]
		opts  Options
		val   Writer
		want  string
		input bool // matches ErrInvalidInput
	}{
		{"no prompt", nil, seq(items), Options{}, nil, "no prompt template", true},
		{"no target", nil, seq(items), Options{Prompt: tmpl}, nil, "{{.To}}", true},
		{"fraction 1", nil, seq(items), Options{Prompt: noTo, ValidationFraction: 1}, &collect{}, "validation fraction 1", true},
		{"fraction NaN", nil, seq(items), Options{Prompt: noTo, ValidationFraction: math.NaN()}, &collect{}, "validation fraction NaN", true},
		{"fraction without a writer", nil, seq(items), Options{Prompt: noTo, ValidationFraction: 0.5}, nil, "without a validation writer", true},
		{"everything dropped", nil, seq([]dataset.Item{item("a", "", "y")}), Options{Prompt: noTo}, nil, "all 1 items were dropped (1 empty source)", true},
		{"a field the item lacks", nil, seq(items), Options{Prompt: fields}, nil, "item a (line 0)", true},
		{"read error", nil, func(yield func(dataset.Item, error) bool) { yield(dataset.Item{}, readErr) }, Options{Prompt: noTo}, nil, "disk on fire", false},
		{"cancelled", cancelled, seq(items), Options{Prompt: noTo}, nil, "context canceled", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			_, err := Export(ctx, tc.items, tc.opts, &collect{}, tc.val)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if got := errors.Is(err, ErrInvalidInput) || errors.Is(err, prompt.ErrInvalidInput); got != tc.input {
				t.Errorf("error %q: input error %t, want %t", err, got, tc.input)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello, World.", "hello, world"},
		{"  HELLO,\t\tworld!!! ", "hello, world"},
		{"Ｈｅｌｌｏ，　Ｗｏｒｌｄ！", "hello, world"}, // full-width letters, comma, ideographic space
		{"“Quoted”", "quoted"},
		{"Straße", "strasse"},
		{"ﬁne", "fine"}, // ligature
		{"今天天气很好。", "今天天气很好"},
		{"Let's eat, Grandma", "let's eat, grandma"},
		{"...", "..."},
		{"?!", "?!"},
		{" ", ""},
		{"", ""},
		{"a\u00a0b", "a b"}, // no-break space
	}
	for _, tc := range tests {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if Normalize("...") == Normalize("?!") {
		t.Error("two punctuation-only texts normalise alike")
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"openai", "Alpaca", "SHAREGPT"} {
		if _, err := ParseFormat(s); err != nil {
			t.Errorf("ParseFormat(%q): %v", s, err)
		}
	}
	if _, err := ParseFormat("chatml"); err == nil || !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "want openai, alpaca, sharegpt") {
		t.Errorf("ParseFormat(chatml): %v", err)
	}
}
