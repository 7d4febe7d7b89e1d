package loadgen_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/target"
)

var benchTarget = flag.String("target", "", "BenchmarkRequest: load this HTTP server (nginx) instead of the built-in target, so that a profile shows the client alone")

// BenchmarkRequest measures one request through the generator, per protocol
// and closer, against the built-in target (in the same process, so its
// costs are in the figures too) or, with -target, an HTTP server of the
// caller's:
//
//	go test ./loadgen -run - -bench Request -cpuprofile cpu.out -args -target http://127.0.0.1:8080/
//
// The keep-alive variants must allocate nothing per request: the built-in
// target is fasthttp, which allocates nothing either. Allocations per op
// include the run's fixed setup, which is negligible at large b.N.
func BenchmarkRequest(b *testing.B) {
	for _, bc := range []struct {
		name     string
		protocol loadgen.Protocol
		closer   loadgen.Closer
	}{
		{"http1.1-keepalive", loadgen.HTTP11, loadgen.CloserNone},
		{"http1.0-server-closes", loadgen.HTTP10, loadgen.CloserServer},
		{"http1.1-client-closes", loadgen.HTTP11, loadgen.CloserClient},
		{"tcp-keepalive", loadgen.TCP, loadgen.CloserNone},
		{"tcp-client-closes", loadgen.TCP, loadgen.CloserClient},
		{"connect", loadgen.Connect, loadgen.CloserClient},
	} {
		for _, client := range loadgen.Clients() {
			b.Run(bc.name+"/"+string(client), func(b *testing.B) {
				url := *benchTarget
				switch {
				case url != "" && bc.protocol != loadgen.HTTP10 && bc.protocol != loadgen.HTTP11:
					b.Skip("-target is an HTTP server")
				case url != "":
				case bc.protocol == loadgen.TCP || bc.protocol == loadgen.Connect:
					cfg := target.TCPConfig{Policy: serverPolicy(bc.closer), RequestSize: 64, ResponseSize: 64}
					if bc.protocol == loadgen.Connect {
						cfg.RequestSize = 0
					}
					srv, err := target.StartTCP("127.0.0.1:0", cfg)
					if err != nil {
						b.Fatal(err)
					}
					defer srv.Close()
					url = srv.URL()
				default:
					srv, err := target.Start(serverPolicy(bc.closer))
					if err != nil {
						b.Fatal(err)
					}
					defer srv.Close()
					url = srv.URL()
				}
				cfg := loadgen.Config{
					Protocol: bc.protocol, Closer: bc.closer, Target: url,
					Concurrency: 1, Requests: int64(b.N), Timeout: 5 * time.Second, Client: client,
				}
				if bc.protocol == loadgen.TCP {
					cfg.RequestSize, cfg.ResponseSize = 64, 64
				}
				g, err := loadgen.New(cfg)
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
}
