// Package bench measures bertbench's speed.
//
// Run measures the BERTScore scorer: it makes synthetic
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
//
// Generate load-tests text generation runners (Ollama, OpenAI-compatible
// servers) at a series of concurrency levels: every request becomes a
// Sample (latency, time to first token, output tokens, the server's own
// generation time, the error's kind), and a Reporter sums the stream up
// per runner and level into latency and TTFT percentiles, requests/s,
// tokens/s and errors by kind, so that two servers of one model (a GPU
// and a CPU one) compare in one table.
package bench
