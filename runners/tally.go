package runners

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Tally sums up a batch of results for a summary. Latency figures cover
// live calls only: a result served from the cache keeps the latency that
// was measured when it was stored, in another run under other conditions
// (another concurrency, another load), so it is counted apart and never
// mixed into this run's figures.
type Tally struct {
	// Live counts successful results of calls made now.
	Live int
	// Cached counts results served from the response cache.
	Cached int
	// Replayed counts results read back from a recording (the replay
	// runner); like cached ones, their latencies and costs are not this
	// run's.
	Replayed int
	// Failed counts results with an error.
	Failed int
	// Truncated counts results whose input the server cut to fit the
	// context window (cached and failed ones included), and
	// TruncatedWindow is the largest window they report (0: unknown).
	Truncated       int
	TruncatedWindow int
	// CostUSD sums the priced live calls; Priced counts them.
	CostUSD float64
	Priced  int

	latencies []time.Duration
}

// Add counts one result. A result without a call (an empty source that
// was never sent) is not counted.
func (t *Tally) Add(res Result) {
	switch {
	case res.Error != "":
		t.Failed++
	case res.Cached:
		t.Cached++
	case res.Replayed:
		t.Replayed++
	case res.Attempts > 0:
		t.Live++
		t.latencies = append(t.latencies, res.Latency.Std())
		if res.CostUSD != nil {
			t.CostUSD += *res.CostUSD
			t.Priced++
		}
	default:
		return
	}
	if res.TruncatedInput {
		t.Truncated++
		if res.Ollama != nil && res.Ollama.NumCtx > t.TruncatedWindow {
			t.TruncatedWindow = res.Ollama.NumCtx
		}
	}
}

// MedianLatency returns the median latency of the live calls (0 for none).
func (t *Tally) MedianLatency() time.Duration {
	n := len(t.latencies)
	if n == 0 {
		return 0
	}
	s := slices.Clone(t.latencies)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MeanLatency returns the mean latency of the live calls (0 for none).
func (t *Tally) MeanLatency() time.Duration {
	if len(t.latencies) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range t.latencies {
		sum += d
	}
	return sum / time.Duration(len(t.latencies))
}

// String describes the tally in one line, e.g. "3 live calls (latency
// median 120.4ms, mean 131ms), 2 from cache (not in the latency figures), 0
// failed"; replayed results, when there are any, are counted before the
// failures. Latencies are rounded to 0.1 ms.
func (t *Tally) String() string {
	var b strings.Builder
	b.WriteString(plural(t.Live, "live call", "live calls"))
	if t.Live > 0 {
		fmt.Fprintf(&b, " (latency median %v, mean %v", round(t.MedianLatency()), round(t.MeanLatency()))
		if t.Priced > 0 {
			fmt.Fprintf(&b, ", cost $%.6f", t.CostUSD)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, ", %d from cache", t.Cached)
	if t.Cached > 0 {
		b.WriteString(" (not in the latency figures)")
	}
	if t.Replayed > 0 {
		fmt.Fprintf(&b, ", %d replayed (not in the latency figures)", t.Replayed)
	}
	fmt.Fprintf(&b, ", %d failed", t.Failed)
	return b.String()
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
