package loadgen_test

import (
	"context"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/target"
)

// BenchmarkRequest measures one request through the generator against the
// built-in target, per protocol and closer. The keep-alive variant must
// allocate nothing per request (the target, in the same process, is
// fasthttp, which allocates nothing either). Allocations per op include
// the run's fixed setup, which is negligible at large b.N.
func BenchmarkRequest(b *testing.B) {
	for _, bc := range []struct {
		name     string
		protocol loadgen.Protocol
		closer   loadgen.Closer
	}{
		{"keepalive", loadgen.HTTP11, loadgen.CloserNone},
		{"http1.0-server-closes", loadgen.HTTP10, loadgen.CloserServer},
		{"http1.1-client-closes", loadgen.HTTP11, loadgen.CloserClient},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv, err := target.Start(serverPolicy(bc.closer))
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			g, err := loadgen.New(loadgen.Config{
				Protocol: bc.protocol, Closer: bc.closer, Target: srv.URL(),
				Concurrency: 1, Requests: int64(b.N), Timeout: 5 * time.Second,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			res, err := g.Run(context.Background())
			b.StopTimer()
			if err != nil || res.Requests != int64(b.N) {
				b.Fatalf("run: %v, %d requests of %d, errors %v", err, res.Requests, b.N, res.FirstError)
			}
		})
	}
}
