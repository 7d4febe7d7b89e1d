package agent

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twbench/twbench/sockstat"
)

// Limits of the agent's API. An agent reveals little, but it walks the
// kernel's socket table for every sample, so what a client can ask of it
// is bounded.
const (
	// DefaultMaxStreams bounds the series streams open at once.
	DefaultMaxStreams = 8
	// DefaultRequestRate is the requests per second the agent answers each
	// caller (by address), with bursts of twice as many; more get 429.
	DefaultRequestRate = 20
	// maxCallers bounds the callers whose rates are kept apart; callers
	// beyond them, while all are active, share one budget.
	maxCallers = 256
	// MaxMetricsPorts bounds the ports an agent always reports on /metrics.
	MaxMetricsPorts = 64
	// MinSeriesInterval and MaxSeriesInterval bound a stream's interval.
	MinSeriesInterval = 10 * time.Millisecond
	MaxSeriesInterval = 10 * time.Second
	// maxQuery bounds a request's query string, maxHeaderBytes its headers.
	maxQuery       = 512
	maxHeaderBytes = 8 << 10
	// writeTimeout bounds one write of a stream to a client that stopped
	// reading.
	writeTimeout = 10 * time.Second
)

// Config is an agent's configuration.
type Config struct {
	// Token, if set, must come with every request as
	// "Authorization: Bearer TOKEN".
	Token string
	// Ports are reported on /metrics at every scrape, whether or not a run
	// is streaming them: the ports of the server the agent watches.
	Ports []uint16
	// MaxStreams and RequestRate default to DefaultMaxStreams and
	// DefaultRequestRate.
	MaxStreams  int
	RequestRate float64
	// Logf, if set, is told when streams open and close.
	Logf func(format string, args ...any)
	// LocalAddr reports whether an address is one of this host's; nil
	// looks at the host's interfaces. A series for another address matches
	// the port alone.
	LocalAddr func(netip.Addr) bool
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Ports) > MaxMetricsPorts {
		errs = append(errs, fmt.Errorf("%d ports: at most %d", len(c.Ports), MaxMetricsPorts))
	}
	for _, p := range c.Ports {
		if p == 0 {
			errs = append(errs, errors.New("port 0 cannot be watched"))
		}
	}
	if c.MaxStreams < 0 {
		errs = append(errs, fmt.Errorf("max streams %d: want at least 1", c.MaxStreams))
	}
	if c.RequestRate < 0 {
		errs = append(errs, fmt.Errorf("request rate %g: want more than 0", c.RequestRate))
	}
	if strings.ContainsAny(c.Token, " \t\r\n") {
		errs = append(errs, errors.New("token: no spaces or line breaks"))
	}
	return errors.Join(errs...)
}

// Server serves a host's socket states, kernel settings and counters over
// HTTP: to `twbench run --server-agent` and to Prometheus.
type Server struct {
	cfg     Config
	callers *callers
	streams chan struct{}
	reg     *prometheus.Registry

	mu       sync.Mutex
	streamed map[uint16]int // ports of the open streams, with their count
}

// New returns an agent; its Handler serves the API.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.RequestRate == 0 {
		cfg.RequestRate = DefaultRequestRate
	}
	if cfg.LocalAddr == nil {
		cfg.LocalAddr = sockstat.IsLocalAddr
	}
	cfg.Ports = slices.Clone(cfg.Ports)
	a := &Server{
		cfg:      cfg,
		callers:  newCallers(cfg.RequestRate, maxCallers),
		streams:  make(chan struct{}, cfg.MaxStreams),
		reg:      prometheus.NewRegistry(),
		streamed: make(map[uint16]int),
	}
	a.reg.MustRegister(metricsCollector{a: a, cache: &scrapeCache{}})
	return a, nil
}

// MaxHeaderBytes is what an http.Server serving an agent should set as its
// own MaxHeaderBytes.
const MaxHeaderBytes = maxHeaderBytes

// Handler returns the agent's HTTP API.
func (a *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathHost, a.serveHost)
	mux.HandleFunc("GET "+PathSeries, a.serveSeries)
	mux.Handle("GET "+PathMetrics, promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 2,
	}))
	mux.HandleFunc("GET /{$}", a.serveIndex)
	return a.guard(mux)
}

