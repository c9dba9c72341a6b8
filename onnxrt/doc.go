// Package onnxrt is bertbench's one door to ONNX Runtime, and the only
// package that uses cgo: it finds and loads the runtime library once per
// process (Load), registers the CUDA execution provider when a CUDA
// device is asked for, and makes Encoders, ONNX Runtime sessions that
// implement scorer.Encoder, checked against the graph contract of package
// modelspec (the one models validate uses).
//
// Every session goes through the plugin execution-provider API
// (GetEpDevices, then SessionOptionsAppendExecutionProvider_V2), on the
// CPU as on a GPU: the CPU device ONNX Runtime lists by itself, CUDA
// devices once the provider library (`make cuda-ep`:
// libonnxruntime_providers_cuda.so, ONNX Runtime 1.29's, for CUDA 13) is
// registered. So CI exercises the very code a GPU machine runs; only the
// device differs. The CUDA provider needs CUDA 13's cuBLAS, cuBLASLt,
// cudart and cuRAND and the NVIDIA driver on the library path: they are
// checked before anything is loaded (CheckCUDALibraries), and a missing
// one is named in one line that says how to point at it.
//
// CUDA runs in strict float32 unless EncoderOptions.TF32 is set (the
// precision then reads "fp32+tf32", and scores are not exact). The
// graph's inputs and outputs stay float32 and the output is allocated in
// Go memory. The CUDA provider replaces Go's signal handlers; they are put
// back after each CUDA session is made and after each CUDA run, so Ctrl-C
// keeps working.
//
// # Examples
//
//	rt, err := onnxrt.Load("") // $BERTBENCH_ORT_LIB, or .deps/ort
//	enc, err := rt.NewEncoder("model.onnx", onnxrt.EncoderOptions{Device: onnxrt.Device{Kind: onnxrt.CUDA}})
//	defer enc.Close()
//	h, err := enc.Encode(ctx, scorer.Batch{IDs: ids, Pad: 0})
package onnxrt
