package agent

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"time"

	"github.com/twbench/twbench/sockstat"
)

func newTestAgent(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func status(t *testing.T, method, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAgentToken(t *testing.T) {
	const token = "0123456789abcdef"
	srv := newTestAgent(t, Config{Token: token, RequestRate: 1000})
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{PathHost, "", http.StatusUnauthorized},
		{PathHost, "wrong", http.StatusUnauthorized},
		{PathHost, token + "x", http.StatusUnauthorized},
		{PathHost, token, http.StatusOK},
		{PathMetrics, "", http.StatusUnauthorized},
		{PathMetrics, token, http.StatusOK},
		{PathSeries + "?port=1", "", http.StatusUnauthorized},
		{"/", "", http.StatusUnauthorized},
		{"/", token, http.StatusOK},
		{"/nothing", token, http.StatusNotFound},
	} {
		if got := status(t, http.MethodGet, srv.URL+tc.path, tc.token); got != tc.want {
			t.Errorf("GET %s with token %q: %d; want %d", tc.path, tc.token, got, tc.want)
		}
	}
	if got := status(t, http.MethodPost, srv.URL+PathHost, token); got != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d; want 405", PathHost, got)
	}
	if got := status(t, http.MethodGet, srv.URL+PathSeries+"?port=1&addr="+strings.Repeat("1", 600), token); got != http.StatusRequestURITooLong {
		t.Errorf("GET with a 600-byte query: %d; want 414", got)
	}
	c, err := NewClient(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.HostInfo(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("HostInfo without the token: %v; want a 401 error", err)
	}
}

func TestAgentRateLimit(t *testing.T) {
	srv := newTestAgent(t, Config{RequestRate: 2})
	limited := 0
	for range 10 {
		if status(t, http.MethodGet, srv.URL+"/", "") == http.StatusTooManyRequests {
			limited++
		}
	}
	// A burst of 4, and a token every 500 ms.
	if limited < 5 {
		t.Errorf("10 requests at once to an agent allowing 2/s: %d refused with 429; want at least 5", limited)
	}
}

// TestTokenBeforeRateLimit: a flood of requests without the token is
// refused as unauthorised and takes nothing from the callers with it
// (20 of 20 got 429 when the limit was checked first, and shared).
func TestTokenBeforeRateLimit(t *testing.T) {
	const token = "0123456789abcdef"
	srv := newTestAgent(t, Config{Token: token, RequestRate: 2})
	for range 50 {
		if got := status(t, http.MethodGet, srv.URL+"/", ""); got != http.StatusUnauthorized {
			t.Fatalf("GET / without the token: %d; want 401", got)
		}
	}
	ok := 0
	for range 4 {
		if status(t, http.MethodGet, srv.URL+"/", token) == http.StatusOK {
			ok++
		}
	}
	if ok != 4 {
		t.Errorf("after a flood without the token, %d of 4 requests with it answered (a burst of 4 allowed); want 4", ok)
	}
}

// TestCallersLimitedApart: one caller using up its rate leaves another's.
func TestCallersLimitedApart(t *testing.T) {
	c := newCallers(2, 3)
	now := time.Unix(1000, 0)
	for range 4 {
		c.allow("10.0.0.1", now)
	}
	if c.allow("10.0.0.1", now) {
		t.Error("a fifth request at once from 10.0.0.1 (burst 4) allowed; want refused")
	}
	if !c.allow("10.0.0.2", now) {
		t.Error("10.0.0.2's first request refused after 10.0.0.1 used its burst; want allowed")
	}
	// The table is bounded: past 3 busy callers the rest share one bucket.
	c.allow("10.0.0.3", now)
	for range 4 {
		if !c.allow("10.0.0.9", now) {
			t.Fatal("a fourth caller's burst refused; want it served from the shared bucket")
		}
	}
	if c.allow("10.0.0.10", now) {
		t.Error("a fifth caller allowed with the shared bucket empty; want refused")
	}
	if len(c.each) > 3 {
		t.Errorf("%d callers kept; want at most 3", len(c.each))
	}
	// A caller idle long enough to be full again gives up its place.
	if later := now.Add(time.Minute); !c.allow("10.0.0.11", later) || len(c.each) > 3 {
		t.Errorf("a new caller a minute later: %d kept; want an idle one's place taken", len(c.each))
	}
}

func TestBearer(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"Bearer tok", true},
		{"bearer tok", true},
		{"BEARER  tok ", true},
		{"Basic tok", false},
		{"Bearer", false},
		{"Bearer tokx", false},
		{"tok", false},
		{"", false},
	} {
		if got := bearer(tc.header, "tok"); got != tc.want {
			t.Errorf("bearer(%q, tok) = %v; want %v", tc.header, got, tc.want)
		}
	}
}

