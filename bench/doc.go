// Package bench measures the BERTScore scorer's speed: it makes synthetic
// candidate/reference pairs of a given length distribution (or takes
// given ones), opens a model once, scores the pairs a number of times
// after some warm-up runs, and reports throughput, padding efficiency,
// batch latency, the split of time between tokenizing, encoding and
// matching, the model's load time and the process's peak RSS.
//
// Tokens are those the encoder ran: the scorer encodes each distinct
// sentence of a chunk once, so a corpus of repeated sentences counts its
// sentences once (scorer.Stats.Tokens), never the corpus's raw total.
// Synthetic sentences are all distinct, so de-duplication hides no work.
package bench
