package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// Schema names the version of the JSON report. Keys may be added within a
// version; none is renamed or removed.
const Schema = "twbench.report/v1"

// Report is the outcome of one `twbench run`: the host and one Run per
// scenario.
type Report struct {
	Schema  string        `json:"schema"`
	Version string        `json:"twbench_version,omitempty"`
	Host    sockstat.Host `json:"host"`
	Runs    []Run         `json:"runs"`
	// Shard says which shard of a fleet wrote the report (run --shard);
	// Fleet lists the shards a merged report was merged from.
	Shard *ShardInfo `json:"shard,omitempty"`
	Fleet *Fleet     `json:"fleet,omitempty"`
}

// Run is the outcome of one scenario.
type Run struct {
	Scenario scenario.Scenario `json:"scenario"`
	Target   string            `json:"target"`
	// BuiltinTarget is set when twbench served the target itself.
	BuiltinTarget bool `json:"builtin_target"`
	// StartedAt is the load's start, RFC 3339 in UTC.
	StartedAt string `json:"started_at"`
	// StartAt is the instant the load was to start at (run --start-at),
	// and StartLateMS how much later it started.
	StartAt     string   `json:"start_at,omitempty"`
	StartLateMS *float64 `json:"start_late_ms,omitempty"`

	DurationS   float64 `json:"duration_s"`
	Requests    int64   `json:"requests"`
	Connections int64   `json:"connections"`
	QPS         float64 `json:"qps"`

	// Errors counts failed requests by class (loadgen.ErrorClass);
	// ErrorExamples gives the first message of each class seen.
	Errors        map[string]int64  `json:"errors"`
	ErrorExamples map[string]string `json:"error_examples,omitempty"`
	// CloseErrors counts connections whose close went wrong after a
	// complete response (the server did not close when it was to, or sent
	// more); their requests count as done.
	CloseErrors map[string]int64 `json:"close_errors,omitempty"`
	StatusCodes map[string]int64 `json:"status_codes"`

	LatencyUS  Percentiles `json:"latency_us"`
	LatencyHDR string      `json:"latency_hdr"`
	// Schedule describes the open-loop pacer; absent in closed loop.
	Schedule *Schedule `json:"schedule,omitempty"`

	Closes loadgen.Closes `json:"closes"`
	Client End            `json:"client"`
	Server End            `json:"server"`
	// Watched are the endpoints --watch named, each sampled as a client
	// end and a server end, by name in the order given; absent when none.
	Watched WatchedEnds `json:"watched,omitempty"`
	Ports   Ports       `json:"ports"`

	// TimeWaitSeconds is the TIME_WAIT length as the kernel's timers showed
	// it; null when no TIME_WAIT socket was seen.
	TimeWaitSeconds *float64 `json:"time_wait_seconds"`
	// KernelCounters are the run's changes in the namespace-wide TCP
	// counters of /proc/net/netstat and /proc/net/snmp.
	KernelCounters map[string]int64 `json:"kernel_counters"`
	// Throughput is the cumulative count of requests and errors at each
	// sample.
	Throughput []ThroughputPoint `json:"throughput"`
	// PerSecond counts requests, connections and errors in each second.
	PerSecond []SecondPoint `json:"per_second"`
	// Exhaustion describes each resource that ran out for new
	// connections; absent when none did.
	Exhaustion []Exhaustion `json:"exhaustion,omitempty"`
	// ServerErrors are the connection errors the built-in target saw, by
	// class: a client's RST shows here as ECONNRESET. Absent for another
	// target.
	ServerErrors map[string]int64 `json:"server_errors,omitempty"`
	// Sampling says how often the socket states were read, and at what
	// cost; absent when they were not.
	Sampling *Sampling `json:"sampling,omitempty"`

	// Watch is the command `twbench watch` watched, and how each figure
	// was had without twbench's own client; absent for twbench's load.
	Watch *Watch `json:"watch,omitempty"`

	// Topology says where the two ends were when they were in private
	// network namespaces, and Host the settings in force in the client's
	// (the report's host is the machine's); both absent on the host's
	// network. A server end in a namespace of its own has its settings and
	// counters in server.host and server.kernel_counters.
	Topology *Topology      `json:"topology,omitempty"`
	Host     *sockstat.Host `json:"host,omitempty"`
	// CPU is the process's CPU time over the load: client, built-in
	// target and sampler. Absent for a watched command.
	CPU *CPU `json:"cpu,omitempty"`
	// Restart, ReusePort and Remedy are the built-in target's restart
	// mid-load, its SO_REUSEPORT listeners, and the remedy the scenario
	// measures against its baseline (remedy.go); each absent without.
	Restart   *Restart   `json:"restart,omitempty"`
	ReusePort *ReusePort `json:"reuseport,omitempty"`
	Remedy    *Remedy    `json:"remedy,omitempty"`

	Expectations []Expectation `json:"expectations"`
	Interrupted  bool          `json:"interrupted,omitempty"`
	// CutOff counts requests in flight that the run cut off, neither
	// answered nor failed; absent when it cut none.
	CutOff *CutOff `json:"cut_off,omitempty"`
	// Notes say what could not be measured, and why.
	Notes []string `json:"notes,omitempty"`

	// Shard is a shard's part of its fleet's scenario; Fleet says how a
	// merged run was put together from its shards' runs.
	Shard *RunShard `json:"shard,omitempty"`
	Fleet *RunFleet `json:"fleet,omitempty"`
}

