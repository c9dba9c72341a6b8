package experiment

import (
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// languageCandidates are the tags LanguageTag tells by name: the
// languages whose script runners/outputcheck checks, and common regional
// and script variants.
var languageCandidates = []string{
	"zh-Hans", "zh-Hant", "zh", "yue", "ja", "ko", "ru", "uk", "bg", "be", "mk", "kk", "el", "ar", "fa", "ur", "he", "yi",
	"hi", "mr", "ne", "th", "af", "ca", "cs", "cy", "da", "de", "en", "en-GB", "en-US", "eo", "es", "et", "eu", "fi", "fr", "ga", "gl",
	"hr", "hu", "id", "is", "it", "la", "lt", "lv", "ms", "mt", "nb", "nl", "nn", "no", "pl", "pt", "pt-BR", "ro", "sk", "sl", "sq",
	"sr", "sv", "sw", "tl", "tr", "vi",
}

// LanguageTag returns the BCP 47 tag of the language a config's `to`
// names, so that outputs can be checked against its script: a tag as it
// is ("zh", "pt-BR"), or a language's name in English or in itself
// ("Chinese", "Simplified Chinese", "Chinese (Simplified)", "German",
// "Deutsch", "中文"), in any case. "" when it names no language it knows:
// the outputs' language is then not checked (set scoring.lang to the
// code).
func LanguageTag(to string) string {
	to = strings.TrimSpace(to)
	if to == "" {
		return ""
	}
	if t, err := language.Parse(to); err == nil && !strings.ContainsAny(to, " ()") {
		return t.String()
	}
	name := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
	want := name(to)
	try := []string{want}
	if i := strings.IndexByte(want, '('); i > 0 { // "chinese (simplified)": "simplified chinese", then "chinese"
		inner := strings.TrimSuffix(strings.TrimSpace(want[i+1:]), ")")
		head := strings.TrimSpace(want[:i])
		try = append(try, inner+" "+head, head)
	}
	for _, w := range try {
		for _, c := range languageCandidates {
			t := language.MustParse(c)
			if w == name(display.English.Tags().Name(t)) || w == name(display.Self.Name(t)) {
				return c
			}
		}
	}
	return ""
}
