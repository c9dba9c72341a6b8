package finetune

import (
	"errors"
	"strings"
	"testing"
)

// The documented examples each format's documentation shows must pass.
func TestValidate_Documented(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		text   string
		want   int
	}{
		{"OpenAI chat (the fine-tuning guide's Marv)", OpenAIChat,
			`{"messages": [{"role": "system", "content": "Marv is a factual chatbot that is also sarcastic."}, {"role": "user", "content": "What's the capital of France?"}, {"role": "assistant", "content": "Paris, as if everyone doesn't know that already."}]}
{"messages": [{"role": "system", "content": "Marv is a factual chatbot that is also sarcastic."}, {"role": "user", "content": "Who wrote 'Romeo and Juliet'?"}, {"role": "assistant", "content": "Oh, just some guy named William Shakespeare. Ever heard of him?"}]}
`, 2},
		{"OpenAI chat with weights (multi-turn)", OpenAIChat,
			`{"messages": [{"role": "system", "content": "Marv"}, {"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris", "weight": 0}, {"role": "user", "content": "More sarcastic?"}, {"role": "assistant", "content": "Paris, obviously.", "weight": 1}]}`, 1},
		{"OpenAI chat without a system message, tool call", OpenAIChat,
			`{"messages": [{"role": "user", "content": "Weather?"}, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c1", "content": "sunny"}, {"role": "assistant", "content": "Sunny."}], "tools": [{"type": "function", "function": {"name": "w"}}], "parallel_tool_calls": false}`, 1},
		{"Alpaca (Stanford alpaca_data.json)", Alpaca,
			`[
    {
        "instruction": "Give three tips for staying healthy.",
        "input": "",
        "output": "1.Eat a balanced diet and make sure to include plenty of fruits and vegetables."
    },
    {
        "instruction": "Translate the following sentence into Spanish.",
        "input": "I like apples.",
        "output": "Me gustan las manzanas."
    }
]`, 2},
		{"Alpaca with system and history (LLaMA-Factory)", Alpaca,
			`[{"instruction": "q2", "input": "", "output": "a2", "system": "be brief", "history": [["q1", "a1"]]}]`, 1},
		{"Alpaca without input", Alpaca, `[{"instruction": "Say hi.", "output": "Hi."}]`, 1},
		{"ShareGPT (axolotl, system first)", ShareGPT,
			`{"conversations": [{"from": "system", "value": "You translate."}, {"from": "human", "value": "Hallo"}, {"from": "gpt", "value": "Hello"}]}
{"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}, {"from": "human", "value": "c"}, {"from": "gpt", "value": "d"}]}

`, 2},
		{"ShareGPT with a system field (LLaMA-Factory)", ShareGPT,
			`{"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}], "system": "s"}`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Validate(strings.NewReader(tc.text), "f", tc.format)
			if err != nil || n != tc.want {
				t.Errorf("Validate: %d examples, %v; want %d, no error", n, err, tc.want)
			}
		})
	}
}

