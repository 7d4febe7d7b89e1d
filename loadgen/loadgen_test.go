package loadgen_test

import (
	"context"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/target"
)

// serverPolicy is the built-in target's policy for a closer.
func serverPolicy(c loadgen.Closer) target.Policy {
	switch c {
	case loadgen.CloserServer:
		return target.Close
	case loadgen.CloserServerRST:
		return target.Reset
	}
	return target.KeepAlive
}

func TestClosersAreDeterministic(t *testing.T) {
	const n = 300
	for _, tc := range []struct {
		protocol loadgen.Protocol
		closer   loadgen.Closer
		want     loadgen.Closes
		conns    int64
	}{
		{loadgen.HTTP10, loadgen.CloserServer, loadgen.Closes{ServerFirst: n}, n},
		{loadgen.HTTP10, loadgen.CloserServerRST, loadgen.Closes{ServerRST: n}, n},
		{loadgen.HTTP11, loadgen.CloserClient, loadgen.Closes{ClientFirst: n}, n},
		{loadgen.HTTP11, loadgen.CloserServer, loadgen.Closes{ServerFirst: n}, n},
		{loadgen.HTTP11, loadgen.CloserClientRST, loadgen.Closes{ClientRST: n}, n},
		{loadgen.HTTP11, loadgen.CloserServerRST, loadgen.Closes{ServerRST: n}, n},
		{loadgen.HTTP11, loadgen.CloserNone, loadgen.Closes{ClientFirst: 8}, 8},
	} {
		t.Run(string(tc.protocol)+"/"+string(tc.closer), func(t *testing.T) {
			srv, err := target.Start(serverPolicy(tc.closer))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			for _, rate := range []float64{0, 2000} {
				g, err := loadgen.New(loadgen.Config{
					Protocol: tc.protocol, Closer: tc.closer, Target: srv.URL(),
					Concurrency: 8, Rate: rate, Requests: n, Timeout: 5 * time.Second,
				})
				if err != nil {
					t.Fatal(err)
				}
				res, err := g.Run(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if res.Requests != n || res.ErrorCount() != 0 {
					t.Errorf("rate %g: requests = %d, errors = %v (%q); want %d, none", rate, res.Requests, res.Errors, res.FirstError, n)
				}
				if res.Closes != tc.want {
					t.Errorf("rate %g: closes = %+v; want %+v", rate, res.Closes, tc.want)
				}
				if res.Connections != tc.conns {
					t.Errorf("rate %g: connections = %d; want %d", rate, res.Connections, tc.conns)
				}
				if res.StatusCodes[200] != n {
					t.Errorf("rate %g: status codes = %v; want %d × 200", rate, res.StatusCodes, n)
				}
				if got := res.Latency.TotalCount(); got != n {
					t.Errorf("rate %g: latency count = %d; want %d", rate, got, n)
				}
			}
		})
	}
}
