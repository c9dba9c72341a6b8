// Package modelspec is the one definition of what bertbench scores with:
// the inputs and the output an encoder graph must have (their names,
// element types and shapes), checked over a described signature by Check,
// and the format of a rescale-baseline file, read by ParseBaselines.
// Building and validating models (package models) and scoring with them
// (package scorer) both use it, so a model that validates is a model that
// scores.
//
// It is a leaf package: no cgo, no ONNX Runtime, no other package of the
// module. Callers describe a graph's inputs and outputs as Values, from
// whatever they read the graph with.
package modelspec