// TestAgentHeaderLimit: the agent refuses headers past its documented
// 8 KiB, which http.Server alone lets through by up to 4 KiB more.
func TestAgentHeaderLimit(t *testing.T) {
	srv := newTestAgent(t, Config{RequestRate: 1000})
	for _, tc := range []struct {
		size int
		want int
	}{{6 << 10, http.StatusOK}, {9 << 10, http.StatusRequestHeaderFieldsTooLarge}} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		req.Header.Set("X-Padding", strings.Repeat("x", tc.size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET / with %d bytes of headers: %d; want %d", tc.size, resp.StatusCode, tc.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(10, 2)
	t0 := time.Unix(1000, 0)
	for i, tc := range []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {0, true}, {0, false}, // the burst, then none left
		{50 * time.Millisecond, false},                           // half a token
		{100 * time.Millisecond, true},                           // one token
		{100 * time.Millisecond, false},                          // used
		{time.Hour, true}, {time.Hour, true}, {time.Hour, false}, // refilled to the burst only
	} {
		if got := l.allow(t0.Add(tc.at)); got != tc.want {
			t.Errorf("step %d: allow(+%v) = %v; want %v", i, tc.at, got, tc.want)
		}
	}
}

func TestParseSeriesQuery(t *testing.T) {
	for _, tc := range []struct {
		query, want, err string
	}{
		{"port=8080", "invalid AddrPort 100ms", ""},
		{"port=8080&addr=127.0.0.1&interval=50ms", "127.0.0.1:8080 50ms", ""},
		{"port=8080&addr=::ffff:10.0.0.1", "10.0.0.1:8080 100ms", ""},
		{"port=80&addr=::1&interval=10s", "[::1]:80 10s", ""},
		{"", "", `port "": want 1 to 65535`},
		{"port=0", "", `port "0"`},
		{"port=65536", "", `port "65536"`},
		{"port=80&addr=example.com", "", `addr "example.com": not an IP address`},
		{"port=80&interval=1ms", "", "interval 1ms: want 10ms to 10s"},
		{"port=80&interval=fast", "", `interval "fast": not a duration`},
	} {
		v, _ := url.ParseQuery(tc.query)
		q, err := ParseSeriesQuery(v.Get)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSeriesQuery(%q) error = %v; want one saying %q", tc.query, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSeriesQuery(%q) error = %v", tc.query, err)
			continue
		}
		got := q.Target.String() + " " + q.Interval.String()
		if !q.Target.Addr().IsValid() {
			got = "invalid AddrPort " + q.Interval.String()
		}
		if got != tc.want {
			t.Errorf("ParseSeriesQuery(%q) = %s; want %s", tc.query, got, tc.want)
		}
		// Encode round-trips.
		v2, _ := url.ParseQuery(q.Encode())
		if q2, err := ParseSeriesQuery(v2.Get); err != nil || q2 != q {
			t.Errorf("ParseSeriesQuery(Encode(%v)) = %v, %v; want it back", q, q2, err)
		}
	}
}