// CutOff counts the requests a run cut off while they were in flight.
type CutOff struct {
	// AtEnd: still unanswered a second after the end of the duration,
	// so that the duration bounds the run.
	AtEnd int64 `json:"at_end"`
	// ByInterrupt: cut by a signal that ended the run.
	ByInterrupt int64 `json:"by_interrupt"`
}

// Percentiles summarise a histogram, in microseconds.
type Percentiles struct {
	P50  int64   `json:"p50"`
	P90  int64   `json:"p90"`
	P99  int64   `json:"p99"`
	P999 int64   `json:"p999"`
	Max  int64   `json:"max"`
	Mean float64 `json:"mean"`
}

// Schedule describes an open-loop run's pacing.
type Schedule struct {
	Rate float64 `json:"rate"`
	// Scheduled counts the sends the pacer issued; Late those that started
	// more than 1 ms after their intended time; Queued those that found
	// every connection busy and waited for one; Unsent the sends due before
	// the end of the duration that were never made, because the load could
	// not keep up.
	Scheduled int64 `json:"scheduled"`
	Late      int64 `json:"late"`
	Queued    int64 `json:"queued"`
	Unsent    int64 `json:"unsent"`
	// LagUS is how late requests started after their intended time, and
	// LagHDR its histogram, encoded as LatencyHDR is, so that runs can be
	// merged.
	LagUS  Percentiles `json:"lag_us"`
	LagHDR string      `json:"lag_hdr,omitempty"`
}

// End is what was seen of one end of the connections: the client end
// (sockets whose remote port is the target's) or the server end (sockets
// whose local port is the target's).
type End struct {
	Sampled bool   `json:"sampled"`
	Reason  string `json:"unsampled_reason,omitempty"`
	// Baseline holds the counts before the load started (left by earlier
	// runs or other clients), Peak each state's highest count over the
	// samples, Final the last sample's counts.
	Baseline map[string]int `json:"baseline"`
	Peak     map[string]int `json:"peak"`
	Final    map[string]int `json:"final"`
	// NewTimeWait counts the TIME_WAIT sockets that appeared during the
	// run, each once; TimeWaitPerRequest divides it by the requests (null
	// when no request succeeded).
	NewTimeWait        int64    `json:"new_time_wait"`
	TimeWaitPerRequest *float64 `json:"time_wait_per_request"`
	Series             []Point  `json:"series"`

	// Source is "agent" when a remote `twbench agent` sampled the end, at
	// AgentURL, and "namespace" for a server end sampled in its own private
	// namespace (topology veth); absent when it was sampled on this host,
	// or in the client's namespace. The agent's
	// series is on this host's time axis: ClockOffsetMS is the agent's
	// clock minus this host's, good to about ClockRTTMS/2. Matched is the
	// address and port the agent filtered on; Host and KernelCounters are
	// the agent host's (or the server namespace's) settings and the run's
	// changes in its counters.
	Source         string           `json:"source,omitempty"`
	AgentURL       string           `json:"agent_url,omitempty"`
	ClockOffsetMS  *float64         `json:"clock_offset_ms,omitempty"`
	ClockRTTMS     *float64         `json:"clock_rtt_ms,omitempty"`
	Matched        string           `json:"matched,omitempty"`
	Host           *sockstat.Host   `json:"host,omitempty"`
	KernelCounters map[string]int64 `json:"kernel_counters,omitempty"`
	// Gaps are the spans the agent sent no samples for, and why;
	// MissingFrom is the start of the first, in seconds from the load's
	// start. With gaps, TimeWaitPerRequest divides by RequestsSampled, the
	// requests completed while the agent streamed.
	Gaps            []Gap    `json:"gaps,omitempty"`
	MissingFrom     *float64 `json:"missing_from,omitempty"`
	RequestsSampled *int64   `json:"requests_sampled,omitempty"`

	// TimeWaitHolders are the addresses that held the end's TIME_WAIT
	// sockets in the sample where they peaked; TimeWaitMemory is the
	// kernel memory that peak held. Both are absent when the end held no
	// TIME_WAIT, and the holders for an end read from an agent.
	TimeWaitHolders *Holders        `json:"time_wait_holders,omitempty"`
	TimeWaitMemory  *TimeWaitMemory `json:"time_wait_memory,omitempty"`
}

