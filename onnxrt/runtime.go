package onnxrt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ErrNoDevice is returned when the device asked for is not there: no CUDA
// device, or fewer than the index asks for.
var ErrNoDevice = errors.New("no such device")

// The execution providers' names, as GetEpDevices lists them.
const (
	cpuEP  = "CPUExecutionProvider"
	cudaEP = "CUDAExecutionProvider"
)

// Runtime is ONNX Runtime, loaded. ONNX Runtime keeps one environment per
// process, so there is one Runtime per process (Default): Load may be
// called many times (from tests, commands, benchmarks) and only the first
// call with a usable library initialises the runtime; later calls with a
// different path report an error instead of silently using the first.
// The CUDA provider is registered the same way, once, when the first CUDA
// encoder is made.
type Runtime struct {
	mu       sync.Mutex
	path     string
	loaded   bool
	cudaPath string // the registered CUDA provider, "" before
	signals  signalGuard
}

var defaultRuntime Runtime

// Default returns the process-wide runtime, loaded or not.
func Default() *Runtime { return &defaultRuntime }

// Load finds the library (see Find) and initialises the process-wide
// runtime with it.
func Load(explicit string) (*Runtime, error) {
	if err := defaultRuntime.Load(explicit); err != nil {
		return nil, err
	}
	return &defaultRuntime, nil
}

// Load initialises ONNX Runtime with the library found from explicit. It
// is safe for concurrent use and idempotent for the same library.
func (r *Runtime) Load(explicit string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded {
		if explicit != "" && !samePath(explicit, r.path) {
			return fmt.Errorf("ONNX Runtime already loaded from %s; cannot switch to %s in the same process", r.path, explicit)
		}
		return nil
	}
	path, err := Find(explicit)
	if err != nil {
		return err
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("loading ONNX Runtime from %s: %v; %s", path, err, InstallHint)
	}
	r.path, r.loaded = path, true
	return nil
}

// samePath reports whether a and b name the same file.
func samePath(a, b string) bool {
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && x == y
}

// Path is the loaded library's path ("" before Load).
func (r *Runtime) Path() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.path
}

// Version reports the loaded library's version string ("" before Load).
func (r *Runtime) Version() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded {
		return ""
	}
	return ort.GetVersion()
}

// Version reports the default runtime's library version.
func Version() string { return defaultRuntime.Version() }

// enableCUDA registers the CUDA provider found from explicit (see
// FindCUDAProvider), once per process, after checking that the libraries
// it needs are there (CheckCUDALibraries). r.mu must be held.
func (r *Runtime) enableCUDA(explicit string) error {
	if r.cudaPath != "" {
		if explicit != "" && !samePath(explicit, r.cudaPath) {
			return fmt.Errorf("the CUDA provider is already loaded from %s; cannot switch to %s in the same process", r.cudaPath, explicit)
		}
		return nil
	}
	path, err := FindCUDAProvider(explicit)
	if err != nil {
		return err
	}
	// The provider takes Provider_GetHost from the shared helper library,
	// which ONNX Runtime loads from its own folder. `make cuda-ep` puts it
	// beside the provider: when the runtime's folder has none, that copy is
	// loaded first, for all to see.
	beside := filepath.Join(filepath.Dir(path), SharedProviderLib)
	withCore := filepath.Join(filepath.Dir(r.path), SharedProviderLib)
	_, errBeside := os.Stat(beside)
	_, errCore := os.Stat(withCore)
	if errBeside != nil && errCore != nil {
		return fmt.Errorf("%w (%s lacks %s beside it): %s", ErrCUDAProviderNotFound, path, SharedProviderLib, CUDAInstallHint)
	}
	if err := CheckCUDALibraries(path); err != nil {
		return err
	}
	if errCore != nil {
		if err := loadGlobal(beside); err != nil {
			return fmt.Errorf("loading %s: %v", beside, err)
		}
	}
	r.signals.save()
	err = ort.RegisterExecutionProviderLibrary("cuda", path)
	r.signals.restore()
	if err != nil {
		return fmt.Errorf("loading the CUDA provider %s into ONNX Runtime %s: %v", path, ort.GetVersion(), err)
	}
	r.cudaPath = path
	return nil
}

// epDevice returns the execution-provider device for d, registering the
// CUDA provider first for a CUDA device. r.mu must be held.
func (r *Runtime) epDevice(d Device, cudaProvider string) (ort.EpDevice, error) {
	want := cpuEP
	if d.Kind == CUDA {
		want = cudaEP
		if err := r.enableCUDA(cudaProvider); err != nil {
			return ort.EpDevice{}, err
		}
	}
	all, err := ort.GetEpDevices()
	if err != nil {
		return ort.EpDevice{}, fmt.Errorf("listing ONNX Runtime's devices: %w", err)
	}
	var found []ort.EpDevice
	for _, dev := range all {
		if dev.EpName() == want {
			found = append(found, dev)
		}
	}
	switch {
	case len(found) == 0 && d.Kind == CUDA:
		return ort.EpDevice{}, fmt.Errorf("%w: the CUDA provider %s is loaded but finds no CUDA device (is a GPU visible? check nvidia-smi and CUDA_VISIBLE_DEVICES)", ErrNoDevice, r.cudaPath)
	case len(found) == 0:
		return ort.EpDevice{}, fmt.Errorf("%w: ONNX Runtime %s lists no %s", ErrNoDevice, ort.GetVersion(), want)
	case d.Index >= len(found):
		return ort.EpDevice{}, fmt.Errorf("%w: %s asked for, but there are %d CUDA device(s) (cuda:0 to cuda:%d)", ErrNoDevice, d, len(found), len(found)-1)
	}
	return found[d.Index], nil
}
