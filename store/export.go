package store

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/outputcheck"
)

// Export formats.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// Export writes the run named id ("": the latest) to w in format (jsonl or
// csv), one generation per line, streaming: memory stays flat whatever the
// run's size. A NaN score is null in JSON and an empty cell in CSV.
//
// JSONL lines carry every stored field, scores nested per scoring
// configuration. CSV has one column group per scoring configuration,
// named by the first 12 characters of its hash: HASH.p, HASH.r, HASH.f and
// the rescaled HASH.p_rescaled, HASH.r_rescaled, HASH.f_rescaled.
func (s *Store) Export(ctx context.Context, w io.Writer, id, format string) error {
	switch format {
	case FormatJSONL:
		return s.exportJSONL(ctx, w, id)
	case FormatCSV:
		return s.exportCSV(ctx, w, id)
	}
	return fmt.Errorf("export format %q: want jsonl or csv", format)
}

// exportLine is one JSONL line.
type exportLine struct {
	Run              string                  `json:"run"`
	Variation        string                  `json:"variation"`
	Item             string                  `json:"item"`
	Repeat           int                     `json:"repeat"`
	Source           string                  `json:"source"`
	References       []string                `json:"references"`
	Runner           string                  `json:"runner"`
	Model            string                  `json:"model"`
	ModelDigest      string                  `json:"model_digest,omitempty"`
	Output           string                  `json:"output"`
	LatencyMS        runners.Duration        `json:"latency_ms"`
	TTFTMS           runners.Duration        `json:"ttft_ms"`
	PromptTokens     int                     `json:"prompt_tokens"`
	CompletionTokens int                     `json:"completion_tokens"`
	Ollama           *runners.OllamaCounters `json:"ollama,omitempty"`
	CostUSD          *float64                `json:"cost_usd"`
	Attempts         int                     `json:"attempts"`
	Cached           bool                    `json:"cached"`
	Error            string                  `json:"error,omitempty"`
	TruncatedInput   bool                    `json:"truncated_input"`
	DoneReason       string                  `json:"done_reason,omitempty"`
	Flags            []outputcheck.Flag      `json:"flags"`
	Script           string                  `json:"script,omitempty"`
	ScriptShare      *float64                `json:"script_share"`
	PriorErrors      int                     `json:"prior_errors"`
	Session          int64                   `json:"session"`
	RequestKey       string                  `json:"request_key,omitempty"`
	FinishedAt       time.Time               `json:"finished_at"`
	Scores           []exportScore           `json:"scores"`
}

type exportScore struct {
	Scoring   string   `json:"scoring"`
	P         *float64 `json:"p"`
	R         *float64 `json:"r"`
	F         *float64 `json:"f"`
	PRescaled *float64 `json:"p_rescaled,omitempty"`
	RRescaled *float64 `json:"r_rescaled,omitempty"`
	FRescaled *float64 `json:"f_rescaled,omitempty"`
}

// orNull is f, nil (JSON null) for NaN.
func orNull(f float64) *float64 {
	if math.IsNaN(f) {
		return nil
	}
	return &f
}

func toLine(row Row) exportLine {
	res := row.Result
	l := exportLine{
		Run: row.Run, Variation: row.Variation, Item: row.Item, Repeat: row.Repeat, Source: row.Source,
		References: row.References, Runner: res.Runner, Model: res.Model, ModelDigest: res.ModelDigest,
		Output: res.Output, LatencyMS: res.Latency, TTFTMS: res.TTFT, PromptTokens: res.PromptTokens,
		CompletionTokens: res.CompletionTokens, Ollama: res.Ollama, CostUSD: res.CostUSD, Attempts: res.Attempts,
		Cached: res.Cached, Error: res.Error, TruncatedInput: res.TruncatedInput, DoneReason: res.DoneReason,
		Flags: row.Check.Flags, Script: row.Check.Script, ScriptShare: orNull(row.Check.Share),
		PriorErrors: row.PriorErrors, Session: row.Session, RequestKey: row.RequestKey, FinishedAt: row.FinishedAt,
		Scores: []exportScore{},
	}
	if l.Flags == nil {
		l.Flags = []outputcheck.Flag{}
	}
	for _, sc := range row.Scores {
		es := exportScore{Scoring: sc.Scoring, P: orNull(sc.Raw.P), R: orNull(sc.Raw.R), F: orNull(sc.Raw.F)}
		if sc.Rescaled != nil {
			es.PRescaled, es.RRescaled, es.FRescaled = orNull(sc.Rescaled.P), orNull(sc.Rescaled.R), orNull(sc.Rescaled.F)
		}
		l.Scores = append(l.Scores, es)
	}
	return l
}

func (s *Store) exportJSONL(ctx context.Context, w io.Writer, id string) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for row, err := range s.Rows(ctx, id) {
		if err != nil {
			return err
		}
		if err := enc.Encode(toLine(row)); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// csvColumns are the CSV columns before the score groups.
var csvColumns = []string{"run", "variation", "item", "repeat", "source", "references", "runner", "model", "output",
	"latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "cost_usd", "attempts", "cached", "error",
	"truncated_input", "done_reason", "flags", "script_share", "prior_errors", "session", "finished_at"}

var scoreColumns = []string{"p", "r", "f", "p_rescaled", "r_rescaled", "f_rescaled"}

func (s *Store) exportCSV(ctx context.Context, w io.Writer, id string) error {
	// One snapshot for the header and the rows: a scoring configuration
	// added meanwhile is in neither.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to undo
	r, err := s.lookupRun(ctx, tx, id)
	if err != nil {
		return err
	}
	scs, err := scorings(ctx, tx, r.id)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	header := append([]string(nil), csvColumns...)
	group := map[string]int{} // scoring hash → index of its first column
	for _, sc := range scs {
		group[sc.Hash] = len(header)
		for _, c := range scoreColumns {
			header = append(header, short(sc.Hash)+"."+c)
		}
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	num := func(f float64) string {
		if math.IsNaN(f) {
			return ""
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	for row, err := range rowsOf(ctx, tx, r) {
		if err != nil {
			return err
		}
		res := row.Result
		refs, _ := json.Marshal(row.References)
		cost := ""
		if res.CostUSD != nil {
			cost = num(*res.CostUSD)
		}
		rec := []string{row.Run, row.Variation, row.Item, strconv.Itoa(row.Repeat), row.Source, string(refs),
			res.Runner, res.Model, res.Output, num(millis(res.Latency)), num(millis(res.TTFT)),
			strconv.Itoa(res.PromptTokens), strconv.Itoa(res.CompletionTokens), cost, strconv.Itoa(res.Attempts),
			strconv.FormatBool(res.Cached), res.Error, strconv.FormatBool(res.TruncatedInput), res.DoneReason,
			row.Check.String(), num(row.Check.Share), strconv.Itoa(row.PriorErrors),
			strconv.FormatInt(row.Session, 10), formatTime(row.FinishedAt)}
		rec = append(rec, make([]string, len(header)-len(rec))...)
		for _, sc := range row.Scores {
			i := group[sc.Scoring] // in the header: same snapshot
			resc := NaNPRF
			if sc.Rescaled != nil {
				resc = *sc.Rescaled
			}
			for j, v := range []float64{sc.Raw.P, sc.Raw.R, sc.Raw.F, resc.P, resc.R, resc.F} {
				rec[i+j] = num(v)
			}
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
