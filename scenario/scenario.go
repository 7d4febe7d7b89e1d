package scenario

import (
	"encoding/json"
	"errors"
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
	// MaxConcurrency bounds -c: each connection needs a client port and a
	// file descriptor, and a worker's buffers (about 9 KB).
	MaxConcurrency = 100_000
	// MinRate is the lowest open-loop rate: one request per 1,000 s.
	MinRate = 0.001
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

// FieldError is a problem with one field of a scenario.
type FieldError struct {
	Field string // the YAML key
	Err   error
}

func (e FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Validate returns every problem with s, after defaults.
func (s *Scenario) Validate() []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{field, fmt.Errorf(format, args...)})
	}
	if !nameRE.MatchString(s.Name) {
		add("name", "%q: want letters, digits, '-', '_' or '.', starting with a letter or digit", s.Name)
	}
	if err := loadgen.Supports(s.Protocol, s.Closer); err != nil {
		field := "closer"
		if !validProtocol(s.Protocol) {
			field = "protocol"
		}
		add(field, "%v", err)
	}
	if s.Target != "" {
		if t, err := loadgen.ParseTarget(s.Target); err != nil {
			add("target", "%v", err)
		} else if validProtocol(s.Protocol) && t.Scheme != s.Protocol.Scheme() {
			add("target", "%q: protocol %s wants a %s:// target", s.Target, s.Protocol, s.Protocol.Scheme())
		}
	}
	if s.Concurrency < 1 || s.Concurrency > MaxConcurrency {
		add("concurrency", "%d: want 1 to %d", s.Concurrency, MaxConcurrency)
	}
	if s.Rate < 0 || (s.Rate > 0 && s.Rate < MinRate) {
		add("rate", "%g: want 0 (closed loop) or a rate of at least %g requests per second", s.Rate, MinRate)
	}
	if s.Duration < 0 {
		add("duration", "%v: want 0 or more", s.Duration)
	}
	if s.Requests < 0 {
		add("requests", "%d: want 0 or more", s.Requests)
	}
	if s.Duration == 0 && s.Requests == 0 {
		add("duration", "neither duration nor requests is set: the run would not end")
	}
	if s.Timeout <= 0 {
		add("timeout", "%v: want more than 0", s.Timeout)
	}
	if time.Duration(s.SampleInterval) < MinSampleInterval {
		add("sample_interval", "%v: want at least %v", s.SampleInterval, MinSampleInterval)
	}
	errs = append(errs, s.validateShape()...)
	return errs
}

// validateShape checks the fields that shape connections, naming the
// field each problem is in.
func (s *Scenario) validateShape() []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{field, fmt.Errorf(format, args...)})
	}
	if s.Protocol == loadgen.TCP {
		if s.RequestSize < 1 || s.RequestSize > loadgen.MaxMessageSize {
			add("request_size", "%d: want 1 to %d bytes", s.RequestSize, loadgen.MaxMessageSize)
		}
		if s.ResponseSize < 0 || s.ResponseSize > loadgen.MaxMessageSize {
			add("response_size", "%d: want 0 to %d bytes", s.ResponseSize, loadgen.MaxMessageSize)
		}
	} else {
		for _, f := range []string{"request_size", "response_size"} {
			if s.given[f] {
				add(f, "applies to protocol tcp, not %s", s.Protocol)
			}
		}
	}
	if s.given["requests_per_conn"] || s.RequestsPerConn != 0 {
		cfg := loadgen.Config{Protocol: s.Protocol, Closer: s.Closer, RequestsPerConn: s.RequestsPerConn}
		if s.Closer == loadgen.CloserNone {
			add("requests_per_conn", "closer none keeps connections for the whole run; choose the end that closes them after %d requests (client, server, client-rst, server-rst)", s.RequestsPerConn)
		} else if s.RequestsPerConn < 1 {
			add("requests_per_conn", "%d: want 1 or more", s.RequestsPerConn)
		} else if err := errors.Join(cfg.ValidateRequestsPerConn()...); err != nil {
			add("requests_per_conn", "%v", err)
		}
	}
	if s.HalfClose && s.Closer != loadgen.CloserClient {
		add("half_close", "the client's shutdown sends the first FIN, so it goes with closer client, not %s", s.Closer)
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
	return errs
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

func validProtocol(p loadgen.Protocol) bool {
	for _, k := range loadgen.Protocols() {
		if p == k {
			return true
		}
	}
	return false
}

// Load describes the scenario's load in a line: "4000/s open loop, at
// most 64 in flight, 10s" or "closed loop, 64 connections, 10s or 500
// requests".
func (s *Scenario) Load() string {
	load := "closed loop, " + strconv.Itoa(s.Concurrency) + " connections"
	if s.Rate > 0 {
		load = strconv.FormatFloat(s.Rate, 'f', -1, 64) + "/s open loop, at most " + strconv.Itoa(s.Concurrency) + " in flight"
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
// scenario's closer: the server closes for server, resets for server-rst,
// and otherwise keeps connections alive so that the client can close first.
func (s *Scenario) ServerPolicy() target.Policy {
	switch s.Closer {
	case loadgen.CloserServer:
		return target.Close
	case loadgen.CloserServerRST:
		return target.Reset
	}
	return target.KeepAlive
}

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
	cfg = target.TCPConfig{Policy: s.ServerPolicy(), RequestsPerConn: max(s.RequestsPerConn, 1)}
	switch s.Protocol {
	case loadgen.TCP:
		cfg.RequestSize, cfg.ResponseSize = s.RequestSize, s.ResponseSize
		return true, cfg
	case loadgen.Connect:
		return true, cfg
	}
	return false, cfg
}
