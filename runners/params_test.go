package runners

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestRequest_Validate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		req   Request
		field string // "" when valid
		want  string // the error text
	}{
		{"zero request", Request{}, "", ""},
		{"every field set", Request{Mode: ModeGenerate, Params: Params{
			Temperature: ptr(0.0), TopP: ptr(1.0), Seed: ptr(-3), MaxTokens: ptr(1), NumCtx: ptr(2048), Stop: []string{"\n"},
			PresencePenalty: ptr(-2.0),
		}}, "", ""},
		{"presence_penalty 2", Request{Params: Params{PresencePenalty: ptr(2.0)}}, "", ""},
		{"presence_penalty above 2", Request{Params: Params{PresencePenalty: ptr(2.5)}}, "presence_penalty", "presence_penalty 2.5: must be in [-2, 2]"},
		{"presence_penalty below -2", Request{Params: Params{PresencePenalty: ptr(-3.0)}}, "presence_penalty", "presence_penalty -3: must be in [-2, 2]"},
		{"NaN presence_penalty", Request{Params: Params{PresencePenalty: ptr(math.NaN())}}, "presence_penalty", "presence_penalty NaN: must be in [-2, 2]"},
		{"chat", Request{Mode: ModeChat}, "", ""},
		{"unknown mode", Request{Mode: "complete"}, "mode", `mode "complete": want chat or generate`},
		{"negative temperature", Request{Params: Params{Temperature: ptr(-1.0)}}, "temperature", "temperature -1: must be >= 0"},
		{"NaN temperature", Request{Params: Params{Temperature: ptr(math.NaN())}}, "temperature", "temperature NaN: must be a finite number >= 0"},
		{"infinite temperature", Request{Params: Params{Temperature: ptr(math.Inf(1))}}, "temperature", "temperature +Inf: must be a finite number >= 0"},
		{"top_p above 1", Request{Params: Params{TopP: ptr(1.5)}}, "top_p", "top_p 1.5: must be in [0, 1]"},
		{"negative top_p", Request{Params: Params{TopP: ptr(-0.1)}}, "top_p", "top_p -0.1: must be in [0, 1]"},
		{"NaN top_p", Request{Params: Params{TopP: ptr(math.NaN())}}, "top_p", "top_p NaN: must be in [0, 1]"},
		{"zero max_tokens", Request{Params: Params{MaxTokens: ptr(0)}}, "max_tokens", "max_tokens 0: must be positive"},
		{"negative num_ctx", Request{Params: Params{NumCtx: ptr(-8)}}, "num_ctx", "num_ctx -8: must be positive"},
		{"the first bad field is named", Request{Mode: "x", Params: Params{Temperature: ptr(-1.0)}}, "mode", `mode "x": want chat or generate`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Validate() = %v (%T), want a *FieldError for %q", err, err, tc.field)
			}
			if !errors.Is(err, ErrInvalidInput) {
				t.Errorf("%v does not match ErrInvalidInput", err)
			}
			if err.Error() != tc.want {
				t.Errorf("Validate() = %q, want %q", err, tc.want)
			}
		})
	}
}

// TestFieldError_Rename: the caller names the field as its user knows it,
// a flag or a path in a config file, keeping the value and the reason.
func TestFieldError_Rename(t *testing.T) {
	err := Request{Params: Params{Temperature: ptr(-1.0), TopP: ptr(2.0)}}.Validate()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Validate() = %v", err)
	}
	flag := "--" + strings.ReplaceAll(fe.Field, "_", "-")
	if got := fe.Rename(flag).Error(); got != "--temperature -1: must be >= 0" {
		t.Errorf("flag: %q", got)
	}
	cfg := fe.Rename(fmt.Sprintf("variations[%d].%s", 2, fe.Field))
	if got := cfg.Error(); got != "variations[2].temperature -1: must be >= 0" {
		t.Errorf("config: %q", got)
	}
	if !errors.Is(cfg, ErrInvalidInput) || fe.Field != "temperature" {
		t.Errorf("renamed %v: kind lost or original changed (%q)", cfg, fe.Field)
	}
	if got := fmt.Sprintf("%s: %s", cfg.Field, cfg.Reason); got != "variations[2].temperature: must be >= 0" {
		t.Errorf("path: reason = %q", got)
	}
}