// Holders are the addresses that held an end's TIME_WAIT sockets in one
// sample.
type Holders struct {
	// By is what the addresses are: "remote" on a server end (the
	// clients), "local" on a client end (its source addresses).
	By string `json:"by"`
	// T is the sample's time, seconds from the load's start.
	T float64 `json:"t"`
	// Top are the addresses with the most TIME_WAIT sockets, most first,
	// at most sockstat.TopHolders of them.
	Top []Holder `json:"top"`
	// Addresses is how many distinct addresses held some; past
	// sockstat.MaxHolderAddrs, Untracked counts the sockets of the others.
	Addresses int    `json:"addresses"`
	Untracked uint32 `json:"untracked"`
}

// Holder is one address and its TIME_WAIT sockets.
type Holder struct {
	Address  string `json:"address"`
	TimeWait uint32 `json:"time_wait"`
}

// TimeWaitMemory is the kernel memory an end's TIME_WAIT sockets held at
// their peak: the count times the size of one in the tw_sock_TCP slab.
type TimeWaitMemory struct {
	PeakBytes   int64  `json:"peak_bytes"`
	ObjectBytes int64  `json:"object_bytes"`
	Slab        string `json:"slab"`
	// SizeFrom is "slabinfo" when /proc/slabinfo was read, "assumed" when
	// it could not be (Reason says why) and the kernel's usual size was
	// taken.
	SizeFrom string `json:"size_from"`
	Reason   string `json:"reason,omitempty"`
}

// Point is one sample of an end: seconds from the load's start, and the
// count of each state.
type Point struct {
	T      float64
	Counts sockstat.Counts
}

// MarshalJSON writes {"t": 0.1, "TIME_WAIT": 0, ...} with the states in
// the order of sockstat.ConnStates.
func (p Point) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 200)
	b = append(b, `{"t":`...)
	b = strconv.AppendFloat(b, p.T, 'f', 3, 64)
	for _, s := range sockstat.ConnStates() {
		b = append(b, `,"`...)
		b = append(b, s.String()...)
		b = append(b, `":`...)
		b = strconv.AppendUint(b, uint64(p.Counts[s]), 10)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes. A report holds a point per
// sample per end, so the plain form is read by a scanner of its own (a
// map per point made a 20,000-run report take 6 s of compare's 35); any
// other JSON object takes the general path.
func (p *Point) UnmarshalJSON(b []byte) error {
	if q, ok := scanPoint(b); ok {
		*p = q
		return nil
	}
	var m map[string]json.Number
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return fmt.Errorf("report: series point: %w", err)
	}
	*p = Point{}
	for k, v := range m {
		if k == "t" {
			f, err := v.Float64()
			if err != nil {
				return fmt.Errorf("report: series point t = %s: %w", v, err)
			}
			p.T = f
			continue
		}
		s, ok := sockstat.ParseState(k)
		if !ok {
			continue // a state added by a later version
		}
		n, err := strconv.ParseUint(v.String(), 10, 32)
		if err != nil {
			return fmt.Errorf("report: series point %s = %s: %w", k, v, err)
		}
		p.Counts[s] = uint32(n)
	}
	return nil
}

// scanPoint reads a point written as MarshalJSON writes it: keys without
// escapes, each with a number. Anything else, and any number that does
// not parse, is not ok, and left to the general path.
func scanPoint(b []byte) (Point, bool) {
	var p Point
	i := 0
	ws := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	ws()
	if i >= len(b) || b[i] != '{' {
		return p, false
	}
	i++
	for first := true; ; first = false {
		ws()
		if i < len(b) && b[i] == '}' && first {
			i++
			break
		}
		if i >= len(b) || b[i] != '"' {
			return p, false
		}
		end := bytes.IndexByte(b[i+1:], '"')
		if end < 0 || bytes.IndexByte(b[i+1:i+1+end], '\\') >= 0 {
			return p, false
		}
		key := b[i+1 : i+1+end]
		i += end + 2
		ws()
		if i >= len(b) || b[i] != ':' {
			return p, false
		}
		i++
		ws()
		start := i
		for i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] == '-' || b[i] == '+' || b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
			i++
		}
		num := string(b[start:i])
		if string(key) == "t" {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return p, false
			}
			p.T = f
		} else if s, known := sockstat.ParseState(string(key)); known {
			n, err := strconv.ParseUint(num, 10, 32)
			if err != nil {
				return p, false
			}
			p.Counts[s] = uint32(n)
		} else if _, err := strconv.ParseFloat(num, 64); err != nil {
			return p, false // a later version's state, with a value that is not a number
		}
		ws()
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i < len(b) && b[i] == '}' {
			i++
			break
		}
		return p, false
	}
	ws()
	return p, i == len(b)
}

