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
				if rate > 0 && (res.Scheduled != n || res.Lag.TotalCount() != n) {
					t.Errorf("rate %g: scheduled %d, lag count %d; want %d each", rate, res.Scheduled, res.Lag.TotalCount(), n)
				}
			}
		})
	}
}

// TestOpenLoopCountsTheQueue: at 200/s against a server that takes 20 ms,
// one connection cannot keep up. Sends wait for it and are counted late,
// and their latency runs from their intended time, so the queue shows:
// request i starts no earlier than 20i ms and was due at 5i ms, so its
// latency is at least 15i+20 ms, though the server took 20 ms for each.
func TestOpenLoopCountsTheQueue(t *testing.T) {
	url := slowServer(t, 20*time.Millisecond)
	g, err := loadgen.New(loadgen.Config{Protocol: loadgen.HTTP11, Closer: loadgen.CloserNone, Target: url,
		Concurrency: 1, Rate: 200, Requests: 10, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 10 || res.Scheduled != 10 {
		t.Fatalf("requests %d, scheduled %d; want 10 each", res.Requests, res.Scheduled)
	}
	if res.Late < 8 {
		t.Errorf("late = %d; want at least 8 of 10 sends to find the one connection busy", res.Late)
	}
	if max := time.Duration(res.Latency.Max()) * time.Microsecond; max < 155*time.Millisecond {
		t.Errorf("latency max = %v; want at least 155ms, measured from the intended send time", max)
	}
}
