package report

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/sockstat"
)

// PlanSchema names the version of the plan's JSON. Keys may be added
// within a version; none is renamed or removed.
const PlanSchema = "twbench.plan/v1"

// PlanReport is the outcome of `twbench plan`: the host settings the plans
// assume, and one Plan per workload.
type PlanReport struct {
	Schema  string `json:"schema"`
	Version string `json:"twbench_version,omitempty"`
	// Host holds the settings the plans assume: this host's, or the
	// report's with From, with any setting plan was asked to assume
	// (PlanSettings) in place.
	Host           sockstat.Host           `json:"host"`
	TimeWaitObject sockstat.TimeWaitObject `json:"time_wait_object"`
	// From is the report the workloads were measured in; absent when they
	// came from flags.
	From  string   `json:"from,omitempty"`
	Plans []Plan   `json:"plans"`
	Notes []string `json:"notes,omitempty"`
}

// Workload is what a plan is asked about: new requests per second and what
// each costs. Its figures come from flags (DefaultWorkload) or from a
// run's measurements (MeasuredWorkload).
type Workload struct {
	// Scenario names the run the figures were measured in.
	Scenario string         `json:"scenario,omitempty"`
	Rate     float64        `json:"rate"`
	Closer   loadgen.Closer `json:"closer"`
	// RequestsPerConn is what each connection carries before the closer
	// closes it; ConnectionsPerRequest is its inverse, or as measured, and
	// 0 for a keep-alive pool, which opens no connections at steady state.
	RequestsPerConn       int     `json:"requests_per_conn"`
	ConnectionsPerRequest float64 `json:"connections_per_request"`
	// LifetimeS is a connection's life from connect to close; LatencyS how
	// long a request holds its connection, for Little's law.
	LifetimeS float64 `json:"connection_lifetime_s"`
	LatencyS  float64 `json:"latency_s"`
	// The shares of connections each end closes first, and so holds in
	// TIME_WAIT; the rest are reset.
	ClientCloseShare float64 `json:"client_close_share"`
	ServerCloseShare float64 `json:"server_close_share"`
	// ClientPortRange narrows the host's ephemeral range per socket, as a
	// scenario's client_port_range does.
	ClientPortRange string `json:"client_port_range,omitempty"`
	// Sources are the client's addresses, Destinations the distinct
	// server address:port pairs it connects to; connections spread evenly
	// over the pairs.
	Sources      int     `json:"sources"`
	Destinations int     `json:"destinations"`
	TimeWaitS    float64 `json:"time_wait_s"`
	// TimeWaitFrom says where TimeWaitS came from: TimeWaitMeasured,
	// TimeWaitAssumed or TimeWaitGiven.
	TimeWaitFrom string `json:"time_wait_from"`
	// Regime is the one the plan's ports and ceilings apply in.
	Regime string `json:"regime"`
	// TargetShare is the share of each pair's usable ports the workload
	// may hold: what Needed sizes against.
	TargetShare float64 `json:"target_share"`
}

// Where a Workload's TIME_WAIT length came from.
const (
	TimeWaitMeasured = "measured" // the kernel's timers, in a run
	TimeWaitAssumed  = "assumed"  // Linux's TCP_TIMEWAIT_LEN
	TimeWaitGiven    = "given"    // a flag
)

// Limits on a Workload: past them the arithmetic means nothing.
const (
	MaxPlanRate     = 1e9
	MaxPlanPairs    = 1 << 20 // sources, and destinations
	MaxPlanDuration = 86400.0 // seconds: lifetime, latency, TIME_WAIT
)

// DefaultLifetimeS is the connection lifetime plan assumes without a
// report: a request over a LAN. The TIME_WAIT dwarfs it.
const DefaultLifetimeS = 0.001

