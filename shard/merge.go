package shard

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	// ran with another configuration, within the parity bound).
	Warnings []string
}

// Merge reads every shard of the plan and merges them. It refuses, naming
// them, missing shards (no done marker), markers of another plan or of a
// configuration that does not give the plan's scores, duplicates, results
// files that do not match their marker, and shard files the plan does not
// have; and inputs that changed since the plan (the shards' results are
// of the old inputs).
func (p *Plan) Merge(ctx context.Context) (*Merged, error) {
	if err := p.checkExtra(); err != nil {
		return nil, err
	}
	if err := p.checkInputs(); err != nil {
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
	for i, d := range dones {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := p.readShard(i, d, out, &means); err != nil {
			return nil, err
		}
		out.Result.Stats.Add(d.Stats)
	}
	r := out.Result
	r.Count = len(r.Pairs)
	r.Mean = means.Mean()
	r.Config, r.Hash = dones[0].Config, dones[0].Hash
	var other []string
	for i, d := range dones {
		if d.Hash != r.Hash {
			other = append(other, fmt.Sprintf("shard %d: %s", i, configDiff(dones[0], d)))
		}
	}
	if len(other) > 0 {
		// The scores agree to the scorer's parity bound (SameScores), not
		// bit for bit: the result is named by the plan's configuration.
		r.Config, r.Hash = p.Config, p.Hash
		out.Warnings = append(out.Warnings, fmt.Sprintf("shards ran with another configuration than shard 0 (%s); their scores agree to 1e-5, and the result carries the plan's hash",
			strings.Join(other, "; ")))
	}
	return out, nil
}

// configDiff says how marker d's configuration differs from first's, in
// the fields that can change a hash: "device cuda:0 (shard 0: cpu)". The
// batch budget, chunk size and threads are each machine's own and name no
// score; a hash that differs in nothing else is named itself.
func configDiff(first, d *Done) string {
	a, b := first.Config, d.Config
	a.Runtime.BatchTokens, a.Runtime.ChunkTokens, a.Runtime.Threads = 0, 0, 0
	b.Runtime.BatchTokens, b.Runtime.ChunkTokens, b.Runtime.Threads = 0, 0, 0
	var parts []string
	for _, f := range a.Diff(b) {
		parts = append(parts, fmt.Sprintf("%s %s (shard %d: %s)", f.Field, f.B, first.Shard, f.A))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("hash %s (shard %d: %s)", d.Hash, first.Shard, first.Hash)
	}
	return strings.Join(parts, ", ")
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
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("merge: reading shard %d: %w", i, err) // a runtime failure, not bad input
	}
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
