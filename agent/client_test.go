package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/sockstat"
)

// startedBy returns the stacks of the goroutines that fn started and that
// are still running.
func startedBy(fn string) []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "created by "+fn+" ") || strings.Contains(g, "created by "+fn+"\n") {
			left = append(left, g)
		}
	}
	return left
}

// Stream returns only when every goroutine it started has ended, however
// the stream ends.
func TestStreamLeavesNoGoroutine(t *testing.T) {
	const header = `{"header":{"matched":"*:1","interval_s":0.01}}` + "\n"
	const sample = `{"sample":{"at_ns":1,"server":{},"client":{}}}` + "\n"
	for _, tc := range []struct {
		name string
		// serve writes the stream; it returns when the stream is to end.
		serve  func(w http.ResponseWriter, r *http.Request)
		cancel bool // the caller's context ends it after the first sample
	}{
		{"the caller cancels", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(header + sample))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, true},
		{"the agent ends it", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(header + sample))
		}, false},
		{"the agent stalls", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(header))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, false},
		{"a bad line", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(header + "{\n"))
		}, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(tc.serve))
		c, err := NewClient(srv.URL, "")
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			ctx, cancel := context.WithCancel(context.Background())
			_ = c.Stream(ctx, SeriesQuery{Target: netip.MustParseAddrPort("127.0.0.1:1"), Interval: 10 * time.Millisecond},
				50*time.Millisecond, func(SeriesHeader) {}, func(sockstat.Sample) {
					if tc.cancel {
						cancel()
					}
				})
			left := startedBy("github.com/twbench/twbench/agent.(*Client).Stream")
			cancel()
			if len(left) > 0 {
				t.Errorf("%s: %d goroutines of Stream still running after it returned:\n%s", tc.name, len(left), strings.Join(left, "\n\n"))
				break
			}
		}
		srv.CloseClientConnections()
		srv.Close()
	}
}
