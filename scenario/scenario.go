package scenario

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/target"
)

// Defaults for the fields a scenario leaves out.
const (
	DefaultConcurrency    = 64
	DefaultDuration       = 10 * time.Second
	DefaultTimeout        = 10 * time.Second
	DefaultSampleInterval = 100 * time.Millisecond
	MinSampleInterval     = 10 * time.Millisecond
	// MaxConcurrency and MinRate are loadgen's limits, which every
	// scenario is checked against.
	MaxConcurrency = loadgen.MaxConcurrency
	MinRate        = loadgen.MinRate
	// The raw TCP message lengths when a tcp scenario gives none: about an
	// HTTP request and response without the headers' variety.
	DefaultRequestSize  = 64
	DefaultResponseSize = 64
)

// Scenario is one workload and where it runs.
type Scenario struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`

	Protocol loadgen.Protocol `json:"protocol"`
	Closer   loadgen.Closer   `json:"closer"`
	// Target is an http:// URL; empty runs the built-in target with the
	// closer's server-side policy.
	Target string `json:"target,omitempty"`

	Concurrency    int      `json:"concurrency"`
	Rate           float64  `json:"rate"`
	Duration       Duration `json:"duration"`
	Requests       int64    `json:"requests"`
	Timeout        Duration `json:"timeout"`
	SampleInterval Duration `json:"sample_interval"`

	// RequestSize and ResponseSize are the raw TCP message lengths (tcp
	// only).
	RequestSize  int `json:"request_size,omitempty"`
	ResponseSize int `json:"response_size,omitempty"`
	// RequestsPerConn is how many requests a connection carries before
	// the closer ends it: 1 by default, absent for none (the whole run).
	RequestsPerConn int `json:"requests_per_conn,omitempty"`
	// HalfClose shuts down the client's sending side after the last
	// request of a connection (closer client).
	HalfClose bool `json:"half_close,omitempty"`
	// ClientPortRange narrows the client's ephemeral ports per socket.
	ClientPortRange string `json:"client_port_range,omitempty"`
	// Source lists local addresses to spread connections over.
	Sources []string `json:"source,omitempty"`
	// MaxHeaderBytes and MaxBodyBytes bound a response's header block and
	// body; 0 is loadgen's default.
	MaxHeaderBytes int   `json:"max_header_bytes,omitempty"`
	MaxBodyBytes   int64 `json:"max_body_bytes,omitempty"`

	// Topology is where the client and the built-in target run: host
	// ("", the default), netns or veth (Topologies).
	Topology string `json:"topology,omitempty"`
	// NamespaceSettings are sysctls set in the topology's private
	// namespaces, by their keys (NamespaceSettings), as written.
	NamespaceSettings map[string]string `json:"namespace_settings,omitempty"`
	// Proxy puts the built-in reverse proxy between the client and the
	// built-in target; UpstreamKeepAlive has it reuse its upstream
	// connections.
	Proxy             bool `json:"proxy,omitempty"`
	UpstreamKeepAlive bool `json:"upstream_keepalive,omitempty"`
	// ReuseAddr, when false, has the built-in target listen without
	// SO_REUSEADDR (nil: with it, as Go does); ReusePort opens that many
	// listeners on its port with SO_REUSEPORT; RestartAt stops it that
	// far into the load and starts it again on the same port.
	ReuseAddr *bool    `json:"reuseaddr,omitempty"`
	ReusePort int      `json:"reuseport,omitempty"`
	RestartAt Duration `json:"restart_at,omitempty"`
	// Baseline names the catalogue's scenario this one modifies with a
	// remedy, which the report measures it against.
	Baseline string `json:"baseline,omitempty"`

	// Expect holds the expressions the run's report must satisfy, as
	// written; the report package compiles and checks them.
	Expect []Expectation `json:"-"`

	// Source is where the scenario was defined: "file:line", or "flags".
	Source string `json:"-"`
	// given holds the fields set from a file or flags: defaults fill in
	// only the others, so an explicit 0 is checked, not replaced.
	given map[string]bool
	// file and lines hold the file and the line of each field set in it,
	// for errors.
	file  string
	lines map[string]int
}

// Expectation is one expression of a scenario's expect list and where it
// was written ("file:line").
type Expectation struct {
	Expr   string
	Source string
}

// Duration is a time.Duration written as Go writes it ("10s") in YAML and
// JSON.
type Duration time.Duration

// String returns the duration as Go writes it.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string such as "10s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a duration written as a string such as "10s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"10s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// ApplyDefaults fills in the fields left out: http1.1; the closer the
// protocol implies (server for http1.0, none, keep-alive, for http1.1); 64
// connections; 10 s unless a request count is given; a 10 s timeout; a
// 100 ms sampling interval; one request per connection unless the closer
// is none; 64-byte raw TCP requests and responses.
// Fields that were given, even as 0, are left as they are.
func (s *Scenario) ApplyDefaults() {
	unset := func(key string, zero bool) bool { return zero && !s.given[key] }
	if unset("protocol", s.Protocol == "") {
		s.Protocol = loadgen.HTTP11
	}
	if unset("closer", s.Closer == "") {
		s.Closer = loadgen.CloserNone
		if s.Protocol == loadgen.HTTP10 {
			s.Closer = loadgen.CloserServer
		}
	}
	if unset("concurrency", s.Concurrency == 0) {
		s.Concurrency = DefaultConcurrency
	}
	if unset("duration", s.Duration == 0) && s.Requests == 0 {
		s.Duration = Duration(DefaultDuration)
	}
	if unset("timeout", s.Timeout == 0) {
		s.Timeout = Duration(DefaultTimeout)
	}
	if unset("sample_interval", s.SampleInterval == 0) {
		s.SampleInterval = Duration(DefaultSampleInterval)
	}
	if unset("requests_per_conn", s.RequestsPerConn == 0) && s.Closer != loadgen.CloserNone {
		s.RequestsPerConn = 1
	}
	if s.Protocol == loadgen.TCP {
		if unset("request_size", s.RequestSize == 0) {
			s.RequestSize = DefaultRequestSize
		}
		if unset("response_size", s.ResponseSize == 0) {
			s.ResponseSize = DefaultResponseSize
		}
	}
}

// FieldError is a problem with one field of a scenario, named by its key
// in a scenario file.
type FieldError = loadgen.FieldError

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// builtinStandIn stands in for the built-in target's URL when a scenario
// is checked before the target starts: loopback, on a port nothing dials.
func builtinStandIn(p loadgen.Protocol) string { return p.Scheme() + "://127.0.0.1:1/" }

// Validate returns every problem with s, after defaults. The rules of a
// valid workload are loadgen's (Config.Problems); Validate adds only what
// is the file's: the name, the sampling interval, and fields whose text
// does not parse.
func (s *Scenario) Validate() []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	if !nameRE.MatchString(s.Name) {
		add("name", "%q: want letters, digits, '-', '_' or '.', starting with a letter or digit", s.Name)
	}
	if time.Duration(s.SampleInterval) < MinSampleInterval {
		add("sample_interval", "%v: want at least %v", s.SampleInterval, MinSampleInterval)
	}
	if s.given["requests_per_conn"] && s.RequestsPerConn == 0 {
		add("requests_per_conn", "0: want 1 or more, or leave it out")
	}
	if s.ClientPortRange != "" {
		if _, err := loadgen.ParsePortRange(s.ClientPortRange); err != nil {
			add("client_port_range", "%v", err)
		}
	}
	seen := map[netip.Addr]string{}
	for _, text := range s.Sources {
		a, err := parseSource(text)
		if err != nil {
			add("source", "%v", err)
			continue
		}
		if first, dup := seen[a]; dup {
			add("source", "%s and %s are the same address: each address's ports count once", first, text)
			continue
		}
		seen[a] = text
	}
	errs = append(errs, s.TopologyProblems()...)
	errs = append(errs, s.serverProblems()...)
	return append(errs, s.workload().Problems()...)
}

// HostProblems returns the problems only this host can show: a client
// port range outside local (the host's ip_local_port_range; zero skips
// that check), a source address the host does not have. s must be valid.
// In a private topology the range is its namespace's, and source
// addresses are those of its namespaces (TopologyProblems).
func (s *Scenario) HostProblems(local loadgen.PortRange) []FieldError {
	w := s.workload()
	if s.Private() {
		local, w.Sources = s.namespacePorts(), nil
	}
	return w.HostProblems(local)
}

// workload returns the scenario's workload against its target, or the
// built-in target's stand-in.
func (s *Scenario) workload() loadgen.Config {
	t := s.Target
	if t == "" {
		t = builtinStandIn(s.Protocol)
	}
	return s.Config(t)
}

// parseSource parses one source address.
func parseSource(text string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(text))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", text)
	}
	if a.IsUnspecified() || a.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("%s: want an address of this host", a)
	}
	return a.Unmap(), nil
}

// Load describes the scenario's load in a line: "4000/s open loop, at
// most 64 in flight, 10s" or "closed loop, 64 connections, 10s or 500
// requests".
func (s *Scenario) Load() string {
	load := "closed loop, " + strconv.Itoa(s.Concurrency) + " connections"
	if s.Rate > 0 {
		// A shard's share of a rate can be a third of it: 6 digits.
		rate, _ := strconv.ParseFloat(strconv.FormatFloat(s.Rate, 'g', 6, 64), 64)
		load = strconv.FormatFloat(rate, 'f', -1, 64) + "/s open loop, at most " + strconv.Itoa(s.Concurrency) + " in flight"
	}
	var limits []string
	if s.Duration > 0 {
		limits = append(limits, s.Duration.String())
	}
	if s.Requests > 0 {
		limits = append(limits, strconv.FormatInt(s.Requests, 10)+" requests")
	}
	return load + ", " + strings.Join(limits, " or ")
}

// Line returns the line in its file where field was set, or 0.
func (s *Scenario) Line(field string) int { return s.lines[field] }

// Where returns where field was set, "file:line", or where the scenario
// was defined.
func (s *Scenario) Where(field string) string {
	if line := s.lines[field]; line > 0 && s.file != "" {
		return s.file + ":" + strconv.Itoa(line)
	}
	return s.Source
}

// ServerPolicy returns the built-in target's close policy for the
// scenario's closer.
func (s *Scenario) ServerPolicy() target.Policy { return s.Closer.ServerPolicy() }

// Config returns the loadgen workload for the scenario against targetURL.
// The scenario must have been validated.
func (s *Scenario) Config(targetURL string) loadgen.Config {
	cfg := loadgen.Config{
		Protocol:        s.Protocol,
		Closer:          s.Closer,
		Target:          targetURL,
		Concurrency:     s.Concurrency,
		Rate:            s.Rate,
		Duration:        time.Duration(s.Duration),
		Requests:        s.Requests,
		Timeout:         time.Duration(s.Timeout),
		RequestSize:     s.RequestSize,
		ResponseSize:    s.ResponseSize,
		RequestsPerConn: s.RequestsPerConn,
		HalfClose:       s.HalfClose,
		MaxHeaderBytes:  s.MaxHeaderBytes,
		MaxBodyBytes:    s.MaxBodyBytes,
	}
	cfg.PortRange, _ = loadgen.ParsePortRange(s.ClientPortRange)
	for _, text := range s.Sources {
		if a, err := parseSource(text); err == nil {
			cfg.Sources = append(cfg.Sources, a)
		}
	}
	return cfg
}

// BuiltinTarget describes the built-in target a scenario runs against
// when it names none: HTTP, or raw TCP for tcp and connect, with the
// closer's server-side policy.
func (s *Scenario) BuiltinTarget() (tcp bool, cfg target.TCPConfig) {
	cfg = target.TCPConfig{Policy: s.ServerPolicy(), RequestsPerConn: max(s.RequestsPerConn, 1), Listen: s.ListenOptions()}
	switch s.Protocol {
	case loadgen.TCP:
		cfg.RequestSize, cfg.ResponseSize = s.RequestSize, s.ResponseSize
		return true, cfg
	case loadgen.Connect:
		return true, cfg
	}
	return false, cfg
}
