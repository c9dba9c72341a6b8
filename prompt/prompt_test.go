package prompt

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"unclosed action", "{{.Source", []string{"--prompt:1: unclosed action"}},
		{"unknown function", "{{shout .Source}}", []string{"--prompt:1:", `function "shout" not defined`}},
		{"empty", "  \n", []string{"--prompt: the template is empty", "Translate the following"}},
		{"unknown field", "Translate {{.Text}}", []string{"--prompt:1:12: .Text: no field Text; a prompt sees .Source, .To, .ID, .Line, .Fields.NAME"}},
		{"unknown field through $", "{{with .Source}}{{$.Lang}}{{end}}", []string{"no field Lang"}},
		{"unknown field in an if", "{{if .To}}{{.Target}}{{end}}", []string{"no field Target"}},
		{"unknown field in an else", "{{range .Fields}}{{.}}{{else}}{{.Nope}}{{end}}", []string{"no field Nope"}},
		{"unknown field in a pipeline", `{{printf "%s" .Src}}`, []string{"no field Src"}},
		{"lower case", "{{.source}}", []string{"no field source"}},
		{"on a later line", "Source:\n\n{{.Sourc}}", []string{"--prompt:3:2:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("--prompt", tc.text)
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !errors.Is(err, ErrInvalidInput) {
				t.Errorf("error %q is not ErrInvalidInput", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") || strings.HasPrefix(err.Error(), "template:") {
				t.Errorf("error %q: want one line, without text/template's prefix", err)
			}
		})
	}
}

func TestRender(t *testing.T) {
	item := Data{Source: "Guten Morgen", To: "Chinese", ID: "12345678901234567891", Line: 7, Fields: map[string]string{"domain": "news"}}
	tests := []struct {
		name, text, want string
	}{
		{"the default", DefaultTranslate, "Translate the following text into Chinese. Reply with the translation only.\n\nGuten Morgen"},
		{"every field", "{{.ID}}@{{.Line}} [{{.Fields.domain}}] {{.Source}} -> {{.To}}", "12345678901234567891@7 [news] Guten Morgen -> Chinese"},
		{"dot changes in with and range", "{{with .Source}}<{{.}}>{{end}}{{range $k, $v := .Fields}} {{$k}}={{$v}} {{$.To}}{{end}}", "<Guten Morgen> domain=news Chinese"},
		{"no escaping", "{{.Source}} & <b>", "Guten Morgen & <b>"},
		{"a prompt without fields", "Say hello.", "Say hello."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := Parse("p", tc.text)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.Render(item)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tmpl, err := Parse("--prompt", "{{.Fields.domain}}: {{.Source}}")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []Data{{Source: "a"}, {Source: "a", Fields: map[string]string{"other": "x"}}} {
		_, err := tmpl.Render(d)
		if err == nil || !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), `--prompt:1:9: executing "--prompt" at <.Fields.domain>: map has no entry for key "domain"`) {
			t.Errorf("Render(%v) error %v; want the missing key named", d, err)
		}
	}
	tmpl, err = Parse("p", "{{.Source.Length}}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.Render(Data{Source: "a"}); err == nil || !strings.Contains(err.Error(), "can't evaluate field Length") {
		t.Errorf("a field of a string: %v", err)
	}
}

func TestUsesTarget(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{DefaultTranslate, true},
		{"{{.Source}}", false},
		{"Into {{.To}}: {{.Source}}", true},
		{"{{if .To}}into {{.To}}: {{end}}{{.Source}}", true},
		{"{{with .Source}}{{.}} into {{$.To}}{{end}}", true},
		{`{{.To | printf "%.0s"}}{{.Source}}`, false}, // named, never shown
		{"{{.Fields.lang}} {{.To}}", true},            // the trial render fails: named counts
		{"{{.Fields.lang}} {{.Source}}", false},
		{"{{range .Fields}}{{.}}{{end}}", false},
	}
	for _, tc := range tests {
		tmpl, err := Parse("p", tc.text)
		if err != nil {
			t.Fatalf("%q: %v", tc.text, err)
		}
		if got := tmpl.UsesTarget(); got != tc.want {
			t.Errorf("UsesTarget(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestTemplateAccessors(t *testing.T) {
	tmpl, err := Parse("--prompt", DefaultTranslate)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Name() != "--prompt" || tmpl.Text() != DefaultTranslate {
		t.Errorf("Name %q, Text %q", tmpl.Name(), tmpl.Text())
	}
}

// FuzzParse: whatever the text, Parse and Render return (a one-line
// ErrInvalidInput on failure), never panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{DefaultTranslate, "{{.Text}}", "{{with .Source}}{{$.To}}{{end}}", "{{range .Fields}}{{.}}{{else}}{{.X}}{{end}}", "{{define \"x\"}}{{.Y}}{{end}}{{template \"x\" .}}", "{{(.Fields).a}}", "{{$x := .Source}}{{$x}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tmpl, err := Parse("p", text)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse error %q", err)
			}
			return
		}
		_ = tmpl.UsesTarget()
		if _, err := tmpl.Render(Data{Source: "s", To: "t", Fields: map[string]string{"a": "b"}}); err != nil && !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("Render error %q", err)
		}
	})
}
