package agent

import (
	"fmt"
	"time"

	"github.com/twbench/twbench/sockstat"
)

// The agent's HTTP API, as `twbench agent` and `twbench serve` serve it and
// Client reads it:
//
//	GET /v1/host                          HostInfo: kernel settings, counters, the agent's clock
//	GET /v1/series?addr=A&port=P&interval=D   a stream of SeriesLine, one JSON object per line
//	GET /metrics                          Prometheus exposition format
//
// Every request carries "Authorization: Bearer TOKEN" when the agent has a
// token.
const (
	PathHost    = "/v1/host"
	PathSeries  = "/v1/series"
	PathMetrics = "/metrics"
)

// HostInfo is the agent host's kernel settings, its TCP counters and its
// clock when it answered.
type HostInfo struct {
	Host     sockstat.Host     `json:"host"`
	Counters sockstat.Counters `json:"counters,omitempty"`
	// CountersError says why Counters are missing.
	CountersError string `json:"counters_error,omitempty"`
	// TimeNS is the agent's wall clock, Unix nanoseconds, as it answered.
	TimeNS int64 `json:"time_ns"`
}

// SeriesLine is one line of a series stream: the header first, then a
// sample per interval, or an error that ends the stream.
type SeriesLine struct {
	Header *SeriesHeader `json:"header,omitempty"`
	Sample *WireSample   `json:"sample,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// SeriesHeader says what the agent samples for a stream.
type SeriesHeader struct {
	// Matched is the address and port the agent filters on. When the
	// address asked for is not one of the agent host's (a NAT or a load
	// balancer between the ends), the agent matches the port alone:
	// "*:8080".
	Matched   string  `json:"matched"`
	IntervalS float64 `json:"interval_s"`
}

// WireSample is a sockstat.Sample on the wire: counts by state name, times
// in the agent's clock.
type WireSample struct {
	AtNS              int64             `json:"at_ns"`
	CostUS            int64             `json:"cost_us"`
	Server            map[string]uint32 `json:"server"`
	Client            map[string]uint32 `json:"client"`
	ServerNewTimeWait int               `json:"server_new_time_wait"`
	ClientNewTimeWait int               `json:"client_new_time_wait"`
	MaxTimeWaitLeftMS int64             `json:"max_time_wait_left_ms"`
}

// toWire converts s for the wire.
func toWire(s sockstat.Sample) WireSample {
	return WireSample{
		AtNS:              s.At.UnixNano(),
		CostUS:            s.Cost.Microseconds(),
		Server:            countsMap(&s.Server),
		Client:            countsMap(&s.Client),
		ServerNewTimeWait: s.ServerNewTimeWait,
		ClientNewTimeWait: s.ClientNewTimeWait,
		MaxTimeWaitLeftMS: s.MaxTimeWaitLeft.Milliseconds(),
	}
}

// FromWire converts w back to a sockstat.Sample; At is in the agent's
// clock. States a later version adds are skipped.
func (w WireSample) FromWire() (sockstat.Sample, error) {
	s := sockstat.Sample{
		At:                time.Unix(0, w.AtNS),
		Cost:              time.Duration(w.CostUS) * time.Microsecond,
		ServerNewTimeWait: w.ServerNewTimeWait,
		ClientNewTimeWait: w.ClientNewTimeWait,
		MaxTimeWaitLeft:   time.Duration(w.MaxTimeWaitLeftMS) * time.Millisecond,
	}
	if w.AtNS <= 0 {
		return s, fmt.Errorf("agent: sample without a time")
	}
	if w.ServerNewTimeWait < 0 || w.ClientNewTimeWait < 0 || w.CostUS < 0 || w.MaxTimeWaitLeftMS < 0 {
		return s, fmt.Errorf("agent: sample with a negative count or time")
	}
	// No sample takes an hour, and no socket state lasts a day: larger
	// values are no agent's, and would overflow a time.Duration.
	if w.CostUS > int64(time.Hour/time.Microsecond) || w.MaxTimeWaitLeftMS > int64(24*time.Hour/time.Millisecond) {
		return s, fmt.Errorf("agent: sample with a cost of %d µs or a timer of %d ms: more than any sample or socket takes", w.CostUS, w.MaxTimeWaitLeftMS)
	}
	for name, n := range w.Server {
		if st, ok := sockstat.ParseState(name); ok {
			s.Server[st] = n
		}
	}
	for name, n := range w.Client {
		if st, ok := sockstat.ParseState(name); ok {
			s.Client[st] = n
		}
	}
	return s, nil
}

func countsMap(c *sockstat.Counts) map[string]uint32 {
	m := make(map[string]uint32, 10)
	for _, st := range sockstat.ConnStates() {
		m[st.String()] = c[st]
	}
	return m
}
