package retry_test

import (
	"context"
	"testing"

	"github.com/bertbench/bertbench/runners"
	fs "github.com/bertbench/bertbench/runners/faultserver"
	"github.com/bertbench/bertbench/runners/retry"
)

// BenchmarkCallOverhead measures one streamed call through each runner
// stack (retry wrapper + typed client + loopback HTTP) against the local
// fault server answering at once: the cost bertbench adds per call.
func BenchmarkCallOverhead(b *testing.B) {
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			srv := fs.New()
			defer srv.Close()
			r := retry.Wrap(d.new(b, srv.URL), retry.Policy{})
			req := runners.Request{Prompt: "hi", Mode: d.mode}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Run(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
