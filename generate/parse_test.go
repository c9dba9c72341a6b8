package generate

import "testing"

func TestParseAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, answer, sep string
		src, ref          string // "" for no pair
	}{
		{"bare object", `{"source": "The cat sleeps.", "reference": "猫在睡觉。"}`, "", "The cat sleeps.", "猫在睡觉。"},
		{"code fence", "```json\n{\"source\": \"Hi there.\", \"reference\": \"你好。\"}\n```", "", "Hi there.", "你好。"},
		{"prose around", "Sure! Here it is:\n{\"source\": \"It rains.\", \"reference\": \"下雨了。\"}\nHope this helps.", "", "It rains.", "下雨了。"},
		{"keys in another case", `{"Source": "A", "Reference": "B"}`, "", "A", "B"},
		{"aliases", `{"sentence": "A dog.", "translation": "一只狗。"}`, "", "A dog.", "一只狗。"},
		{"nested", `{"pair": {"source": "x y", "reference": "z"}}`, "", "x y", "z"},
		{"first good object wins", `{"note": "draft"} then {"source": "a", "reference": "b"} {"source": "c", "reference": "d"}`, "", "a", "b"},
		{"braces in the strings", `{"source": "Use {braces}.", "reference": "用{括号}。"}`, "", "Use {braces}.", "用{括号}。"},
		{"escapes", `{"source": "He said \"no\".", "reference": "他说\u201c不\u201d。"}`, "", `He said "no".`, "他说“不”。"},
		{"trimmed", `{"source": "  padded \n", "reference": " 垫 "}`, "", "padded", "垫"},
		{"broken JSON", `{"source": "a", "reference": `, "", "", ""},
		{"missing reference", `{"source": "a"}`, "", "", ""},
		{"empty reference", `{"source": "a", "reference": "  "}`, "", "", ""},
		{"number values", `{"source": 1, "reference": 2}`, "", "", ""},
		{"no object", "just words", "", "", ""},
		{"separator fallback", "The sun rose. ||| 太阳升起了。", "|||", "The sun rose.", "太阳升起了。"},
		{"JSON before separator", `{"source": "a", "reference": "b"} ||| c`, "|||", "a", "b"},
		{"split at the first separator", "a ||| b ||| c", "|||", "a", "b ||| c"},
		{"separator with an empty side", "||| b", "|||", "", ""},
		{"no separator given", "a ||| b", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, ref, ok := parseAnswer(tc.answer, tc.sep)
			if ok != (tc.src != "") || src != tc.src || ref != tc.ref {
				t.Errorf("parseAnswer(%q) = %q, %q, %v; want %q, %q", tc.answer, src, ref, ok, tc.src, tc.ref)
			}
		})
	}
}

func FuzzParseAnswer(f *testing.F) {
	f.Add(`{"source": "a", "reference": "b"}`, "|||")
	f.Add("a ||| b", "|||")
	f.Add("{{{{\"source\":", "")
	f.Fuzz(func(t *testing.T, answer, sep string) {
		src, ref, ok := parseAnswer(answer, sep)
		if ok && (src == "" || ref == "") {
			t.Fatalf("ok with an empty side: %q, %q", src, ref)
		}
		if !ok && (src != "" || ref != "") {
			t.Fatalf("not ok but a pair: %q, %q", src, ref)
		}
	})
}