func TestEstimateClock(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	probe := func(sent, rtt, agent float64) ClockProbe {
		return ClockProbe{Sent: t0.Add(ms(sent)), Received: t0.Add(ms(sent + rtt)), Agent: t0.Add(ms(agent))}
	}
	for _, tc := range []struct {
		name   string
		probes []ClockProbe
		want   Clock
		ok     bool
	}{
		{"none", nil, Clock{}, false},
		{"one, same clock", []ClockProbe{probe(0, 2, 1)}, Clock{0, ms(2)}, true},
		{"agent 500 ms ahead", []ClockProbe{probe(0, 2, 501)}, Clock{ms(500), ms(2)}, true},
		{"agent behind", []ClockProbe{probe(10, 4, 2)}, Clock{-ms(10), ms(4)}, true},
		{"the shortest round trip wins", []ClockProbe{probe(0, 40, 530), probe(50, 1, 550.5), probe(60, 9, 575)},
			Clock{ms(500), ms(1)}, true},
		{"a negative round trip is skipped", []ClockProbe{probe(0, -1, 0), probe(10, 2, 11)}, Clock{0, ms(2)}, true},
	} {
		got, ok := EstimateClock(tc.probes)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: EstimateClock = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestWireSampleRoundTrip(t *testing.T) {
	var s sockstat.Sample
	s.At = time.Unix(1_700_000_000, 123456789)
	s.Cost = 1500 * time.Microsecond
	s.Server[sockstat.TimeWait], s.Server[sockstat.Established], s.Client[sockstat.FinWait2] = 7, 3, 2
	s.ServerNewTimeWait, s.ClientNewTimeWait = 5, 1
	s.MaxTimeWaitLeft = 59990 * time.Millisecond
	got, err := toWire(s).FromWire()
	if err != nil {
		t.Fatal(err)
	}
	if !got.At.Equal(s.At) || got.Cost != s.Cost || got.Server != s.Server || got.Client != s.Client ||
		got.ServerNewTimeWait != 5 || got.ClientNewTimeWait != 1 || got.MaxTimeWaitLeft != s.MaxTimeWaitLeft {
		t.Errorf("FromWire(toWire(s)) = %+v; want %+v", got, s)
	}
	for _, bad := range []WireSample{
		{},                                 // no time
		{AtNS: 1, ServerNewTimeWait: -1},   // negative count
		{AtNS: 1, MaxTimeWaitLeftMS: -100}, // negative time
	} {
		if _, err := bad.FromWire(); err == nil {
			t.Errorf("FromWire(%+v) = nil error; want one", bad)
		}
	}
	// A state a later version adds is skipped, not an error.
	w := toWire(s)
	w.Server["NEW_SYN_RECV"] = 4
	if _, err := w.FromWire(); err != nil {
		t.Errorf("FromWire with an unknown state: %v; want it skipped", err)
	}
}

func TestNewClientURL(t *testing.T) {
	for _, raw := range []string{"", "127.0.0.1:9911", "ftp://h:1", "http://h", "http://:9911"} {
		if _, err := NewClient(raw, ""); err == nil {
			t.Errorf("NewClient(%q) = nil error; want one", raw)
		}
	}
	c, err := NewClient("http://127.0.0.1:9911/ignored", "")
	if err != nil || c.URL() != "http://127.0.0.1:9911" {
		t.Errorf("NewClient(http://127.0.0.1:9911/ignored) = %v, %v; want its base URL", c, err)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := New(Config{Ports: []uint16{0}, Token: "a b"}); err == nil ||
		!strings.Contains(err.Error(), "port 0") || !strings.Contains(err.Error(), "token") {
		t.Errorf("New with port 0 and a token with a space: %v; want both problems", err)
	}
}

// An agent that cannot be reached is an error, not a hang.
func TestStreamUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, _ := NewClient(url, "")
	err := c.Stream(context.Background(), SeriesQuery{Target: netip.MustParseAddrPort("127.0.0.1:1"), Interval: time.Second},
		time.Second, func(SeriesHeader) {}, func(sockstat.Sample) {})
	if err == nil {
		t.Error("Stream from a closed agent = nil error; want one")
	}
}

// A stream that goes silent ends with ErrStreamStalled: a dead host sends
// no FIN.
func TestStreamStalled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"header":{"matched":"*:1","interval_s":0.1}}` + "\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, "")
	err := c.Stream(context.Background(), SeriesQuery{Target: netip.MustParseAddrPort("127.0.0.1:1"), Interval: time.Second},
		200*time.Millisecond, func(SeriesHeader) {}, func(sockstat.Sample) {})
	if !errors.Is(err, ErrStreamStalled) {
		t.Errorf("Stream from a silent agent = %v; want ErrStreamStalled", err)
	}
}

// TestScrapeBudget: /metrics samples again only when the last samples'
// budget (25× their cost) has passed, and serves the cache, with its age,
// until then.
func TestScrapeBudget(t *testing.T) {
	var c scrapeCache
	collected := 0
	collect := func() ([]prometheus.Metric, time.Duration) {
		collected++
		return nil, 100 * time.Millisecond // 64 ports took about this
	}
	t0 := time.Unix(1000, 0)
	for i, tc := range []struct {
		at           time.Duration
		wantCollects int
		wantAge      time.Duration
	}{
		{0, 1, 0},
		{time.Second, 1, time.Second}, // within 2.5 s: the cache
		{2400 * time.Millisecond, 1, 2400 * time.Millisecond},
		{2500 * time.Millisecond, 2, 0}, // the budget has passed
		{2600 * time.Millisecond, 2, 100 * time.Millisecond},
	} {
		_, age := c.get(t0.Add(tc.at), collect)
		if collected != tc.wantCollects || age != tc.wantAge {
			t.Errorf("scrape %d at +%v: %d collections, age %v; want %d, %v", i, tc.at, collected, age, tc.wantCollects, tc.wantAge)
		}
	}
}