// Validate must fail on what is not the format's shape, naming the line:
// otherwise the shape tests of the writers could not fail.
func TestValidate_Rejects(t *testing.T) {
	const okChat = `{"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]}`
	tests := []struct {
		name   string
		format Format
		text   string
		want   string // in the error, after "f:"
	}{
		{"chat: not JSON", OpenAIChat, "{nope", "f:1: malformed JSON"},
		{"chat: an array", OpenAIChat, `[1]`, "f:1: not a JSON object"},
		{"chat: Alpaca record", OpenAIChat, `{"instruction": "i", "input": "", "output": "o"}`, `f:1: the example: unknown key "input"`},
		{"chat: no messages", OpenAIChat, `{}`, `no "messages"`},
		{"chat: message typo", OpenAIChat, okChat + "\n" + `{"message": []}`, `f:2: the example: unknown key "message"`},
		{"chat: empty messages", OpenAIChat, `{"messages": []}`, `"messages" is empty`},
		{"chat: messages not an array", OpenAIChat, `{"messages": {"role": "user"}}`, `"messages" must be an array`},
		{"chat: bad role", OpenAIChat, `{"messages": [{"role": "human", "content": "u"}, {"role": "assistant", "content": "a"}]}`, `message 1: role "human"`},
		{"chat: ShareGPT field names", OpenAIChat, `{"messages": [{"from": "human", "value": "u"}]}`, `message 1: no "role"`},
		{"chat: no content", OpenAIChat, `{"messages": [{"role": "user"}, {"role": "assistant", "content": "a"}]}`, `message 1: no "content"`},
		{"chat: content a number", OpenAIChat, `{"messages": [{"role": "user", "content": 3}, {"role": "assistant", "content": "a"}]}`, `"content" must be a string or an array`},
		{"chat: weight on a user", OpenAIChat, `{"messages": [{"role": "user", "content": "u", "weight": 1}, {"role": "assistant", "content": "a"}]}`, `message 1 (user): unknown key "weight"`},
		{"chat: weight 2", OpenAIChat, `{"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a", "weight": 2}]}`, "weight 2: want 0 or 1"},
		{"chat: no assistant", OpenAIChat, `{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}`, "no assistant message"},
		{"chat: key twice", OpenAIChat, `{"messages": [], "messages": []}`, `key "messages" given twice`},
		{"chat: two objects on a line", OpenAIChat, okChat + okChat, "text after the JSON object"},
		{"chat: empty file", OpenAIChat, "\n\n", "f:2: no examples"},
		{"alpaca: JSONL instead of an array", Alpaca, `{"instruction": "i", "input": "", "output": "o"}`, "f:1: not a JSON array"},
		{"alpaca: no instruction", Alpaca, "[\n" + `{"input": "", "output": "o"}]`, `f:2: element 1: the record: no "instruction"`},
		{"alpaca: empty instruction", Alpaca, `[{"instruction": "", "output": "o"}]`, `"instruction" is empty`},
		{"alpaca: no output", Alpaca, `[{"instruction": "i", "input": "x"}]`, `no "output"`},
		{"alpaca: output null", Alpaca, `[{"instruction": "i", "output": null}]`, `"output" must be a string`},
		{"alpaca: chat record", Alpaca, `[{"instruction": "i", "output": "o"},` + "\n  " + okChat + `]`, `f:2: element 2: the record: unknown key "messages"`},
		{"alpaca: bad history", Alpaca, `[{"instruction": "i", "output": "o", "history": [["q"]]}]`, `"history" item 1`},
		{"alpaca: not closed", Alpaca, `[{"instruction": "i", "output": "o"}`, "malformed JSON"},
		{"alpaca: text after", Alpaca, `[{"instruction": "i", "output": "o"}] x`, "text after the array"},
		{"alpaca: empty array", Alpaca, `[]`, "no examples"},
		{"sharegpt: chat record", ShareGPT, okChat, `unknown key "messages"`},
		{"sharegpt: no conversations", ShareGPT, `{"system": "s"}`, `no "conversations"`},
		{"sharegpt: role/content turns", ShareGPT, `{"conversations": [{"role": "user", "content": "u"}]}`, `turn 1: unknown key "content"`},
		{"sharegpt: unknown from", ShareGPT, `{"conversations": [{"from": "user", "value": "u"}, {"from": "gpt", "value": "a"}]}`, `turn 1: from "user"`},
		{"sharegpt: gpt first", ShareGPT, `{"conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "u"}]}`, "where a human turn belongs"},
		{"sharegpt: two humans", ShareGPT, `{"conversations": [{"from": "human", "value": "a"}, {"from": "human", "value": "u"}]}`, "where a gpt turn belongs"},
		{"sharegpt: late system", ShareGPT, `{"conversations": [{"from": "human", "value": "a"}, {"from": "system", "value": "s"}]}`, "a system turn must come first"},
		{"sharegpt: ends with human", ShareGPT, `{"conversations": [{"from": "human", "value": "a"}]}`, `must end with a gpt turn`},
		{"sharegpt: only system", ShareGPT, `{"conversations": [{"from": "system", "value": "s"}]}`, "no human and gpt turns"},
		{"sharegpt: value a number", ShareGPT, `{"conversations": [{"from": "human", "value": 1}, {"from": "gpt", "value": "a"}]}`, `"value" must be a string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(strings.NewReader(tc.text), "f", tc.format)
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			var se *ShapeError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidInput) {
				t.Errorf("error %v (%T) is not a *ShapeError matching ErrInvalidInput", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, tc.want)
			}
		})
	}
}
