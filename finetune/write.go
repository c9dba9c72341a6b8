package finetune

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Format is a training data format.
type Format string

// The formats (see the package documentation).
const (
	OpenAIChat Format = "openai"
	Alpaca     Format = "alpaca"
	ShareGPT   Format = "sharegpt"
)

// Formats lists the formats ParseFormat accepts, for flag help.
var Formats = []string{string(OpenAIChat), string(Alpaca), string(ShareGPT)}

// ParseFormat reads a format name as a flag gives it.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case OpenAIChat, Alpaca, ShareGPT:
		return f, nil
	}
	return "", inputErr(fmt.Errorf("unknown format %q: want %s", s, strings.Join(Formats, ", ")))
}

// Ext is the file extension trainers expect for the format: ".json" for
// Alpaca (one JSON document), ".jsonl" otherwise.
func (f Format) Ext() string {
	if f == Alpaca {
		return ".json"
	}
	return ".jsonl"
}

// Writer writes examples in one format.
type Writer interface {
	// Write writes one example.
	Write(Example) error
	// Close finishes the document (Alpaca's closing bracket) and flushes;
	// it does not close the io.Writer underneath.
	Close() error
}

// NewWriter returns a Writer of format f onto w.
func NewWriter(w io.Writer, f Format) (Writer, error) {
	switch f {
	case OpenAIChat, ShareGPT:
		return &jsonlWriter{w: bufio.NewWriter(w), format: f}, nil
	case Alpaca:
		return &alpacaWriter{w: bufio.NewWriter(w)}, nil
	}
	return nil, inputErr(fmt.Errorf("finetune: unknown format %q", f))
}

// chatMessage is one message of OpenAI's chat fine-tuning format.
type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chatRecord is one line of OpenAI's chat fine-tuning JSONL.
type chatRecord struct {
	Messages []chatMessage `json:"messages"`
}

// shareGPTTurn is one turn of a ShareGPT conversation.
type shareGPTTurn struct {
	From  string `json:"from"`
	Value string `json:"value"`
}

// shareGPTRecord is one line of ShareGPT JSONL.
type shareGPTRecord struct {
	Conversations []shareGPTTurn `json:"conversations"`
}

// alpacaRecord is one element of an Alpaca JSON array.
type alpacaRecord struct {
	Instruction string `json:"instruction"`
	Input       string `json:"input"`
	Output      string `json:"output"`
	System      string `json:"system,omitempty"`
}

func chatOf(ex Example) chatRecord {
	var m []chatMessage
	if ex.System != "" {
		m = append(m, chatMessage{"system", ex.System})
	}
	return chatRecord{append(m, chatMessage{"user", ex.Prompt}, chatMessage{"assistant", ex.Output})}
}

func shareGPTOf(ex Example) shareGPTRecord {
	var c []shareGPTTurn
	if ex.System != "" {
		c = append(c, shareGPTTurn{"system", ex.System})
	}
	return shareGPTRecord{append(c, shareGPTTurn{"human", ex.Prompt}, shareGPTTurn{"gpt", ex.Output})}
}

// marshal encodes v as one line of JSON, without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

type jsonlWriter struct {
	w      *bufio.Writer
	format Format
}

func (j *jsonlWriter) Write(ex Example) error {
	var v any = chatOf(ex)
	if j.format == ShareGPT {
		v = shareGPTOf(ex)
	}
	line, err := marshal(v)
	if err != nil {
		return err
	}
	j.w.Write(line)
	return j.w.WriteByte('\n')
}

func (j *jsonlWriter) Close() error { return j.w.Flush() }

// alpacaWriter streams a JSON array, one element a line.
type alpacaWriter struct {
	w *bufio.Writer
	n int
}

func (a *alpacaWriter) Write(ex Example) error {
	rec, err := marshal(alpacaRecord{Instruction: ex.Prompt, Output: ex.Output, System: ex.System})
	if err != nil {
		return err
	}
	sep := ",\n  "
	if a.n == 0 {
		sep = "[\n  "
	}
	a.n++
	a.w.WriteString(sep)
	_, err = a.w.Write(rec)
	return err
}

func (a *alpacaWriter) Close() error {
	if a.n == 0 {
		a.w.WriteString("[]\n")
	} else {
		a.w.WriteString("\n]\n")
	}
	return a.w.Flush()
}