// guard applies the token and the limits to every request. The token is
// checked first, so that callers without it cannot use up the requests of
// those with it; each caller, by address, then has a rate of its own.
func (a *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.Token != "" && !bearer(r.Header.Get("Authorization"), a.cfg.Token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="twbench agent"`)
			http.Error(w, "a token is required: Authorization: Bearer TOKEN", http.StatusUnauthorized)
			return
		}
		if !a.callers.allow(callerOf(r), time.Now()) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
		if headerBytes(r) > maxHeaderBytes {
			// http.Server lets up to 4 KiB more through than its
			// MaxHeaderBytes: the documented bound is kept here.
			http.Error(w, fmt.Sprintf("request headers over %d bytes", maxHeaderBytes), http.StatusRequestHeaderFieldsTooLarge)
			return
		}
		if len(r.URL.RawQuery) > maxQuery {
			http.Error(w, "query too long", http.StatusRequestURITooLong)
			return
		}
		if r.ContentLength != 0 {
			http.Error(w, "no request body is accepted", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 0)
		next.ServeHTTP(w, r)
	})
}

// bearer reports whether an Authorization header carries token. The
// scheme's name is case-insensitive (RFC 9110, 11.1); the token is
// compared in constant time.
func bearer(header, token string) bool {
	scheme, got, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

// callerOf names the caller of r: its address without the port.
func callerOf(r *http.Request) string {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().String()
	}
	return r.RemoteAddr
}

// headerBytes is the size of r's request line and headers as sent.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n + len(r.Host) + 8
}

func (a *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "twbench agent\n\n%s\tkernel settings, TCP counters, clock (JSON)\n%s?addr=A&port=P&interval=100ms\tsocket states of a port's two ends, one JSON line per sample\n%s\tPrometheus metrics\n",
		PathHost, PathSeries, PathMetrics)
}

func (a *Server) serveHost(w http.ResponseWriter, r *http.Request) {
	info := ReadHostInfo()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(info)
}

// ReadHostInfo reads this host's HostInfo.
func ReadHostInfo() HostInfo {
	var info HostInfo
	info.Host, _ = sockstat.ReadHost() // what could be read; the rest is absent
	c, err := sockstat.ReadCounters()
	if err != nil {
		info.CountersError = err.Error()
	} else {
		info.Counters = c
	}
	info.TimeNS = time.Now().UnixNano()
	return info
}

// SeriesQuery is what a series stream asks for.
type SeriesQuery struct {
	Target   netip.AddrPort // an invalid address: the port alone
	Interval time.Duration
}

// Encode returns the query string for q.
func (q SeriesQuery) Encode() string {
	v := "port=" + strconv.Itoa(int(q.Target.Port()))
	if q.Target.Addr().IsValid() {
		v += "&addr=" + q.Target.Addr().Unmap().String()
	}
	return v + "&interval=" + q.Interval.String()
}

// ParseSeriesQuery parses and checks a series stream's query.
func ParseSeriesQuery(get func(string) string) (SeriesQuery, error) {
	var errs []error
	port, err := strconv.ParseUint(get("port"), 10, 16)
	if err != nil || port == 0 {
		errs = append(errs, fmt.Errorf("port %q: want 1 to 65535", get("port")))
	}
	var addr netip.Addr
	if s := get("addr"); s != "" {
		if addr, err = netip.ParseAddr(s); err != nil {
			errs = append(errs, fmt.Errorf("addr %q: not an IP address", s))
		}
	}
	interval := 100 * time.Millisecond
	if s := get("interval"); s != "" {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("interval %q: not a duration", s))
		case d < MinSeriesInterval || d > MaxSeriesInterval:
			errs = append(errs, fmt.Errorf("interval %v: want %v to %v", d, MinSeriesInterval, MaxSeriesInterval))
		default:
			interval = d
		}
	}
	if err := errors.Join(errs...); err != nil {
		return SeriesQuery{}, err
	}
	return SeriesQuery{Target: netip.AddrPortFrom(addr.Unmap(), uint16(port)), Interval: interval}, nil
}

func (a *Server) serveSeries(w http.ResponseWriter, r *http.Request) {
	q, err := ParseSeriesQuery(r.URL.Query().Get)
	if err != nil {
		http.Error(w, strings.ReplaceAll(err.Error(), "\n", "; "), http.StatusBadRequest)
		return
	}
	select {
	case a.streams <- struct{}{}:
		defer func() { <-a.streams }()
	default:
		w.Header().Set("Retry-After", "1")
		http.Error(w, fmt.Sprintf("%d streams are open already", cap(a.streams)), http.StatusServiceUnavailable)
		return
	}
	matched := q.Target
	if addr := matched.Addr(); addr.IsValid() && !addr.IsUnspecified() && !a.cfg.LocalAddr(addr) {
		matched = netip.AddrPortFrom(netip.Addr{}, matched.Port())
	}
	sampler, err := sockstat.NewSampler(matched)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, errors.ErrUnsupported) {
			code = http.StatusNotImplemented
		}
		http.Error(w, err.Error(), code)
		return
	}
	defer sampler.Close()
	a.watch(matched.Port(), 1)
	defer a.watch(matched.Port(), -1)
	a.logf("stream of %s every %v for %s opened", matchedString(matched), q.Interval, r.RemoteAddr)
	defer a.logf("stream of %s for %s closed", matchedString(matched), r.RemoteAddr)

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	send := func(line SeriesLine) error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := enc.Encode(line); err != nil {
			return err
		}
		return rc.Flush()
	}
	if send(SeriesLine{Header: &SeriesHeader{Matched: matchedString(matched), IntervalS: q.Interval.Seconds()}}) != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	err = sampler.Run(ctx, q.Interval, func(s sockstat.Sample) {
		ws := toWire(s)
		if send(SeriesLine{Sample: &ws}) != nil {
			cancel() // the client is gone or stopped reading
		}
	})
	if err != nil {
		_ = send(SeriesLine{Error: err.Error()})
	}
}

func matchedString(ap netip.AddrPort) string {
	if !ap.Addr().IsValid() {
		return "*:" + strconv.Itoa(int(ap.Port()))
	}
	return ap.String()
}

func (a *Server) watch(port uint16, delta int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.streamed[port] += delta; a.streamed[port] <= 0 {
		delete(a.streamed, port)
	}
}

// metricsPorts returns the configured ports and those of open streams.
func (a *Server) metricsPorts() []uint16 {
	a.mu.Lock()
	ports := slices.Clone(a.cfg.Ports)
	for p := range a.streamed {
		ports = append(ports, p)
	}
	a.mu.Unlock()
	slices.Sort(ports)
	return slices.Compact(ports)
}

func (a *Server) logf(format string, args ...any) {
	if a.cfg.Logf != nil {
		a.cfg.Logf(format, args...)
	}
}

// limiter is a token bucket: rate tokens a second, at most burst saved.
type limiter struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(rate, burst float64) *limiter {
	return &limiter{rate: rate, burst: burst, tokens: burst}
}

// allow takes a token if there is one. The caller holds the lock that
// guards l.
func (l *limiter) allow(now time.Time) bool {
	l.refill(now)
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

func (l *limiter) refill(now time.Time) {
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
}

// callers keeps a limiter per caller, at most max of them. When all are
// taken and none is idle (its bucket full again), the callers beyond them
// share one more.
type callers struct {
	mu       sync.Mutex
	rate     float64
	max      int
	each     map[string]*limiter
	overflow *limiter
}

func newCallers(rate float64, max int) *callers {
	return &callers{rate: rate, max: max, each: map[string]*limiter{}, overflow: newLimiter(rate, 2*rate)}
}

func (c *callers) allow(caller string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.each[caller]
	if !ok {
		if len(c.each) >= c.max {
			for k, idle := range c.each {
				if idle.refill(now); idle.tokens >= idle.burst {
					delete(c.each, k)
				}
			}
		}
		if len(c.each) >= c.max {
			return c.overflow.allow(now)
		}
		l = newLimiter(c.rate, 2*c.rate)
		c.each[caller] = l
	}
	return l.allow(now)
}
