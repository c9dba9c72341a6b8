// Package compare compares runs, or variations of one run, from the scores
// and call records the results store holds: per side the mean P, R and F
// (raw and baseline-rescaled) with bootstrap confidence intervals, the
// difference to a baseline side with its own interval, a p-value and
// win/tie/loss counts, and beside quality the calls' latency, TTFT,
// tokens, cost, error and flag rates. It resamples the stored per-item
// scores and never encodes a text again.
//
// The statistics (Compare) read plain data, an [Input]; [Load] builds one
// from a results store. The result is one [Comparison], the model every
// reporter renders; its JSON form is versioned ([SchemaID]) and described
// by [JSONSchema].
//
// # Rules
//
//   - Sides are aligned by item id, never by position. The statistics of
//     every side cover the same items: those with at least one score on
//     every side. Each item left out is named, with why (missing on a
//     side, or no score there); none is dropped silently.
//   - A generation that failed has no score: it counts in the error rate
//     and never in the scores (it is not scored as zero). A flagged output
//     that was scored (wrong language, truncated, empty) keeps its score,
//     which is what the flag costs it; the flag is counted beside.
//   - An item's value on a side is the mean of its scored repeats.
//   - Intervals are percentile-bootstrap intervals (95 % by default) over
//     items, paired: every resample draws one set of items for all sides,
//     and the difference to the baseline is taken within each resample.
//     When an item has several scored repeats the bootstrap has two
//     levels: items, then each drawn item's repeats, on each side (repeats
//     are not paired across sides). This counts the repeats' spread once
//     more than the item means already hold it, by (k-1)/k² of the
//     within-item variance over n: a slightly wide, conservative interval.
//   - 10,000 resamples by default, from seeded PCG streams (math/rand/v2),
//     one per chunk of 64 resamples: the same input, options and seed give
//     the same comparison on any machine, with any number of goroutines.
//   - The p-value is a paired approximate-randomisation test: each of
//     10,000 rounds swaps the two sides' values of every item with
//     probability 1/2; p = (1 + rounds with |Σ Δ| at least the observed) /
//     (1 + rounds). A difference is significant when its interval excludes
//     0 (the one rule; the p-value is reported beside it).
//   - An item is a tie when its |Δ| < 1e-6 ([TieTolerance]).
//   - Percentiles, of latencies and of bootstrap draws alike, are
//     nearest-rank: the smallest value with at least p % of the values at
//     or below it.
//   - Latency, TTFT, tokens, tokens/s and cost cover live calls only:
//     successful, not cached, made by a model (at least one attempt).
//     Tokens/s is completion tokens over the live calls' summed latency.
//     Rates (errors, each flag) are over every stored generation.
//
// # Examples
//
//	in, err := compare.Load(ctx, st, []compare.Side{{Run: "r1"}, {Run: "r2", Variation: "gpt"}}, compare.LoadOptions{})
//	...
//	c, err := compare.Compare(ctx, *in, compare.Options{Seed: compare.DefaultSeed})
//	...
//	f := c.Sides[1].Delta.Raw.F
//	fmt.Println(f.Verdict(compare.MetricF, c.Settings.Confidence))
//	// bertscore-f 0.812 -> 0.824 (+1.5%): +0.012, 95 % CI +0.004 to +0.020, p = 0.0030
package compare
