// Package tokenize loads a Hugging Face tokenizer.json and turns text into
// token ids exactly as the Hugging Face tokenizers library does in the
// BERTScore reference pipeline: the text is stripped of surrounding
// whitespace (Python str.strip semantics), encoded with the model's special
// tokens ([CLS] … [SEP] or <s> … </s>) and truncated to MaxLen ids
// (512 by default), specials included.
//
// Supported tokenizers:
//
//   - WordPiece with BertNormalizer and BertPreTokenizer (BERT,
//     multilingual BERT, bert-base-chinese, bert-base-uncased), including
//     accent stripping by NFD that follows lowercasing when strip_accents is
//     null;
//   - byte-level BPE with the ByteLevel pre-tokenizer (RoBERTa, GPT-2
//     style), with or without add_prefix_space;
//   - Unigram with the Metaspace pre-tokenizer and SentencePiece's
//     Precompiled normalizer, optionally in a Sequence with Replace
//     (XLM-RoBERTa style).
//
// Other models, normalizers and pre-tokenizers, BPE dropout, byte fallback
// and single_word added tokens are rejected by Load with an error naming
// the file and the unsupported component.
//
// The implementation is self-contained (no cgo, no third-party tokenizer):
// github.com/sugarme/tokenizer v0.3.0 disagrees with Hugging Face on accent
// stripping, Unicode whitespace and multi-byte lowercasing, can panic, and is
// several times slower, so it is not used. Agreement with Hugging Face is
// checked by a differential test against the official tokenizers package
// (see scripts/hf-oracle) over generated multilingual text and every Unicode
// code point. Character tables that depend on the Unicode version come from
// Hugging Face itself (unicode_tables.go, written by go generate).
package tokenize
