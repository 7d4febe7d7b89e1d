package loadgen

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on a workload.
const (
	// MaxConcurrency bounds Concurrency: each connection needs a client
	// port and a file descriptor, and a worker's buffers (about 9 KB).
	MaxConcurrency = 100_000
	// MinRate is the lowest open-loop rate: one request per 1,000 s.
	MinRate = 0.001
	// MaxMessageSize bounds the raw TCP message lengths.
	MaxMessageSize = 16 << 20
	// MaxRequestsPerConn bounds RequestsPerConn; more is keep-alive.
	MaxRequestsPerConn = 1 << 30
)

// The fields of a Config as problems name them: the keys of a scenario
// file and of the report's scenario object.
const (
	FieldProtocol        = "protocol"
	FieldCloser          = "closer"
	FieldTarget          = "target"
	FieldConcurrency     = "concurrency"
	FieldRate            = "rate"
	FieldOffset          = "offset" // not a scenario key: a shard's place in its fleet's schedule
	FieldDuration        = "duration"
	FieldRequests        = "requests"
	FieldTimeout         = "timeout"
	FieldRequestSize     = "request_size"
	FieldResponseSize    = "response_size"
	FieldRequestsPerConn = "requests_per_conn"
	FieldHalfClose       = "half_close"
	FieldPortRange       = "client_port_range"
	FieldSources         = "source"
)

// FieldError is a problem with one field of a Config.
type FieldError struct {
	Field string // one of the Field constants
	Err   error
}

// Error writes "field: problem".
func (e FieldError) Error() string { return e.Field + ": " + e.Problem() }

// Problem says what is wrong without naming the field; a message that
// begins with the field's own name ("target \"x\": ...") does not say it
// twice when the field is named before it.
func (e FieldError) Problem() string { return strings.TrimPrefix(e.Err.Error(), e.Field+" ") }

func (e FieldError) Unwrap() error { return e.Err }

// problems collects FieldErrors.
type problems []FieldError

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, FieldError{field, fmt.Errorf(format, args...)})
}

// Problems returns every problem with c, each tagged with its field. It
// holds every rule of a valid workload: scenario files and flags are
// checked by it, not by rules of their own.
func (c Config) Problems() []FieldError {
	var p problems
	if err := Supports(c.Protocol, c.Closer); err != nil {
		field := FieldCloser
		if !c.Protocol.Valid() {
			field = FieldProtocol
		}
		p = append(p, FieldError{field, err})
	}
	if t, err := ParseTarget(c.Target); err != nil {
		p = append(p, FieldError{FieldTarget, err})
	} else if c.Protocol.Valid() && t.Scheme != c.Protocol.Scheme() {
		p.add(FieldTarget, "%q: protocol %s wants a %s:// target", c.Target, c.Protocol, c.Protocol.Scheme())
	}
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		p.add(FieldConcurrency, "%d: want 1 to %d", c.Concurrency, MaxConcurrency)
	}
	if c.Rate < 0 || (c.Rate > 0 && c.Rate < MinRate) {
		p.add(FieldRate, "%g: want 0 (closed loop) or a rate of at least %g requests per second", c.Rate, MinRate)
	}
	if c.Offset < 0 || (c.Offset > 0 && c.Rate == 0) {
		p.add(FieldOffset, "%v: want 0, or more in open loop (a rate)", c.Offset)
	}
	if c.Duration < 0 {
		p.add(FieldDuration, "%v: want 0 or more", c.Duration)
	}
	if c.Requests < 0 {
		p.add(FieldRequests, "%d: want 0 or more", c.Requests)
	}
	if c.Duration == 0 && c.Requests == 0 {
		p.add(FieldDuration, "neither duration nor requests is set: the run would not end")
	}
	if c.Timeout <= 0 {
		p.add(FieldTimeout, "%v: want more than 0", c.Timeout)
	}
	c.limitProblems(&p)
	c.shapeProblems(&p)
	c.clientProblems(&p)
	if !c.PortRange.IsZero() && (c.PortRange.Lo == 0 || c.PortRange.Lo > c.PortRange.Hi) {
		p.add(FieldPortRange, "%s: want LO-HI with 1 <= LO <= HI", c.PortRange)
	}
	for _, a := range c.Sources {
		if !a.IsValid() {
			p.add(FieldSources, "an empty address")
		}
	}
	return p
}