// Ports is what the run costs in client ephemeral ports, and the ceiling
// that puts on new connections per second from one source address to the
// target.
type Ports struct {
	// PortsPerQPS is the ports held at steady state per request/s, in
	// seconds, without TIME_WAIT reuse: (connection lifetime + the TIME_WAIT
	// length, for the share of connections the client closed first) ×
	// connections per request. For a keep-alive pool kept for the whole run
	// (closer none) it is the pool's ports per request/s, concurrency / qps,
	// and the ceilings are null: the pool opens no new connections.
	PortsPerQPS float64 `json:"ports_per_qps"`
	// UsablePorts is the ephemeral range less reserved ports, for each
	// source address, times the source addresses.
	UsablePorts int `json:"usable_ports"`
	// PortRange is the range in force: the client port range if one was
	// given (PortRangeFrom says which), else ip_local_port_range.
	PortRange     string `json:"port_range"`
	PortRangeFrom string `json:"port_range_from,omitempty"`
	// Sources is the use of each source address, when connections were
	// spread over several.
	Sources []SourceUse `json:"sources,omitempty"`

	MaxSustainableQPS Ceilings `json:"max_sustainable_qps"`

	// The inputs of the figures above.
	ConnectionsPerRequest float64 `json:"connections_per_request"`
	ConnectionLifetimeS   float64 `json:"connection_lifetime_s"`
	ClientCloseShare      float64 `json:"client_close_share"`
	TimeWaitS             float64 `json:"time_wait_s"`
	TimeWaitMeasured      bool    `json:"time_wait_measured"`
	ReuseDelayS           float64 `json:"reuse_delay_s"`
	// PortHoldS is how long one connection holds its port in each regime.
	PortHoldS Regimes `json:"port_hold_s"`
	// TimeWaitFrom names the setting TimeWaitS was read from when it was
	// not measured: twice macOS's net.inet.tcp.msl. Absent when it was
	// measured, or is Linux's 60 s.
	TimeWaitFrom string `json:"time_wait_from,omitempty"`
}

// SourceUse is what one source address was used for.
type SourceUse struct {
	Address     string `json:"address"`
	Connections int64  `json:"connections"`
	// NoPort counts its connects that found no free port.
	NoPort      int64 `json:"EADDRNOTAVAIL"`
	UsablePorts int   `json:"usable_ports"`
	// PeakInUse is the most client-end sockets from the address in any
	// sample, in any state: the ports it held. PeakTimeWait counts those
	// in TIME_WAIT. Both are 0 when the client end was not sampled.
	PeakInUse    int `json:"peak_in_use"`
	PeakTimeWait int `json:"peak_time_wait"`
}

// Ceilings gives max_sustainable_qps in both regimes and names the one this
// run was in. A ceiling is null when the run opened no connections per
// request worth counting.
type Ceilings struct {
	InForce  string   `json:"in_force"`
	Loopback *float64 `json:"loopback"`
	Network  *float64 `json:"network"`
}

// Regimes is a figure in both regimes.
type Regimes struct {
	Loopback float64 `json:"loopback"`
	Network  float64 `json:"network"`
}

// The regimes of TIME_WAIT reuse.
const (
	// RegimeLoopback: the target is on a loopback address, where
	// tcp_tw_reuse=2 (the default) lets connect() take a TIME_WAIT port
	// back after tcp_tw_reuse_delay.
	RegimeLoopback = "loopback"
	// RegimeNetwork: any other address, where tcp_tw_reuse=2 does not
	// apply and a port stays in TIME_WAIT for its full length.
	RegimeNetwork = "network"
)

// Sampling describes the socket-state samples of a run. The sampler
// keeps itself under 5% of a core: after a sample that took d, it waits at
// least 25×d, so on a host with many sockets MeanIntervalS exceeds the
// IntervalS asked for.
type Sampling struct {
	IntervalS     float64 `json:"interval_s"`
	Samples       int     `json:"samples"`
	MeanIntervalS float64 `json:"mean_interval_s"`
	MeanCostMS    float64 `json:"mean_cost_ms"`
	MaxCostMS     float64 `json:"max_cost_ms"`
}

// ThroughputPoint is the cumulative requests and errors at a sample.
type ThroughputPoint struct {
	T        float64 `json:"t"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
}

// Expectation is one checked expression over the run's figures.
type Expectation struct {
	Expr string `json:"expr"`
	OK   bool   `json:"ok"`
	// Source is where the expression was written: file:line, or --expect.
	Source string `json:"source,omitempty"`
	// Values holds the figures the expression names, as they were in the
	// run (null for a figure the run does not have, such as a ceiling of
	// a keep-alive pool).
	Values map[string]any `json:"values,omitempty"`
	// Error says why the expression could not be evaluated; it then failed.
	Error string `json:"error,omitempty"`
}
