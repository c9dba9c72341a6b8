package onnxrt

import (
	"errors"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/bertbench/bertbench/modelspec"
)

// WriteOptimized writes to out the graph ONNX Runtime makes of the encoder
// at path with every CPU optimization on (fused attention, layer norms,
// GELU), for inspecting what it fuses.
func (r *Runtime) WriteOptimized(path, out string) (err error) {
	defer recoverAs(&err, "optimizing "+path)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded {
		return errors.New("ONNX Runtime is not loaded (call onnxrt.Load first)")
	}
	m, _, err := readModel(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	sig, err := modelspec.Check(m.Graph.Describe())
	if err != nil {
		return fmt.Errorf("%s %w", path, err)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	defer so.Destroy()
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll); err != nil {
		return err
	}
	if err := so.SetOptimizedModelFilePath(out); err != nil {
		return err
	}
	var names []string
	for _, in := range sig.Inputs {
		names = append(names, in.Name)
	}
	s, err := ort.NewDynamicAdvancedSession(path, names, []string{modelspec.HiddenStates}, so)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return s.Destroy()
}
