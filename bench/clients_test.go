//go:build linux

package main

import (
	"regexp"
	"testing"
)

// Outputs as the peers print them (wrk 4.1.0, ab 2.3, hey 0.1.4), cut to
// the lines bench reads and some around them.
const (
	wrkOut = `Running 5s test @ http://127.0.0.1:40727/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   396.64us  213.35us   7.05ms   78.15%
  587928 requests in 5.00s, 83.54MB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 2
Requests/sec: 117585.73
Transfer/sec:     16.71MB
`
	abOut = `Concurrency Level:      50
Time taken for tests:   5.000 seconds
Complete requests:      94370
Failed requests:        0
Requests per second:    18873.72 [#/sec] (mean)
`
	heyOut = `Summary:
  Total:	5.0013 secs
  Requests/sec:	48801.2400

Status code distribution:
  [200]	244000 responses
  [502]	6 responses
`
)

func TestParsePeers(t *testing.T) {
	for _, tc := range []struct {
		re   *regexp.Regexp
		out  string
		want string
	}{
		{wrkRequests, wrkOut, "587928"},
		{wrkRate, wrkOut, "117585.73"},
		{abComplete, abOut, "94370"},
		{abFailed, abOut, "0"},
		{abRate, abOut, "18873.72"},
		{heyRate, heyOut, "48801.2400"},
		{heyOK, heyOut, "244000"},
	} {
		m := tc.re.FindStringSubmatch(tc.out)
		if m == nil || m[1] != tc.want {
			t.Errorf("%s on its peer's output = %v; want %q", tc.re, m, tc.want)
		}
	}
	if m := wrkErrors.FindStringSubmatch(wrkOut); len(m) != 5 || m[2] != "3" || m[4] != "1" {
		t.Errorf("wrk's socket errors = %v; want read 3, timeout 1", m)
	}
	if n := sumMatches(wrkErrors, []byte(wrkOut)) + sumMatches(wrkNon2xx, []byte(wrkOut)); n != 6 {
		t.Errorf("wrk's errors add up to %d; want 6 (3 read, 1 timeout, 2 non-2xx)", n)
	}
	if n := sumMatches(heyAll, []byte(heyOut)) - 244000; n != 6 {
		t.Errorf("hey's responses other than 200 = %d; want 6", n)
	}
	if _, err := intMatch(wrkRequests, []byte(abOut), "wrk", "requests"); err == nil {
		t.Error("a missing line parsed; want an error that names it")
	}
}

func TestMedianAndRatio(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v; want %v", tc.in, got, tc.want)
		}
	}
	// The rounds' ratios are 1.0, 1.1 and 0.95: their median is 1.0.
	r := ratio(1, "x", "req/s", "wrk", ">=", 1.0, []float64{90, 110, 100}, []float64{90, 100, 105})
	if r.Value != 1.0 || !r.Met() || len(r.Rounds) != 3 || r.Peer != 100 {
		t.Errorf("ratio of rounds 90/90, 110/100, 100/105 = %+v; want 1.0, met, 3 rounds, peer median 100", r)
	}
	r = ratio(3, "cpu", "µs", "wrk", "<=", 1.0, []float64{5, 6}, []float64{0, 0})
	if r.Met() {
		t.Errorf("a ratio whose peer measured nothing = %+v; want not met", r)
	}
	r = bound(5, "lag", "µs", "<=", 1000, []float64{900, 1200, 1500})
	if r.Value != 1200 || r.Met() {
		t.Errorf("bound of a median of 1200 = %+v; want 1200, not met", r)
	}
}

func TestParseGoals(t *testing.T) {
	if g, err := parseGoals("1, 4,6"); err != nil || len(g) != 3 || g[1] != 4 {
		t.Errorf("parseGoals(\"1, 4,6\") = %v, %v; want [1 4 6]", g, err)
	}
	for _, bad := range []string{"", "0", "7", "1,x"} {
		if _, err := parseGoals(bad); err == nil {
			t.Errorf("parseGoals(%q) = nil error; want one", bad)
		}
	}
}

func TestVmHWM(t *testing.T) {
	if v := vmHWM("/proc/self/status"); v <= 0 {
		t.Skipf("no VmHWM in /proc/self/status (%d): not Linux", v)
	}
	if v := vmHWM("/proc/0/status"); v != 0 {
		t.Errorf("vmHWM of no process = %d; want 0", v)
	}
}

func TestChildrenShare(t *testing.T) {
	report := []byte(`# Children      Self  Symbol
    60.58%     0.01%  [k] __x64_sys_connect
    37.84%    15.46%  [k] __inet_hash_connect
     0.10%     0.04%  [k] inet_hash_connect
`)
	if got := childrenShare(report, "__inet_hash_connect"); got != 37.84 {
		t.Errorf("childrenShare = %v; want 37.84", got)
	}
	if got := childrenShare(report, "tcp_close"); got != 0 {
		t.Errorf("childrenShare of a symbol not there = %v; want 0", got)
	}
}
