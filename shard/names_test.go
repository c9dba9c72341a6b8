package shard

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRanges(t *testing.T) {
	for _, tc := range []struct {
		n, count, size int
		want           [][2]int
	}{
		{10, 3, 0, [][2]int{{0, 3}, {3, 6}, {6, 10}}},
		{8, 8, 0, [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 7}, {7, 8}}},
		{10, 1, 0, [][2]int{{0, 10}}},
		{10, 0, 4, [][2]int{{0, 4}, {4, 8}, {8, 10}}},
		{8, 0, 4, [][2]int{{0, 4}, {4, 8}}},
		{3, 0, 10, [][2]int{{0, 3}}},
	} {
		if got := ranges(tc.n, tc.count, tc.size); !slices.Equal(got, tc.want) {
			t.Errorf("ranges(%d, %d, %d) = %v, want %v", tc.n, tc.count, tc.size, got, tc.want)
		}
	}
}

func TestShardNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		i    int
		ok   bool
	}{
		{ShardFile(3), 3, true},
		{PartialFile(12) + "4711-9f86d081", 12, true},
		{PartialFile(12), 0, false},
		{"shard-00012.jsonl.partial", 0, false},
		{DoneFile(123456), 123456, true},
		{"shard-00003.json", 0, false},
		{"shard-3.jsonl", 0, false},
		{"plan.json", 0, false},
		{"shard-0000x.jsonl", 0, false},
		{".shard-00001.jsonl123", 0, false},
	} {
		i, ok := parseShardName(tc.name)
		if ok != tc.ok || (ok && i != tc.i) {
			t.Errorf("parseShardName(%q) = %d, %v; want %d, %v", tc.name, i, ok, tc.i, tc.ok)
		}
	}
	if ShardFile(7) != "shard-00007.jsonl" || DoneFile(7) != "shard-00007.done.json" || PartialFile(7) != "shard-00007.jsonl.partial-" {
		t.Errorf("names: %s %s %s", ShardFile(7), DoneFile(7), PartialFile(7))
	}
}

func TestIndexFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want int
		err  string
	}{
		{"kubernetes", map[string]string{"JOB_COMPLETION_INDEX": "4"}, 4, ""},
		{"slurm", map[string]string{"SLURM_ARRAY_TASK_ID": "7"}, 7, ""},
		{"both, the same", map[string]string{"JOB_COMPLETION_INDEX": "2", "SLURM_ARRAY_TASK_ID": "2"}, 2, ""},
		// sbatch passes the submitter's environment on: a JOB_COMPLETION_INDEX
		// inherited from a CI pod must not make every array task one shard.
		{"both, differing", map[string]string{"JOB_COMPLETION_INDEX": "1", "SLURM_ARRAY_TASK_ID": "2"}, 0, "JOB_COMPLETION_INDEX is 1 but SLURM_ARRAY_TASK_ID is 2"},
		{"neither", map[string]string{}, 0, "neither JOB_COMPLETION_INDEX"},
		{"not a number", map[string]string{"SLURM_ARRAY_TASK_ID": "x"}, 0, `SLURM_ARRAY_TASK_ID is "x"`},
		{"negative", map[string]string{"JOB_COMPLETION_INDEX": "-1"}, 0, "not a shard index"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := IndexFromEnv(func(k string) string { return tc.env[k] })
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Errorf("got %d, %v; want %d", got, err, tc.want)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err %v, want an input error with %q", err, tc.err)
			}
		})
	}
}
