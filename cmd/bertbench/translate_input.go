package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/bertbench/bertbench/dataset"
)

// readSources reads the translate input through the dataset package: text
// (one source per line), JSONL (a "source" field per line, optional "id"),
// CSV or TSV; format is text, jsonl, csv, tsv or auto (by file extension).
func readSources(path, format string, stdin io.Reader) ([]source, error) {
	f, err := dataset.ParseFormat(format)
	if err != nil {
		return nil, fmt.Errorf("--input-format: %w", err)
	}
	items, err := dataset.ReadAll(path, dataset.Options{Format: f, Stdin: stdin})
	if err != nil {
		return nil, err
	}
	out := make([]source, len(items))
	for i, it := range items {
		var id any // omitted from the output when the input gave none
		if it.IDGiven() {
			id = json.RawMessage(it.IDJSON)
		}
		out[i] = source{Line: it.Line, ID: id, Key: it.ID, Text: it.Source}
	}
	return out, nil
}