// shapeProblems checks the options that shape a connection against the
// protocol and closer.
func (c Config) shapeProblems(p *problems) {
	if c.Protocol == TCP {
		if c.RequestSize < 1 || c.RequestSize > MaxMessageSize {
			p.add(FieldRequestSize, "%d: want 1 to %d bytes", c.RequestSize, MaxMessageSize)
		}
		if c.ResponseSize < 0 || c.ResponseSize > MaxMessageSize {
			p.add(FieldResponseSize, "%d: want 0 to %d bytes", c.ResponseSize, MaxMessageSize)
		}
	} else {
		if c.RequestSize != 0 {
			p.add(FieldRequestSize, "applies to protocol tcp, not %s", c.Protocol)
		}
		if c.ResponseSize != 0 {
			p.add(FieldResponseSize, "applies to protocol tcp, not %s", c.Protocol)
		}
	}
	spec, known := c.Closer.Spec()
	switch n := c.RequestsPerConn; {
	case n < 0 || n > MaxRequestsPerConn:
		p.add(FieldRequestsPerConn, "%d: want 1 to %d", n, MaxRequestsPerConn)
	case n >= 1 && spec.KeepsAlive:
		p.add(FieldRequestsPerConn, "closer %s keeps connections for the whole run; choose the end that closes them after %d requests (%s)",
			c.Closer, n, ListClosers(ClosingClosers(), ""))
	case n > 1 && c.Protocol == HTTP10:
		p.add(FieldRequestsPerConn, "%d: http1.0 has no keep-alive; use http1.1", n)
	case n > 1 && c.Protocol == Connect:
		p.add(FieldRequestsPerConn, "%d: connect sends no requests", n)
	}
	if c.HalfClose && known && c.Closer != CloserClient {
		p.add(FieldHalfClose, "the client's shutdown sends the first FIN, so it goes with closer %s, not %s", CloserClient, c.Closer)
	}
}

// Validate reports every problem with c at once, as one error.
func (c Config) Validate() error {
	ps := c.Problems()
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// HostProblems checks what only this host can say: that the client port
// range lies within the host's ip_local_port_range (the kernel ignores a
// per-socket bound outside it; a zero local skips this), and that the
// port range and each source address take on a socket. c must be valid.
func (c Config) HostProblems(local PortRange) []FieldError {
	var p problems
	if !c.PortRange.IsZero() && !local.IsZero() && (c.PortRange.Lo < local.Lo || c.PortRange.Hi > local.Hi) {
		p.add(FieldPortRange, "%s is not within net.ipv4.ip_local_port_range %s, and the kernel ignores a per-socket bound outside it",
			c.PortRange, local)
	}
	if len(p) > 0 || (c.PortRange.IsZero() && len(c.Sources) == 0) {
		return p
	}
	t, err := ParseTarget(c.Target)
	if err != nil {
		return append(p, FieldError{FieldTarget, err})
	}
	addr, err := t.Resolve()
	if err != nil {
		return append(p, FieldError{FieldTarget, err})
	}
	dst := addr.AddrPort()
	// The port range on its own first, then the sources, so each problem
	// names its field.
	if !c.PortRange.IsZero() {
		if err := checkDialOptions(dst, c.PortRange, nil); err != nil {
			p = append(p, FieldError{FieldPortRange, err})
		}
	}
	if len(c.Sources) > 0 {
		if err := checkDialOptions(dst, PortRange{}, c.Sources); err != nil {
			p = append(p, FieldError{FieldSources, err})
		}
	}
	return p
}
