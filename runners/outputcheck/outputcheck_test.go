package outputcheck

import (
	"math"
	"slices"
	"testing"

	"github.com/bertbench/bertbench/runners"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		res    runners.Result
		target string
		flags  []Flag
		script string
		share  float64 // NaN: not measured
	}{
		{"clean Chinese", runners.Result{Output: "今天天气很好。"}, "zh", nil, "Han", 1},
		{"Chinese with Latin names", runners.Result{Output: "iPhone 15 的 USB-C 接口"}, "zh-CN", nil, "Han", 0.5},
		{"English answer to a Chinese target", runners.Result{Output: "The weather is nice today."}, "zh", []Flag{WrongLanguage}, "Han", 0},
		{"mostly English with one Han word", runners.Result{Output: "Sure! Here is the translation of 你好"}, "zh", []Flag{WrongLanguage}, "Han", 2.0 / 8},
		{"traditional Chinese script subtag", runners.Result{Output: "謝謝你"}, "zh-Hant", nil, "Han", 1},
		{"Japanese kana and kanji", runners.Result{Output: "今日はいい天気です。"}, "ja", nil, "Han+Kana", 1},
		{"Chinese answer to an English target", runners.Result{Output: "今天天气很好"}, "en", []Flag{WrongLanguage}, "Latin", 0},
		{"English with a Chinese name", runners.Result{Output: "Li Wei (李伟) arrived"}, "en-GB", nil, "Latin", 3.0 / 5},
		{"French accents are Latin", runners.Result{Output: "Ça été très élégant"}, "fr", nil, "Latin", 1},
		{"Russian", runners.Result{Output: "Привет, мир"}, "ru", nil, "Cyrillic", 1},
		{"Hindi vowel signs stay in their word", runners.Result{Output: "नमस्ते दुनिया"}, "hi", nil, "Devanagari", 1},
		{"unknown target: not checked", runners.Result{Output: "whatever"}, "xx", nil, "", math.NaN()},
		{"no target: not checked", runners.Result{Output: "whatever"}, "", nil, "", math.NaN()},
		{"digits only: nothing to judge", runners.Result{Output: "42 + 7"}, "zh", nil, "Han", math.NaN()},
		{"empty", runners.Result{Output: "  \n"}, "zh", []Flag{Empty}, "Han", math.NaN()},
		{"error", runners.Result{Error: "HTTP 500"}, "zh", []Flag{Error}, "Han", math.NaN()},
		{"truncated input and output", runners.Result{Output: "你好", TruncatedInput: true, DoneReason: "length"}, "zh", []Flag{TruncatedInput, TruncatedOutput}, "Han", 1},
		{"failed and truncated", runners.Result{Error: "context window full", TruncatedInput: true}, "en", []Flag{Error, TruncatedInput}, "Latin", math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Check(tt.res, tt.target)
			if !slices.Equal(rep.Flags, tt.flags) {
				t.Errorf("flags %v, want %v", rep.Flags, tt.flags)
			}
			if rep.Script != tt.script {
				t.Errorf("script %q, want %q", rep.Script, tt.script)
			}
			if math.IsNaN(tt.share) != math.IsNaN(rep.Share) || (!math.IsNaN(tt.share) && math.Abs(rep.Share-tt.share) > 1e-12) {
				t.Errorf("share %v, want %v", rep.Share, tt.share)
			}
			for _, f := range All {
				if rep.Has(f) != slices.Contains(tt.flags, f) {
					t.Errorf("Has(%s) = %v", f, rep.Has(f))
				}
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	for _, flags := range [][]Flag{nil, {Empty}, All} {
		got, err := ParseFlags(JoinFlags(flags))
		if err != nil || !slices.Equal(got, flags) {
			t.Errorf("ParseFlags(JoinFlags(%v)) = %v, %v", flags, got, err)
		}
	}
	if _, err := ParseFlags("empty,shiny"); err == nil {
		t.Error("ParseFlags accepted an unknown flag")
	}
}
