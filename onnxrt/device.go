package onnxrt

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bertbench/bertbench/scorer"
)

// Kind is a kind of device an encoder runs on.
type Kind int

// The device kinds.
const (
	CPU Kind = iota
	CUDA
)

// String names the kind as --device spells it ("cpu", "cuda").
func (k Kind) String() string {
	if k == CUDA {
		return "cuda"
	}
	return "cpu"
}

// Device is where an encoder runs: the CPU, or the Index-th CUDA device.
// The zero Device is the CPU.
type Device struct {
	Kind  Kind
	Index int
}

// String writes the device as ParseDevice reads it and as results name
// it: "cpu" or "cuda:N".
func (d Device) String() string {
	if d.Kind == CUDA {
		return "cuda:" + strconv.Itoa(d.Index)
	}
	return "cpu"
}

// DeviceUsage is what ParseDevice accepts, for flag help and errors.
const DeviceUsage = "cpu, cuda or cuda:N"

// ParseDevice reads "cpu", "cuda" (the first CUDA device) or "cuda:N". A
// malformed name is an input error (scorer.ErrInvalidInput).
func ParseDevice(s string) (Device, error) {
	switch name := strings.ToLower(strings.TrimSpace(s)); {
	case name == "" || name == "cpu":
		return Device{}, nil
	case name == "cuda":
		return Device{Kind: CUDA}, nil
	case strings.HasPrefix(name, "cuda:"):
		n, err := strconv.Atoi(name[len("cuda:"):])
		if err != nil || n < 0 {
			break
		}
		return Device{Kind: CUDA, Index: n}, nil
	}
	return Device{}, inputErr(fmt.Errorf("device %q: want %s", s, DeviceUsage))
}

// inputErr marks err as the caller's input error (scorer.ErrInvalidInput)
// without changing its message.
func inputErr(err error) error { return inputError{err} }

type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == scorer.ErrInvalidInput }