// DefaultWorkload returns the workload plan assumes for closer and
// requestsPerConn when no report measured one: which end closes first
// comes from the closer table, a connection lives DefaultLifetimeS and
// its TIME_WAIT lasts Linux's 60 s, over a network.
func DefaultWorkload(closer loadgen.Closer, requestsPerConn int) Workload {
	w := Workload{Closer: closer, RequestsPerConn: requestsPerConn, LifetimeS: DefaultLifetimeS,
		Sources: 1, Destinations: 1, TimeWaitS: timeWaitAssumed.Seconds(), TimeWaitFrom: TimeWaitAssumed,
		Regime: RegimeNetwork, TargetShare: 1}
	if requestsPerConn > 0 {
		w.LatencyS = w.LifetimeS / float64(requestsPerConn)
	}
	spec, ok := closer.Spec()
	if !ok || spec.KeepsAlive {
		return w
	}
	if requestsPerConn > 0 {
		w.ConnectionsPerRequest = 1 / float64(requestsPerConn)
	}
	// One connection closed each way, put to the closer: the closes it
	// asks for are the end whose FIN comes first.
	w.ClientCloseShare = float64(spec.Asked(loadgen.Closes{ClientFirst: 1}))
	w.ServerCloseShare = float64(spec.Asked(loadgen.Closes{ServerFirst: 1}))
	return w
}

// MaxConnectionsPerRequest bounds a workload's connections per request.
const MaxConnectionsPerRequest = 1000

// MeasuredWorkload returns the workload a run measured: its rate,
// connections per request, connection lifetime, closer shares, TIME_WAIT
// length, mean latency, source addresses, client port range and regime.
// They are the inputs the run's own port figures were computed from, so
// that a plan of the run, on the report's host, gives its ceilings.
func MeasuredWorkload(r *Run) Workload {
	p := &r.Ports
	w := Workload{Scenario: r.Scenario.Name, Rate: r.QPS, Closer: r.Scenario.Closer,
		RequestsPerConn: max(r.Scenario.RequestsPerConn, 1), ConnectionsPerRequest: p.ConnectionsPerRequest,
		LifetimeS: p.ConnectionLifetimeS, LatencyS: r.LatencyUS.Mean / 1e6,
		ClientCloseShare: p.ClientCloseShare, ClientPortRange: r.Scenario.ClientPortRange,
		Sources: max(len(r.Scenario.Sources), 1), Destinations: 1,
		TimeWaitS: p.TimeWaitS, TimeWaitFrom: TimeWaitAssumed,
		Regime: p.MaxSustainableQPS.InForce, TargetShare: 1}
	if p.TimeWaitMeasured {
		w.TimeWaitFrom = TimeWaitMeasured
	}
	if n := r.Closes.Total(); n > 0 {
		w.ServerCloseShare = float64(r.Closes.ServerFirst) / float64(n)
	}
	if w.LatencyS == 0 {
		w.LatencyS = w.LifetimeS / float64(w.RequestsPerConn)
	}
	if w.Regime != RegimeLoopback {
		w.Regime = RegimeNetwork
	}
	if spec, ok := w.Closer.Spec(); ok && spec.KeepsAlive {
		// The run's closes are the pool's, at its end: at steady state a
		// pool opens and closes nothing.
		w.ConnectionsPerRequest, w.ClientCloseShare, w.ServerCloseShare = 0, 0, 0
	}
	return w
}

