//go:build unix

package onnxrt

/*
#cgo linux LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
*/
import "C"

import (
	"errors"
	"unsafe"
)

// loadGlobal loads the shared library at path with its symbols visible to
// every library loaded after it, and keeps it loaded.
func loadGlobal(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if C.dlopen(cpath, C.RTLD_NOW|C.RTLD_GLOBAL) == nil {
		return errors.New(C.GoString(C.dlerror()))
	}
	return nil
}
