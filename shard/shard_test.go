package shard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/scorer"
	"github.com/bertbench/bertbench/shard"
)

// sentence is a pseudo-random sentence of 1 to 20 words.
func sentence(r *rand.Rand, ws []string) string {
	n := 1 + r.IntN(20)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = ws[r.IntN(len(ws))]
	}
	return strings.Join(parts, " ")
}

// corpus writes n items as --field inputs: cands.jsonl (the candidates'
// "output", in shuffled order) and items.jsonl (ids and 1 to 3
// references each), and returns the pairs in item order.
func corpus(t testing.TB, dir string, n int, seed uint64) (in shard.Inputs, cands []string, refs [][]string) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	ws := fixture.Words(t, "tiny-mbert")
	var items, cs strings.Builder
	order := r.Perm(n)
	lines := make([]string, n)
	for i := range n {
		id := fmt.Sprintf("item-%05d", i)
		rs := make([]string, 1+r.IntN(3))
		for k := range rs {
			rs[k] = sentence(r, ws)
		}
		c := sentence(r, ws)
		if i%97 == 0 {
			c = "" // an empty candidate scores 0
		}
		cands, refs = append(cands, c), append(refs, rs)
		b, _ := json.Marshal(map[string]any{"id": id, "source": "src", "references": rs})
		items.Write(append(b, '\n'))
		b, _ = json.Marshal(map[string]any{"id": id, "output": c})
		lines[order[i]] = string(b)
	}
	for _, l := range lines {
		cs.WriteString(l + "\n")
	}
	in = shard.Inputs{Cands: filepath.Join(dir, "cands.jsonl"), Refs: []string{filepath.Join(dir, "items.jsonl")}, Field: "output"}
	write(t, in.Cands, cs.String())
	write(t, in.Refs[0], items.String())
	return in, cands, refs
}

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// openModel opens the tiny fixture model, as a plan's shards do.
func openModel(ctx context.Context, spec string, opts bertscore.Options) (*bertscore.Model, error) {
	return bertscore.Open(ctx, spec, opts)
}

// job plans a corpus of n items in shards, with idf and rescaling.
type job struct {
	plan  *shard.Plan
	cands []string
	refs  [][]string
	model *bertscore.Model
}

