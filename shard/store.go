package shard

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/bertbench/bertbench/store"
)

// Store stores the merged scores in a results store as the scores of a
// run's variation: item k's as those of the generation (variation,
// IDs[k], repeat), under the result's scoring hash and configuration, so
// that compare and report read them as the run's own. The plan must be of
// that variation's outputs, planned against the run's dataset (--field
// output -r the dataset): every item needs a successful generation there,
// which is checked before anything is written. The store keeps raw scores
// (with rescaled ones beside them), so a plan with rescaling, whose shards
// write the rescaled scores alone, is refused: plan without --rescale
// (compare and report read raw scores). It returns how many scores were
// new (a score stored before is kept).
func (m *Merged) Store(ctx context.Context, run *store.Run, variation string, repeat int) (int, error) {
	r := m.Result
	if r.Config.Score.Rescale {
		return 0, inputf(nil, "--store: the plan rescales its scores (--rescale), and a results store keeps the raw ones (the rescaled beside them): make the plan without --rescale to store its scores")
	}
	found := false
	for _, v := range run.Variations() {
		if v.Name == variation {
			found = true
			if repeat < 0 || repeat >= v.Repeats {
				return 0, inputf(nil, "--repeat %d: variation %q of run %s has repeats 0 to %d", repeat, variation, run.ID(), v.Repeats-1)
			}
		}
	}
	if !found {
		return 0, inputf(nil, "--variation: run %s has no variation %q (bertbench runs show %s lists them)", run.ID(), variation, run.ID())
	}
	done, err := run.Done(ctx)
	if err != nil {
		return 0, err
	}
	scores := make([]store.Score, len(r.Pairs))
	for k, prf := range r.Pairs {
		key := store.Key{Variation: variation, Item: m.IDs[k], Repeat: repeat}
		if done.State(key) != store.Finished {
			return 0, inputf(nil, "--store: run %s has no successful generation of item %s for variation %q (repeat %d): the plan's candidates are not that variation's outputs; plan its outputs against the run's dataset",
				run.ID(), key.Item, variation, repeat)
		}
		scores[k] = store.Score{Key: key, Raw: store.PRF{P: prf.P, R: prf.R, F: prf.F}}
	}
	conf, err := json.Marshal(r.Config)
	if err != nil {
		return 0, fmt.Errorf("scoring configuration: %w", err)
	}
	if err := run.AddScoring(ctx, r.Hash, string(conf)); err != nil {
		return 0, err
	}
	return run.PutScores(ctx, r.Hash, scores)
}
