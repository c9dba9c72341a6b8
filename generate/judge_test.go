package generate

import (
	"errors"
	"testing"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/batch"
)

// TestJudge covers each check on its own, settings included.
func TestJudge(t *testing.T) {
	ok := func(text string) batch.Outcome[int] {
		return batch.Outcome[int]{Result: runners.Result{Output: text, DoneReason: "stop"}}
	}
	for _, tc := range []struct {
		name   string
		change func(o *Options)
		out    batch.Outcome[int]
		want   Reason
	}{
		{"accepted", nil, ok(`{"source": "The cat sleeps on the warm sofa.", "reference": "猫睡在温暖的沙发上。"}`), ""},
		{"call error", nil, batch.Outcome[int]{Err: errors.New("boom"), Result: runners.Result{Error: "boom"}}, ReasonCallError},
		{"parse", nil, ok("nope"), ReasonParse},
		{"truncated", nil, batch.Outcome[int]{Result: runners.Result{Output: `{"source": "a`, DoneReason: "length"}}, ReasonTruncated},
		{"a parsed answer at the token limit is kept", nil, batch.Outcome[int]{Result: runners.Result{Output: `{"source": "The cat sleeps on the sofa.", "reference": "猫睡在沙发上。"}`, DoneReason: "length"}}, ""},
		{"too few words", func(o *Options) { o.Source.MinWords = 8 }, ok(`{"source": "The cat sleeps on the sofa.", "reference": "猫睡在沙发上。"}`), ReasonSourceTooShort},
		{"too many words", func(o *Options) { o.Source.MaxWords = 3 }, ok(`{"source": "The cat sleeps on the sofa.", "reference": "猫睡在沙发上。"}`), ReasonSourceTooLong},
		{"reference too short", func(o *Options) { o.Reference.MinChars = 10 }, ok(`{"source": "The cat sleeps on the sofa.", "reference": "猫睡在沙发上。"}`), ReasonReferenceTooShort},
		{"a reference without letters", nil, ok(`{"source": "The year was 1999.", "reference": "1999。"}`), ReasonReferenceLanguage},
		{"a few Latin names in Chinese pass", nil, ok(`{"source": "The iPhone has a USB-C port.", "reference": "iPhone 的 USB-C 接口"}`), ""},
		{"languages unchecked", func(o *Options) { o.MinShare = 0 }, ok(`{"source": "The cat sleeps.", "reference": "Le chat dort."}`), ""},
		{"a stricter share", func(o *Options) { o.MinShare = 0.9 }, ok(`{"source": "The iPhone has a USB-C port.", "reference": "iPhone 的 USB-C 接口"}`), ReasonReferenceLanguage},
		{"a language the check does not know", func(o *Options) { o.To = "xx" }, ok(`{"source": "The cat sleeps.", "reference": "Zzz qqq."}`), ""},
		{"untranslated", func(o *Options) { o.To = "fr" }, ok(`{"source": "Bonjour, Paris!", "reference": "bonjour paris"}`), ReasonUntranslated},
		{"French checked as Latin", func(o *Options) { o.To = "fr" }, ok(`{"source": "The cat sleeps.", "reference": "猫在睡觉。"}`), ReasonReferenceLanguage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Teacher, o.Count, o.Output = stubRunner{}, 1, "x.jsonl"
			if tc.change != nil {
				tc.change(&o)
			}
			p, err := o.plan()
			if err != nil {
				t.Fatal(err)
			}
			line, err := p.request(0)
			if err != nil {
				t.Fatal(err)
			}
			_, got, _ := p.judge(line, tc.out, newDedup(o.NearDuplicate))
			if got != tc.want {
				t.Errorf("judged %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLanguageName(t *testing.T) {
	for tag, want := range map[string]string{"en": "English", "en-GB": "English", "zh": "Chinese", "zh-Hant": "Traditional Chinese", "zh_TW": "Traditional Chinese", "xx": "xx"} {
		if got := LanguageName(tag); got != want {
			t.Errorf("LanguageName(%q) = %q, want %q", tag, got, want)
		}
	}
	if !ScriptChecked("zh") || !ScriptChecked("en") || ScriptChecked("xx") {
		t.Error("ScriptChecked")
	}
}
