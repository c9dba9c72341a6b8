// Package models builds, caches and describes the encoder models bertbench
// scores with: ONNX encoders written from Hugging Face checkpoints (cut at a
// chosen layer), models pulled by name from the Hub, the table of known
// models with their default layers and rescale baselines, and synthetic
// random-weight models for benchmarks.
//
// A model folder holds model.onnx, tokenizer.json and, optionally, a
// bertbench.json manifest (see Manifest).
package models
