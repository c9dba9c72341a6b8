//go:build !unix

package onnxrt

// signalGuard does nothing where there are no POSIX signal handlers.
type signalGuard struct{}

func (g *signalGuard) save()        {}
func (g *signalGuard) restore() int { return 0 }
