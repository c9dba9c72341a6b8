//go:build !unix

package onnxrt

import "errors"

func loadGlobal(string) error {
	return errors.New("loading shared libraries is only supported on unix")
}
