package onnxrt

import (
	"errors"
	"testing"

	"github.com/bertbench/bertbench/scorer"
)

func TestParseDevice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Device
		bad  bool
	}{
		{in: "cpu", want: Device{}},
		{in: "", want: Device{}},
		{in: "CUDA", want: Device{Kind: CUDA}},
		{in: "cuda:0", want: Device{Kind: CUDA}},
		{in: "cuda:3", want: Device{Kind: CUDA, Index: 3}},
		{in: "cuda:-1", bad: true},
		{in: "cuda:", bad: true},
		{in: "cuda:x", bad: true},
		{in: "gpu", bad: true},
		{in: "tpu", bad: true},
	} {
		got, err := ParseDevice(tc.in)
		if tc.bad {
			if !errors.Is(err, scorer.ErrInvalidInput) {
				t.Errorf("%q: error %v, want an input error", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if again, err := ParseDevice(got.String()); err != nil || again != got {
			t.Errorf("%q: String %q does not read back (%v, %v)", tc.in, got.String(), again, err)
		}
	}
}