// Validate reports every problem with w at once, one line each, named by
// w's JSON keys.
func (w Workload) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !(w.Rate > 0 && w.Rate <= MaxPlanRate) {
		bad("rate %s: want new requests/s above 0, at most %s", planNumber(w.Rate), planNumber(MaxPlanRate))
	}
	if !w.Closer.Valid() {
		bad("closer %q: want one of %s", w.Closer, loadgen.ListClosers(loadgen.Closers(), ""))
	}
	if w.RequestsPerConn < 1 || w.RequestsPerConn > loadgen.MaxRequestsPerConn {
		bad("requests_per_conn %d: want 1 to %d", w.RequestsPerConn, loadgen.MaxRequestsPerConn)
	}
	for _, f := range []struct {
		key  string
		v    float64
		zero bool // 0 allowed
	}{{"connection_lifetime_s", w.LifetimeS, true}, {"latency_s", w.LatencyS, true}, {"time_wait_s", w.TimeWaitS, false}} {
		if !(f.v > 0 || f.zero && f.v == 0) || f.v > MaxPlanDuration {
			lowest := "above 0"
			if f.zero {
				lowest = "0 or more"
			}
			bad("%s %s: want %s, at most %s s", f.key, planNumber(f.v), lowest, planNumber(MaxPlanDuration))
		}
	}
	// A run measures more connections than requests when some failed
	// after their connection was made (reset, or refused by a restarting
	// server): each still cost a port.
	if !(w.ConnectionsPerRequest >= 0 && w.ConnectionsPerRequest <= MaxConnectionsPerRequest) {
		bad("connections_per_request %s: want 0 to %d", planNumber(w.ConnectionsPerRequest), MaxConnectionsPerRequest)
	}
	for _, f := range []struct {
		key string
		v   float64
	}{{"client_close_share", w.ClientCloseShare}, {"server_close_share", w.ServerCloseShare}} {
		if !(f.v >= 0 && f.v <= 1) {
			bad("%s %s: want 0 to 1", f.key, planNumber(f.v))
		}
	}
	if w.ClientCloseShare+w.ServerCloseShare > 1+1e-9 {
		bad("client_close_share + server_close_share = %s: want at most 1", planNumber(w.ClientCloseShare+w.ServerCloseShare))
	}
	if w.ClientPortRange != "" {
		if _, err := loadgen.ParsePortRange(w.ClientPortRange); err != nil {
			bad("client_port_range %w", err)
		}
	}
	for _, f := range []struct {
		key string
		n   int
	}{{"sources", w.Sources}, {"destinations", w.Destinations}} {
		if f.n < 1 || f.n > MaxPlanPairs {
			bad("%s %d: want 1 to %d", f.key, f.n, MaxPlanPairs)
		}
	}
	if w.Regime != RegimeNetwork && w.Regime != RegimeLoopback {
		bad("regime %q: want %s or %s", w.Regime, RegimeNetwork, RegimeLoopback)
	}
	if !(w.TargetShare > 0 && w.TargetShare <= 1) {
		bad("target_share %s: want a share above 0, at most 1 (100%%)", planNumber(w.TargetShare))
	}
	return errors.Join(errs...)
}

