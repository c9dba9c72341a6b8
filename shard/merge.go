package shard

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/bertbench/bertbench/scorer"
)

// Merged is a merged job: the one-process Result and the items' ids.
type Merged struct {
	// Result holds every pair's scores in item order, the corpus means
	// added in that order, the configuration and hash, and the shards'
	// stats added up.
	Result *scorer.Result
	// IDs are the items' ids, IDs[k] that of Result.Pairs[k].
	IDs []string
	// Warnings say what a reader of the result should know (shards that
	// ran on different devices).
	Warnings []string
}

// Merge reads every shard of the plan and merges them. It refuses, naming
// them, missing shards (no done marker), markers of another plan or of a
// configuration that does not give the plan's scores, duplicates, results
// files that do not match their marker, and shard files the plan does not
// have.
func (p *Plan) Merge(ctx context.Context) (*Merged, error) {
	if err := p.checkExtra(); err != nil {
		return nil, err
	}
	var missing []int
	dones := make([]*Done, len(p.Shards))
	for i := range p.Shards {
		d, err := p.readDone(i)
		if err != nil {
			return nil, err
		}
		if d == nil {
			missing = append(missing, i)
			continue
		}
		if err := p.checkDone(i, d); err != nil {
			return nil, err
		}
		dones[i] = d
	}
	if len(missing) > 0 {
		return nil, missingErr(p, missing)
	}
	out := &Merged{Result: &scorer.Result{Pairs: make([]scorer.PRF, 0, p.Items)}, IDs: make([]string, 0, p.Items)}
	var means scorer.Means
	st := &out.Result.Stats
	for i, d := range dones {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := p.readShard(i, d, out, &means); err != nil {
			return nil, err
		}
		s := d.Stats
		st.Chunks += s.Chunks
		st.Sentences += s.Sentences
		st.Tokens += s.Tokens
		st.Batches += s.Batches
		st.PaddedTokens += s.PaddedTokens
		st.PeakEmbeddingBytes = max(st.PeakEmbeddingBytes, s.PeakEmbeddingBytes)
		st.EmptyCandidates += s.EmptyCandidates
		st.EmptyReferences += s.EmptyReferences
		st.TruncatedCandidates += s.TruncatedCandidates
		st.TruncatedReferences += s.TruncatedReferences
		st.MaxTokens = max(st.MaxTokens, s.MaxTokens)
		st.Tokenize += s.Tokenize
		st.Encode += s.Encode
		st.Match += s.Match
		st.Wall += s.Wall
	}
	r := out.Result
	r.Count = len(r.Pairs)
	r.Mean = means.Mean()
	r.Config, r.Hash = dones[0].Config, dones[0].Hash
	var other []string
	for i, d := range dones {
		if d.Hash != r.Hash {
			other = append(other, fmt.Sprintf("shard %d: %s", i, d.Config.Runtime.Device))
		}
	}
	if len(other) > 0 {
		// The scores agree to the scorer's parity bound (SameScores), not
		// bit for bit: the result is named by the plan's configuration.
		r.Config, r.Hash = p.Config, p.Hash
		out.Warnings = append(out.Warnings, fmt.Sprintf("the shards ran on different devices (shard 0: %s; %s); their scores agree to 1e-5, and the result carries the plan's hash",
			dones[0].Config.Runtime.Device, strings.Join(other, "; ")))
	}
	return out, nil
}

// missingErr names the missing shards and the command that makes them.
func missingErr(p *Plan, missing []int) error {
	run := fmt.Sprintf("run bertbench score --plan %s --shard %d", p.Path(), missing[0])
	if len(missing) == 1 {
		return inputf(ErrMissingShard, "shard %d of %d missing (no %s): %s", missing[0], len(p.Shards), p.DonePath(missing[0]), run)
	}
	names := make([]string, 0, 10)
	for _, i := range missing[:min(len(missing), 10)] {
		names = append(names, strconv.Itoa(i))
	}
	more := ""
	if len(missing) > 10 {
		more = fmt.Sprintf(" and %d more", len(missing)-10)
	}
	return inputf(ErrMissingShard, "%d of %d shards missing (no done marker in %s): shards %s%s; %s, and the same for each", len(missing), len(p.Shards), p.Dir(), strings.Join(names, ", "), more, run)
}

// checkExtra refuses shard files in the plan's folder whose index the
// plan does not have: shards of another plan, left there.
func (p *Plan) checkExtra() error {
	entries, err := os.ReadDir(p.Dir())
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	var extra []string
	for _, e := range entries {
		if i, ok := parseShardName(e.Name()); ok && i >= len(p.Shards) {
			extra = append(extra, e.Name())
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return inputf(ErrForeignShard, "%s holds %s, not of this plan's %d shards (0 to %d): a shard of another plan; move it away", p.Dir(), strings.Join(extra, ", "), len(p.Shards), len(p.Shards)-1)
	}
	return nil
}

// readShard appends shard i's pairs to out (adding them to means in item
// order), checking the file against marker d and the plan.
func (p *Plan) readShard(i int, d *Done, out *Merged, means *scorer.Means) error {
	path := p.ShardPath(i)
	rerun := fmt.Sprintf("rerun bertbench score --plan %s --shard %d", p.Path(), i)
	f, err := os.Open(path)
	if err != nil {
		return inputf(ErrForeignShard, "shard %d has a done marker but no results file %s: %s", i, path, rerun)
	}
	defer f.Close()
	sum := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(f, sum), 64<<10)
	sh := p.Shards[i]
	n := 0
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			l, perr := parseLine(b)
			if perr != nil {
				return inputf(ErrForeignShard, "%s:%d: %v: %s", path, n+1, perr, rerun)
			}
			if l.I != sh.First+n {
				return inputf(ErrForeignShard, "%s:%d: item %d, want %d (a duplicate or missing pair): %s", path, n+1, l.I, sh.First+n, rerun)
			}
			out.Result.Pairs = append(out.Result.Pairs, l.PRF)
			out.IDs = append(out.IDs, l.ID)
			means.Add(l.PRF)
			n++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != d.SHA256 {
		return inputf(ErrForeignShard, "%s does not match its done marker (sha256 %.12s, the marker says %.12s): the file changed or is from another run; %s", path, got, d.SHA256, rerun)
	}
	if n != sh.Count {
		return inputf(ErrForeignShard, "%s has %d pairs, the plan's shard %d has %d: %s", path, n, i, sh.Count, rerun)
	}
	if ids := out.IDs[len(out.IDs)-n:]; ids[0] != sh.FirstID || ids[n-1] != sh.LastID {
		return inputf(ErrForeignShard, "%s covers items %s to %s, the plan's shard %d %s to %s: %s", path, ids[0], ids[n-1], i, sh.FirstID, sh.LastID, rerun)
	}
	return nil
}