func newJob(t *testing.T, n, shards int, seed uint64) *job {
	t.Helper()
	orttest.Require(t)
	dir := t.TempDir()
	in, cands, refs := corpus(t, dir, n, seed)
	model := fixture.Dir(t, "tiny-mbert")
	m, err := bertscore.Open(context.Background(), model, bertscore.Options{Layer: 4, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	table, err := scorer.ReadBaselineFile(fixture.Path(t, "tiny-mbert", "baseline.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := shard.Make(context.Background(), shard.MakeOptions{
		Inputs: in, Model: m,
		Scoring: shard.Scoring{Model: model, ModelDir: true, Layer: 4, Device: "cpu"}, Threads: 1,
		IDF: true, Rescale: true, BaselineTable: table,
		Shards: shards, Dir: filepath.Join(dir, "job"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &job{plan: p, cands: cands, refs: refs, model: m}
}

// whole scores the job's pairs in one call, as bertbench score does.
func (j *job) whole(t *testing.T) *scorer.Result {
	t.Helper()
	table, err := scorer.ReadBaselineFile(fixture.Path(t, "tiny-mbert", "baseline.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := j.model.Scorer(bertscore.ScorerOptions{IDF: true, Rescale: true, BaselineTable: table})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Score(context.Background(), j.cands, j.refs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (j *job) run(t *testing.T, i int) {
	t.Helper()
	if _, already, err := j.plan.Run(context.Background(), i, shard.RunOptions{Open: openModel, Threads: 1}); err != nil || already {
		t.Fatalf("shard %d: %v (already done: %v)", i, err, already)
	}
}

// TestShardsMergeToScore: --field inputs (candidates in any order,
// several references an item), idf and rescaling, shards run out of
// order: the merge is Score over the whole input, every bit of every pair,
// the means, the config and the hash.
func TestShardsMergeToScore(t *testing.T) {
	j := newJob(t, 600, 5, 1)
	for _, i := range []int{3, 0, 4, 1, 2} {
		j.run(t, i)
	}
	m, err := j.plan.Merge(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := j.whole(t)
	got := m.Result
	if got.Hash != want.Hash || got.Config != want.Config || j.plan.Hash != want.Hash {
		t.Errorf("hash: merged %s, plan %s, one call %s", got.Hash, j.plan.Hash, want.Hash)
	}
	if len(got.Pairs) != len(want.Pairs) {
		t.Fatalf("%d pairs merged, %d scored", len(got.Pairs), len(want.Pairs))
	}
	for k := range got.Pairs {
		if got.Pairs[k] != want.Pairs[k] {
			t.Fatalf("pair %d: merged %v, one call %v", k, got.Pairs[k], want.Pairs[k])
		}
	}
	if got.Mean != want.Mean || got.Count != want.Count || got.Stats.EmptyCandidates != want.Stats.EmptyCandidates {
		t.Errorf("merged mean %v (%d pairs, %d empty), one call %v (%d, %d)", got.Mean, got.Count, got.Stats.EmptyCandidates, want.Mean, want.Count, want.Stats.EmptyCandidates)
	}
	if m.IDs[0] != "item-00000" || m.IDs[599] != "item-00599" {
		t.Errorf("ids %s .. %s", m.IDs[0], m.IDs[599])
	}
	// A done shard is not scored again: no model is opened.
	noModel := func(context.Context, string, bertscore.Options) (*bertscore.Model, error) {
		return nil, errors.New("opened a model for a shard that is done")
	}
	if _, already, err := j.plan.Run(context.Background(), 2, shard.RunOptions{Open: noModel}); err != nil || !already {
		t.Errorf("a done shard again: already %v, %v", already, err)
	}
}

// TestLoadRefusesEdits: a plan edited by hand is refused, as is a file
// that is not a plan.
func TestLoadRefusesEdits(t *testing.T) {
	j := newJob(t, 40, 2, 1)
	p, err := shard.Load(j.plan.Path())
	if err != nil || p.Digest != j.plan.Digest || p.NumShards() != 2 || p.Device() != "cpu" || p.DeviceKind() != "cpu" {
		t.Fatalf("Load: %v, %+v", err, p)
	}
	b, _ := os.ReadFile(j.plan.Path())
	edited := strings.Replace(string(b), `"count": 20`, `"count": 21`, 1)
	write(t, j.plan.Path(), edited)
	if _, err := shard.Load(j.plan.Path()); !errors.Is(err, shard.ErrBadPlan) || !strings.Contains(err.Error(), "edited") {
		t.Errorf("an edited plan: %v", err)
	}
	write(t, j.plan.Path(), "{}")
	if _, err := shard.Load(j.plan.Path()); !errors.Is(err, shard.ErrBadPlan) {
		t.Errorf("not a plan: %v", err)
	}
}

// TestRunRefusesChangedInput: an input that changed since the plan is
// refused before anything is scored.
func TestRunRefusesChangedInput(t *testing.T) {
	j := newJob(t, 40, 2, 1)
	in := j.plan.Inputs()
	b, _ := os.ReadFile(in.Refs[0])
	write(t, in.Refs[0], strings.Replace(string(b), "item-00003", "item-00003x", 1))
	_, _, err := j.plan.Run(context.Background(), 0, shard.RunOptions{Open: openModel, Threads: 1})
	if !errors.Is(err, shard.ErrInputChanged) || !strings.Contains(err.Error(), "items.jsonl changed since the plan") {
		t.Errorf("changed input: %v", err)
	}
	if left := j.plan.Partials(0); len(left) != 0 {
		t.Errorf("a refused shard left %q", left)
	}
}

// TestMergeRefuses: missing, foreign, duplicate, extra, tampered shards
// and shards of a configuration that gives other scores are refused with
// one line naming them; a shard on another device with exact float32 is
// taken, with a warning.
func TestMergeRefuses(t *testing.T) {
	j := newJob(t, 60, 3, 1)
	other := newJob(t, 60, 3, 2) // other inputs: another plan
	for i := range 3 {
		j.run(t, i)
	}
	other.run(t, 1)
	p := j.plan
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	doneOf := func(i int) map[string]any {
		var d map[string]any
		if err := json.Unmarshal(read(p.DonePath(i)), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	writeDone := func(i int, d map[string]any) {
		b, _ := json.Marshal(d)
		write(t, p.DonePath(i), string(b))
	}
	for _, tc := range []struct {
		name   string
		break_ func()
		kind   error
		want   string
	}{
		{"missing", func() { os.Remove(p.DonePath(1)) }, shard.ErrMissingShard,
			fmt.Sprintf("shard 1 of 3 missing (no %s): run bertbench score --plan %s --shard 1", p.DonePath(1), p.Path())},
		{"two missing", func() { os.Remove(p.DonePath(0)); os.Remove(p.DonePath(2)) }, shard.ErrMissingShard, "2 of 3 shards missing (no done marker in " + p.Dir() + "): shards 0, 2"},
		{"another plan", func() {
			write(t, p.DonePath(1), string(read(other.plan.DonePath(1))))
			write(t, p.ShardPath(1), string(read(other.plan.ShardPath(1))))
		}, shard.ErrForeignShard, "is a shard of another plan"},
		{"duplicate", func() {
			write(t, p.DonePath(2), string(read(p.DonePath(1))))
		}, shard.ErrForeignShard, "says it is shard 1"},
		{"extra", func() { write(t, filepath.Join(p.Dir(), shard.DoneFile(3)), "{}") }, shard.ErrForeignShard, "shard-00003.done.json, not of this plan's 3 shards"},
		{"tampered", func() {
			b := read(p.ShardPath(0))
			write(t, p.ShardPath(0), strings.Replace(string(b), `"P":0.`, `"P":0.1`, 1))
		}, shard.ErrForeignShard, "does not match its done marker"},
		{"tf32", func() {
			d := doneOf(1)
			d["config"].(map[string]any)["runtime"].(map[string]any)["precision"] = "fp32+tf32"
			writeDone(1, d)
		}, shard.ErrForeignShard, "does not give the plan's scores"},
		{"other idf", func() {
			d := doneOf(1)
			d["config"].(map[string]any)["score"].(map[string]any)["idf_digest"] = "00000000"
			writeDone(1, d)
		}, shard.ErrForeignShard, "does not give the plan's scores"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := map[string][]byte{}
			entries, _ := os.ReadDir(p.Dir())
			for _, e := range entries {
				saved[e.Name()] = read(filepath.Join(p.Dir(), e.Name()))
			}
			defer func() {
				entries, _ := os.ReadDir(p.Dir())
				for _, e := range entries {
					if _, ok := saved[e.Name()]; !ok {
						os.Remove(filepath.Join(p.Dir(), e.Name()))
					}
				}
				for name, b := range saved {
					write(t, filepath.Join(p.Dir(), name), string(b))
				}
			}()
			tc.break_()
			_, err := p.Merge(context.Background())
			if !errors.Is(err, tc.kind) || !errors.Is(err, shard.ErrInvalidInput) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("merge: %v\nwant one line of kind %v with %q", err, tc.kind, tc.want)
			}
		})
	}
	// A shard that ran on a GPU in exact float32 gives the plan's scores
	// (to 1e-5): taken, with a warning and the plan's hash.
	d := doneOf(1)
	d["config"].(map[string]any)["runtime"].(map[string]any)["device"] = "cuda:0"
	d["hash"] = "gpu-hash"
	writeDone(1, d)
	m, err := p.Merge(context.Background())
	if err != nil || len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "shard 1: device cuda:0 (shard 0: cpu)") || m.Result.Hash != p.Hash {
		t.Errorf("a shard on cuda:0 in fp32: %v, warnings %q, hash %s", err, m.Warnings, m.Result.Hash)
	}
	// Another runtime version, on the same device: the warning says so,
	// not that the devices differ.
	d = doneOf(1)
	d["config"].(map[string]any)["runtime"].(map[string]any)["runtime_version"] = "1.22.0"
	d["hash"] = "other-ort-hash"
	writeDone(1, d)
	d = doneOf(2)
	d["config"].(map[string]any)["runtime"].(map[string]any)["threads"] = 99 // not what names a score
	d["hash"] = "other-ort-hash-2"
	writeDone(2, d)
	m, err = p.Merge(context.Background())
	if err != nil || len(m.Warnings) != 1 || m.Result.Hash != p.Hash {
		t.Fatalf("a shard of another ORT: %v, warnings %q, hash %s", err, m.Warnings, m.Result.Hash)
	}
	if w := m.Warnings[0]; !strings.Contains(w, "shard 1: runtime_version 1.22.0 (shard 0: 1.30.0), device cuda:0 (shard 0: cpu); ") || strings.Contains(w, "devices") || strings.Contains(w, "threads") ||
		!strings.Contains(w, "shard 2: hash other-ort-hash-2 (shard 0: ") {
		t.Errorf("a shard of another ORT: warning %q", w)
	}
}

// TestPlanForCUDA: a plan for CUDA is made on the CPU (a login node has
// no GPU) and names the device its shards run on; a shard run on the CPU
// instead computes in exact float32 too, so it gives the plan's scores
// (SameScores), and its results are named by the device that ran.
func TestPlanForCUDA(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	in, _, _ := corpus(t, dir, 30, 3)
	model := fixture.Dir(t, "tiny-mbert")
	m, err := bertscore.Open(context.Background(), model, bertscore.Options{Layer: 4, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, err := shard.Make(context.Background(), shard.MakeOptions{Inputs: in, Model: m,
		Scoring: shard.Scoring{Model: model, ModelDir: true, Layer: 4, Device: "cuda:0"}, Threads: 1, Shards: 2, Dir: filepath.Join(dir, "job")})
	if err != nil {
		t.Fatal(err)
	}
	if p.Device() != "cuda:0" || p.DeviceKind() != "cuda" || p.Config.Runtime.Device != "cuda:0" || !strings.Contains(p.Hash, "provider=cuda,fp32") {
		t.Fatalf("a CUDA plan: device %s (%s), config %+v, hash %s", p.Device(), p.DeviceKind(), p.Config.Runtime, p.Hash)
	}
	for i := range 2 {
		if _, _, err := p.Run(context.Background(), i, shard.RunOptions{Open: openModel, Device: "cpu", Threads: 1}); err != nil {
			t.Fatal(err)
		}
	}
	merged, err := p.Merge(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(merged.Result.Hash, "provider=cpu,fp32") || len(merged.Warnings) != 0 {
		t.Errorf("shards run on the CPU: hash %s, warnings %q", merged.Result.Hash, merged.Warnings)
	}
}

// TestChangedInputAfterShards: an input changed after the shards ran is
// refused by a done shard run again (not "already done") and by the
// merge, which would otherwise give the old inputs' scores.
func TestChangedInputAfterShards(t *testing.T) {
	j := newJob(t, 40, 2, 1)
	for i := range 2 {
		j.run(t, i)
	}
	in := j.plan.Inputs()
	b, err := os.ReadFile(in.Cands)
	if err != nil {
		t.Fatal(err)
	}
	write(t, in.Cands, strings.Replace(string(b), `"output":"`, `"output":"changed `, 1))
	d, already, err := j.plan.Run(context.Background(), 0, shard.RunOptions{Open: openModel, Threads: 1})
	if !errors.Is(err, shard.ErrInputChanged) || !strings.Contains(err.Error(), "cands.jsonl changed since the plan") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a done shard after its input changed: already %v, %v, %v", already, d, err)
	}
	if _, err := os.Stat(j.plan.DonePath(0)); err != nil {
		t.Errorf("the refused run removed the done marker: %v", err)
	}
	if _, err := j.plan.Merge(context.Background()); !errors.Is(err, shard.ErrInputChanged) || !strings.Contains(err.Error(), "make a new plan") {
		t.Errorf("merge after an input changed: %v", err)
	}
}

// TestPlanInt8ForCUDARefused: an int8 model cannot run on CUDA (as
// onnxrt refuses to open it there), so a plan of one for --device cuda,
// whose every shard would fail, is refused when it is made.
func TestPlanInt8ForCUDARefused(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	in, _, _ := corpus(t, dir, 10, 3)
	model := filepath.Join(dir, "int8")
	if _, err := models.Import(context.Background(), fixture.Dir(t, "tiny-mbert"), model, models.ImportOptions{Layer: 3, Precision: modelspec.INT8}); err != nil {
		t.Fatal(err)
	}
	m, err := bertscore.Open(context.Background(), model, bertscore.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, dev := range []string{"cuda", "cuda:1", "cpu"} {
		_, err := shard.Make(context.Background(), shard.MakeOptions{Inputs: in, Model: m,
			Scoring: shard.Scoring{Model: model, ModelDir: true, Device: dev}, Threads: 1, Shards: 2, Dir: filepath.Join(dir, "job-"+dev)})
		if dev == "cpu" {
			if err != nil {
				t.Errorf("an int8 plan for the CPU: %v", err)
			}
			continue
		}
		if !errors.Is(err, shard.ErrInvalidInput) || !strings.Contains(err.Error(), "int8 models run on the CPU (--device cpu)") || strings.Contains(err.Error(), "\n") {
			t.Errorf("an int8 plan for %s: %v; want one line saying int8 runs on the CPU", dev, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "job-"+dev, shard.PlanFile)); err == nil {
			t.Errorf("a refused plan for %s was written", dev)
		}
	}
}

// TestMergeReadFailureIsARuntimeError: a results file that is there but
// cannot be opened (here a symbolic link to itself: ELOOP; an EIO or
// EMFILE alike) is a runtime failure, not a missing or foreign shard.
func TestMergeReadFailureIsARuntimeError(t *testing.T) {
	j := newJob(t, 30, 2, 1)
	for i := range 2 {
		j.run(t, i)
	}
	p := j.plan
	if err := os.Remove(p.ShardPath(1)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(p.ShardPath(1), p.ShardPath(1)); err != nil {
		t.Fatal(err)
	}
	_, err := p.Merge(context.Background())
	t.Logf("merge: %v", err)
	if err == nil || errors.Is(err, shard.ErrInvalidInput) {
		t.Errorf("merge over an unreadable results file: %v, want a runtime error (not ErrInvalidInput)", err)
	}
}