func planNumber(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Plan is what a workload costs each end: TIME_WAIT sockets and their
// memory, client ports and the ceilings they put on the rate, and what it
// takes to stay within them.
type Plan struct {
	Workload Workload  `json:"workload"`
	Client   PlanEnd   `json:"client"`
	Server   PlanEnd   `json:"server"`
	Ports    PlanPorts `json:"ports"`
	Needed   Needed    `json:"needed"`
	// Advice is one sentence on what to do, in the articles' terms.
	Advice string `json:"advice"`
	// Remedies are what the remedies plan was asked about (--tw-reuse,
	// --pool) do to it; absent when none was.
	Remedies     []PlanRemedy  `json:"remedies,omitempty"`
	Expectations []Expectation `json:"expectations"`
}

// PlanEnd is the TIME_WAIT one end holds at steady state.
type PlanEnd struct {
	// TimeWait is what the rate leaves: new connections/s × the share this
	// end closes first × the TIME_WAIT length.
	TimeWait int64 `json:"time_wait"`
	// TimeWaitHeld is what the end can hold of them: one per 4-tuple (the
	// client's ports run out, or a new SYN on a 4-tuple takes the server's
	// over), and at most tcp_max_tw_buckets (the kernel destroys the rest,
	// counting TCPTimeWaitOverflow). HeldBy names the limit, if one binds.
	TimeWaitHeld int64  `json:"time_wait_held"`
	HeldBy       string `json:"held_by,omitempty"`
	// MemoryBytes is the kernel memory TimeWaitHeld takes, at the
	// report's time_wait_object size.
	MemoryBytes int64 `json:"memory_bytes"`
	// TWBucketsShare is the TIME_WAIT the 4-tuples allow over
	// tcp_max_tw_buckets; above 1 the kernel destroys the rest. Null when
	// the setting was not read.
	TWBucketsShare *float64 `json:"tw_buckets_share"`
}

// The limits on the TIME_WAIT an end holds.
const (
	HeldByFourTuples = "four_tuples"
	HeldByTWBuckets  = "tcp_max_tw_buckets"
)

// PlanPorts is what the workload costs in client ports, per (source,
// destination) pair, in the plan's regime unless said otherwise.
type PlanPorts struct {
	PortRange   string `json:"port_range"`
	UsablePorts int    `json:"usable_ports"`
	// PortsPerQPS and PortHoldS are the report's figures of the same
	// names; for a keep-alive pool, PortsPerQPS is the latency (Little's
	// law: the pool holds rate × latency connections).
	PortsPerQPS float64 `json:"ports_per_qps"`
	PortHoldS   Regimes `json:"port_hold_s"`
	ReuseDelayS float64 `json:"reuse_delay_s"`
	// InUse is the ports each pair holds at steady state, Share that over
	// UsablePorts: above 1 the ports run out.
	InUse int64   `json:"in_use"`
	Share float64 `json:"share"`
	// FourTuples is the 4-tuples connect() cycles through, and so the
	// TIME_WAIT sockets the ends can hold: each pair's usable ports, or
	// only their even half while the ports in use fit in it (connect()
	// prefers even ports), × pairs.
	FourTuples int64 `json:"four_tuples"`
	// MaxSustainableQPS is the ceiling on new requests/s over every pair,
	// the report's figure when there is one destination; PerPair over one.
	MaxSustainableQPS Ceilings `json:"max_sustainable_qps"`
	PerPair           Ceilings `json:"max_sustainable_qps_per_pair"`
	// ExhaustedAfterS is how long the ports last at this rate, from none in
	// use, before connect() fails with EADDRNOTAVAIL; null when they
	// last.
	ExhaustedAfterS *float64 `json:"exhausted_after_s"`
}

// Needed is what keeps each pair's ports in use under the target share:
// source addresses (with the destinations given), or destinations (with
// the sources given), or a keep-alive pool, which opens no new
// connections. Sources and Destinations are null when the usable ports
// are not known.
type Needed struct {
	Sources      *int `json:"sources"`
	Destinations *int `json:"destinations"`
	// PooledConnections is the keep-alive pool that carries the rate:
	// rate × latency, Little's law.
	PooledConnections int64 `json:"pooled_connections"`
}

// NewPlan works out what w costs on a host with settings h, whose
// TIME_WAIT sockets take obj's size each. w must be valid.
func NewPlan(w Workload, h sockstat.Host, obj sockstat.TimeWaitObject) Plan {
	pl := Plan{Workload: w, Expectations: []Expectation{}}
	p := &pl.Ports
	keepAlive := false
	if spec, ok := w.Closer.Spec(); ok {
		keepAlive = spec.KeepsAlive
	}
	delay, _ := h.TWReuseDelay()
	m := portModel{ConnectionsPerRequest: w.ConnectionsPerRequest, LifetimeS: w.LifetimeS,
		ClientCloseShare: w.ClientCloseShare, TimeWaitS: w.TimeWaitS, ReuseDelayS: delay.Seconds()}
	p.PortHoldS = m.hold(h)
	p.PortsPerQPS = m.portsPerQPS()
	p.ReuseDelayS = m.ReuseDelayS
	p.MaxSustainableQPS.InForce, p.PerPair.InForce = w.Regime, w.Regime
	lo, hi, rangeErr := h.PortRange()
	if rangeErr == nil {
		if r, err := loadgen.ParsePortRange(w.ClientPortRange); err == nil {
			lo, hi = clampRange(lo, hi, int(r.Lo), int(r.Hi))
		}
		p.PortRange = strconv.Itoa(lo) + "-" + strconv.Itoa(hi)
		p.UsablePorts = h.UsablePorts(lo, hi)
	}

	pairs := float64(w.Sources * w.Destinations)
	conns := w.Rate * w.ConnectionsPerRequest // new connections/s over all pairs
	hold := p.PortHoldS.Network
	if w.Regime == RegimeLoopback {
		hold = p.PortHoldS.Loopback
	}
	inUse := conns * hold // ports held over all pairs
	if keepAlive {
		p.PortsPerQPS = w.LatencyS
		inUse = w.Rate * w.LatencyS
	} else if rangeErr == nil {
		p.MaxSustainableQPS.Loopback, p.MaxSustainableQPS.Network = m.ceilings(p.UsablePorts*w.Sources*w.Destinations, p.PortHoldS)
		p.PerPair.Loopback, p.PerPair.Network = m.ceilings(p.UsablePorts, p.PortHoldS)
	}
	p.InUse = int64(math.Round(inUse / pairs))
	// connect() prefers even ports (Linux 4.6+), and takes an odd one only
	// when no even port is free: while the ports in use fit in the even
	// half, the 4-tuples it cycles through are that half's.
	inPlay := p.UsablePorts
	if even := (p.UsablePorts + 1) / 2; inUse/pairs <= float64(even) {
		inPlay = even
	}
	p.FourTuples = int64(inPlay) * int64(w.Sources) * int64(w.Destinations)
	pl.Needed.PooledConnections = max(int64(math.Ceil(w.Rate*w.LatencyS)), 1)
	if p.UsablePorts > 0 {
		p.Share = round(inUse/pairs/float64(p.UsablePorts), 4)
		if per := conns / pairs; !keepAlive && per > 0 && inUse/pairs > float64(p.UsablePorts) {
			// No port comes back before hold seconds, and the ports are
			// gone sooner than that.
			v := round(float64(p.UsablePorts)/per, 3)
			p.ExhaustedAfterS = &v
		}
		budget := w.TargetShare * float64(p.UsablePorts)
		src := max(int(math.Ceil(round(inUse/(budget*float64(w.Destinations)), 9))), 1)
		dst := max(int(math.Ceil(round(inUse/(budget*float64(w.Sources)), 9))), 1)
		pl.Needed.Sources, pl.Needed.Destinations = &src, &dst
	}

	buckets, bucketsOK := h.Int(sockstat.SysctlMaxTWBuckets)
	end := func(share float64) PlanEnd {
		tw := conns * share * w.TimeWaitS
		e := PlanEnd{TimeWait: int64(math.Round(tw))}
		e.TimeWaitHeld = e.TimeWait
		if p.FourTuples > 0 && e.TimeWaitHeld > p.FourTuples {
			e.TimeWaitHeld, e.HeldBy = p.FourTuples, HeldByFourTuples
		}
		if bucketsOK && buckets > 0 {
			v := round(float64(e.TimeWaitHeld)/float64(buckets), 4)
			e.TWBucketsShare = &v
			if e.TimeWaitHeld > int64(buckets) {
				e.TimeWaitHeld, e.HeldBy = int64(buckets), HeldByTWBuckets
			}
		}
		e.MemoryBytes = e.TimeWaitHeld * obj.Bytes
		return e
	}
	pl.Client, pl.Server = end(w.ClientCloseShare), end(w.ServerCloseShare)
	pl.Advice = advice(&pl, h, obj)
	return pl
}

// TableRates are the new connections/s of the articles' table.
func TableRates() []float64 { return []float64{10, 100, 1_000, 5_000, 10_000} }

// PlanTable returns a plan for each workload at each of TableRates.
func PlanTable(ws []Workload, h sockstat.Host, obj sockstat.TimeWaitObject) []Plan {
	var out []Plan
	for _, w := range ws {
		for _, r := range TableRates() {
			w.Rate = r
			out = append(out, NewPlan(w, h, obj))
		}
	}
	return out
}

// PlanSetting is a host setting plan can assume in place of the host's,
// to weigh a change before making it: a flag of `twbench plan` and the
// sysctl it stands for.
type PlanSetting struct {
	Flag   string
	Sysctl string
	Help   string
	// value turns the flag's text into the sysctl's as the kernel prints
	// it, or says why it cannot.
	value func(string) (string, error)
}

// PlanSettings lists the settings plan can assume.
func PlanSettings() []PlanSetting {
	return []PlanSetting{
		{Flag: "port-range", Sysctl: sockstat.SysctlPortRange,
			Help: "assume this ephemeral port range, LO-HI, for ip_local_port_range",
			value: func(text string) (string, error) {
				r, err := loadgen.ParsePortRange(text)
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("%d %d", r.Lo, r.Hi), nil
			}},
		{Flag: "tw-reuse", Sysctl: sockstat.SysctlTWReuse,
			Help: "assume tcp_tw_reuse 0 (off), 1 (everywhere) or 2 (loopback only): with it a client port comes back after tcp_tw_reuse_delay, not the TIME_WAIT length; the plan shows the ceiling without it too",
			value: func(text string) (string, error) {
				if text != "0" && text != "1" && text != "2" {
					return "", fmt.Errorf("%q: want 0, 1 or 2", text)
				}
				return text, nil
			}},
	}
}

// Apply returns h with the setting's sysctl set from text; h itself is
// not changed.
func (s PlanSetting) Apply(h sockstat.Host, text string) (sockstat.Host, error) {
	v, err := s.value(text)
	if err != nil {
		return h, fmt.Errorf("--%s %w", s.Flag, err)
	}
	h.Sysctl = maps.Clone(h.Sysctl)
	if h.Sysctl == nil {
		h.Sysctl = map[string]string{}
	}
	h.Sysctl[s.Sysctl] = v
	return h, nil
}
