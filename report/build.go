package report

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// Sample is a socket sample and the load's progress when it was taken.
type Sample struct {
	sockstat.Sample
	Requests int64
	Errors   int64
}

// Input is everything a Run is built from.
type Input struct {
	Scenario scenario.Scenario
	Target   string
	Builtin  bool
	// Loopback is set when the target's address is a loopback address,
	// where tcp_tw_reuse=2 applies.
	Loopback bool
	Result   *loadgen.Result
	// Samples are in time order; the first is the baseline, taken before
	// the load started.
	Samples []Sample
	// ClientUnsampled and ServerUnsampled say why an end was not sampled;
	// empty when it was.
	ClientUnsampled string
	ServerUnsampled string
	Host            sockstat.Host
	// Counters are the run's changes in the kernel's TCP counters; nil
	// when they could not be read.
	Counters sockstat.Counters
	// ServerErrors are the built-in target's connection errors by class.
	ServerErrors map[string]int64
	Notes        []string
	// Remote, if set, is the server end as a remote agent saw it; the
	// server counts of Samples are then not used.
	Remote *Remote
	// TailCut, if set, says that an interruption cut the sampling after
	// a whole load short.
	TailCut *TailCut
	// StartAt, if set, is the instant the load was to start at.
	StartAt time.Time
	// Shard, if set, is the run's part in a fleet.
	Shard *RunShard
	// ClientHolders and ServerHolders are the addresses that held each
	// end's TIME_WAIT sockets where they peaked; nil when none did.
	ClientHolders, ServerHolders *HoldersAt
	// TimeWaitObject is the size of one TIME_WAIT socket in the kernel;
	// zero when not known.
	TimeWaitObject sockstat.TimeWaitObject
	// Watched are the endpoints --watch named.
	Watched []WatchedInput
	// Watch, if set, is the command `twbench watch` watched, and Result is
	// nil: the load's figures come from the command's summary and the
	// kernel.
	Watch *WatchInput
	// Topology, if set, says the run was in private namespaces; Host is
	// then the client namespace's settings. ServerHost and ServerCounters,
	// if set, are the server's namespace's, when it had one of its own.
	Topology       *Topology
	ServerHost     *sockstat.Host
	ServerCounters sockstat.Counters
	// CPU are the process's CPU times, sampled over the load.
	CPU []CPUSample
	// Restart is the built-in target's restart mid-load; ListenerAccepts
	// its SO_REUSEPORT listeners' accepts, when it had several.
	Restart         *Restart
	ListenerAccepts []int64
}

// TailCut is how much of the sampling after the load an interruption
// left.
type TailCut struct {
	Sampled, Wanted time.Duration
}

// timeWaitAssumed is Linux's TCP_TIMEWAIT_LEN, used when no TIME_WAIT
// socket was seen to measure it and the host's settings do not give it.
const timeWaitAssumed = 60 * time.Second

// Build derives a Run's figures from its input.
func Build(in Input) Run {
	var watched watchFigures
	if in.Watch != nil && in.Result == nil {
		in.Result, watched = watchResult(&in)
	}
	res := in.Result
	r := Run{
		Scenario:       in.Scenario,
		Target:         in.Target,
		BuiltinTarget:  in.Builtin,
		StartedAt:      res.Start.UTC().Format(time.RFC3339Nano),
		DurationS:      res.Elapsed.Seconds(),
		Requests:       res.Requests,
		Connections:    res.Connections,
		Errors:         map[string]int64{},
		StatusCodes:    map[string]int64{},
		LatencyUS:      percentiles(res.Latency),
		Closes:         res.Closes,
		KernelCounters: map[string]int64{},
		Throughput:     []ThroughputPoint{},
		PerSecond:      perSecond(res.Timeline),
		ServerErrors:   in.ServerErrors,
		Expectations:   []Expectation{},
		Interrupted:    res.Interrupted,
		Notes:          in.Notes,
		Shard:          in.Shard,
	}
	startNote(&r, in.StartAt, res.Start)
	if r.DurationS > 0 {
		r.QPS = float64(res.Requests) / r.DurationS
	}
	if t := in.TailCut; t != nil {
		r.Interrupted = true
		r.Notes = append(r.Notes, fmt.Sprintf("interrupted after the load, %s into the %s of sampling that follows the last connections "+
			"through their closing states: the load is whole, but TIME_WAIT sockets that appeared later were not counted, "+
			"so the closing end's new_time_wait and final counts may be low", seconds(t.Sampled.Seconds()), seconds(t.Wanted.Seconds())))
	}
	if res.Cut > 0 || res.Aborted > 0 {
		r.CutOff = &CutOff{AtEnd: res.Cut, ByInterrupt: res.Aborted}
		if res.Cut > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s requests were still in flight a second after the load's %s and were cut off, "+
				"neither answered nor failed (cut_off.at_end): the target answered slower than the run could wait",
				commas(res.Cut), time.Duration(in.Scenario.Duration)))
		}
	}
	for i, n := range res.Errors {
		class := loadgen.ErrorClass(i)
		if n > 0 || class.AlwaysReported() {
			r.Errors[class.String()] = n
		}
		if n := res.CloseErrors[i]; n > 0 {
			if r.CloseErrors == nil {
				r.CloseErrors = map[string]int64{}
			}
			r.CloseErrors[class.String()] = n
		}
		if msg := res.FirstError[i]; msg != "" {
			if r.ErrorExamples == nil {
				r.ErrorExamples = map[string]string{}
			}
			r.ErrorExamples[class.String()] = msg
		}
	}
	for code, n := range res.StatusCodes {
		r.StatusCodes[strconv.Itoa(code)] = n
	}
	// A watched command's latency is its summary's, without a histogram.
	if res.Latency != nil {
		if hdr, err := res.Latency.EncodeV2(); err == nil {
			r.LatencyHDR = string(hdr)
		}
	}
	if in.Scenario.Rate > 0 {
		r.Schedule = &Schedule{
			Rate:      in.Scenario.Rate,
			Scheduled: res.Scheduled,
			Late:      res.Late,
			Queued:    res.Queued,
			Unsent:    res.Unsent,
			LagUS:     percentiles(res.Lag),
		}
		if res.Lag != nil {
			if hdr, err := res.Lag.EncodeV2(); err == nil {
				r.Schedule.LagHDR = string(hdr)
			}
		}
	}
	for k, v := range in.Counters {
		r.KernelCounters[k] = v
	}

	r.Client = buildEnd(in.Samples, res, in.ClientUnsampled, func(s *sockstat.Sample) (*sockstat.Counts, int) {
		return &s.Client, s.ClientNewTimeWait
	})
	if in.Remote != nil {
		r.Server = buildRemoteEnd(in.Remote, res)
		r.Notes = append(r.Notes, remoteNotes(in.Remote, &r.Server, r.DurationS)...)
	} else {
		r.Server = buildEnd(in.Samples, res, in.ServerUnsampled, func(s *sockstat.Sample) (*sockstat.Counts, int) {
			return &s.Server, s.ServerNewTimeWait
		})
	}
	if in.Topology != nil {
		r.Topology, r.Host = in.Topology, namespaceHost(in.Host)
	}
	if in.ServerHost != nil && in.Remote == nil {
		r.Server.Source, r.Server.Host = SourceNamespace, in.ServerHost
		if in.ServerCounters != nil {
			r.Server.KernelCounters = map[string]int64(in.ServerCounters)
		}
	}
	if in.Watch == nil {
		r.CPU = loadCPU(in.CPU, res.Start, res.Elapsed)
	}
	r.Client.TimeWaitHolders = holders(in.ClientHolders, HoldersLocal, res.Start)
	if in.Remote == nil {
		r.Server.TimeWaitHolders = holders(in.ServerHolders, HoldersRemote, res.Start)
	}
	r.Client.TimeWaitMemory = timeWaitMemory(&r.Client, in.TimeWaitObject)
	r.Server.TimeWaitMemory = timeWaitMemory(&r.Server, in.TimeWaitObject)
	r.Watched = buildWatched(&in, res)
	var twLeft time.Duration
	for i := range in.Samples {
		s := &in.Samples[i]
		twLeft = max(twLeft, s.MaxTimeWaitLeft)
		r.Throughput = append(r.Throughput, ThroughputPoint{
			T:        s.At.Sub(res.Start).Seconds(),
			Requests: s.Requests,
			Errors:   s.Errors,
		})
	}
	if n := len(in.Samples); n > 0 {
		r.Sampling = sampling(in.Samples, time.Duration(in.Scenario.SampleInterval))
		if r.Sampling.MeanIntervalS > 1.5*r.Sampling.IntervalS {
			// The kernel walks every socket of the namespace the sampler
			// is in: the host's, or a topology's own.
			where := "on the host"
			if in.Topology != nil {
				where = "in the run's namespace"
			}
			r.Notes = append(r.Notes, fmt.Sprintf(
				"sampling slowed to every %s on average: a sample took up to %.1f ms (the kernel walks every socket %s), and the sampler keeps itself under 5%% of a core",
				time.Duration(r.Sampling.MeanIntervalS*float64(time.Second)).Round(time.Millisecond), r.Sampling.MaxCostMS, where))
		}
	}
	for i := range in.Watched {
		for j := range in.Watched[i].Samples {
			twLeft = max(twLeft, in.Watched[i].Samples[j].MaxTimeWaitLeft)
		}
	}
	if in.Remote != nil {
		// The server host's own timers: in a run where only the server
		// holds TIME_WAIT, they are the only measure.
		twLeft = max(twLeft, in.Remote.maxTimeWaitLeft())
	}
	tw, measured := timeWaitAssumed, false
	// macOS's TIME_WAIT sockets carry no time left to measure: the length
	// is twice its net.inet.tcp.msl.
	setting, from, fromSetting := in.Host.TimeWaitSetting()
	if fromSetting {
		tw = setting
	}
	if twLeft > 0 {
		tw, measured = twLeft, true
		secs := round(twLeft.Seconds(), 1)
		r.TimeWaitSeconds = &secs
	}
	r.Ports = ports(in, tw, measured)
	if fromSetting && !measured {
		r.Ports.TimeWaitFrom = from
		if r.Ports.ClientCloseShare > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("a client port is held %g s in TIME_WAIT: twice %s, read from the setting (macOS gives no time left on a TIME_WAIT socket to measure); connect() on macOS never takes back a TIME_WAIT socket's port, on loopback either, so both ceilings are the same",
				tw.Seconds(), from))
		}
	}
	if note := reuseGapNote(in, &r.Ports, res.Closes.Total()); note != "" {
		r.Notes = append(r.Notes, note)
	}
	var exNotes []string
	r.Exhaustion, exNotes = exhaustion(res, time.Duration(in.Scenario.Duration), &r.Ports, in.CPU)
	r.Notes = append(r.Notes, exNotes...)
	if note := closerNote(in.Scenario, res.Closes); note != "" {
		r.Notes = append(r.Notes, note)
	}
	if in.Watch != nil {
		finishWatch(&r, &in, watched)
	}
	r.Restart = in.Restart
	if len(in.ListenerAccepts) > 1 {
		r.ReusePort = &ReusePort{Listeners: len(in.ListenerAccepts), Accepts: in.ListenerAccepts}
	}
	r.Remedy = remedyOf(&r, nil)
	return r
}

// buildEnd summarises one end's samples; side picks the end out of a
// sample.
func buildEnd(samples []Sample, res *loadgen.Result, unsampled string,
	side func(*sockstat.Sample) (*sockstat.Counts, int)) End {
	e := End{Baseline: map[string]int{}, Peak: map[string]int{}, Final: map[string]int{}, Series: []Point{}}
	if unsampled != "" || len(samples) == 0 {
		e.Reason = unsampled
		return e
	}
	e.Sampled = true
	var peak sockstat.Counts
	var final *sockstat.Counts
	for i := range samples {
		counts, newTW := side(&samples[i].Sample)
		for s, n := range counts {
			peak[s] = max(peak[s], n)
		}
		e.NewTimeWait += int64(newTW)
		e.Series = append(e.Series, Point{T: samples[i].At.Sub(res.Start).Seconds(), Counts: *counts})
		final = counts
	}
	base, _ := side(&samples[0].Sample)
	for _, s := range sockstat.ConnStates() {
		e.Baseline[s.String()] = int(base[s])
		e.Peak[s.String()] = int(peak[s])
		e.Final[s.String()] = int(final[s])
	}
	if res.Requests > 0 {
		v := round(float64(e.NewTimeWait)/float64(res.Requests), 4)
		e.TimeWaitPerRequest = &v
	}
	return e
}

func sampling(samples []Sample, interval time.Duration) *Sampling {
	sm := &Sampling{IntervalS: interval.Seconds(), Samples: len(samples)}
	var total, worst time.Duration
	for i := range samples {
		total += samples[i].Cost
		worst = max(worst, samples[i].Cost)
	}
	sm.MeanCostMS = round(float64(total)/float64(len(samples))/1e6, 3)
	sm.MaxCostMS = round(float64(worst)/1e6, 3)
	if n := len(samples); n > 1 {
		span := samples[n-1].At.Sub(samples[0].At)
		sm.MeanIntervalS = round(span.Seconds()/float64(n-1), 4)
	}
	return sm
}

// ports derives the client's port cost and the ceilings it implies.
func ports(in Input, tw time.Duration, measured bool) Ports {
	res := in.Result
	p := Ports{TimeWaitS: tw.Seconds(), TimeWaitMeasured: measured}
	p.MaxSustainableQPS.InForce = RegimeNetwork
	if in.Loopback {
		p.MaxSustainableQPS.InForce = RegimeLoopback
	}
	if res.Requests > 0 {
		p.ConnectionsPerRequest = float64(res.Closes.Total()) / float64(res.Requests)
	}
	if n := res.Closes.Total(); n > 0 {
		p.ClientCloseShare = float64(res.Closes.ClientFirst) / float64(n)
	}
	p.ConnectionLifetimeS = res.MeanConnLifetime().Seconds()
	delay, _ := in.Host.TWReuseDelay()
	p.ReuseDelayS = delay.Seconds()
	cost := portModel{ConnectionsPerRequest: p.ConnectionsPerRequest, LifetimeS: p.ConnectionLifetimeS,
		ClientCloseShare: p.ClientCloseShare, TimeWaitS: p.TimeWaitS, ReuseDelayS: p.ReuseDelayS}
	p.PortHoldS = cost.hold(in.Host)
	p.PortsPerQPS = cost.portsPerQPS()

	lo, hi, err := in.Host.PortRange()
	if err == nil {
		if r, rerr := loadgen.ParsePortRange(in.Scenario.ClientPortRange); rerr == nil {
			// The kernel applies each bound only within the host's range.
			lo, hi = clampRange(lo, hi, int(r.Lo), int(r.Hi))
			p.PortRangeFrom = "client_port_range"
		}
		p.PortRange = strconv.Itoa(lo) + "-" + strconv.Itoa(hi)
		perSource := in.Host.UsablePorts(lo, hi)
		p.UsablePorts = perSource * max(len(in.Scenario.Sources), 1)
		for i, s := range res.Sources {
			use := SourceUse{Address: s.Addr.String(), Connections: s.Connections, NoPort: s.NoPort, UsablePorts: perSource}
			for j := range in.Samples {
				if by := in.Samples[j].BySource; i < len(by) {
					use.PeakInUse = max(use.PeakInUse, by[i].Total())
					use.PeakTimeWait = max(use.PeakTimeWait, int(by[i][sockstat.TimeWait]))
				}
			}
			p.Sources = append(p.Sources, use)
		}
	}
	if in.Scenario.Closer == loadgen.CloserNone {
		// The pool's connections live as long as the run, so the lifetime
		// and the per-request share above depend on the run's length. At
		// steady state the pool holds its ports whatever the rate, and opens
		// no new connections: no ceiling.
		p.PortsPerQPS = 0
		if qps := float64(res.Requests) / res.Elapsed.Seconds(); res.Elapsed > 0 && qps > 0 {
			p.PortsPerQPS = float64(in.Scenario.Concurrency) / qps
		}
		return p
	}
	if err != nil {
		return p
	}
	p.MaxSustainableQPS.Loopback, p.MaxSustainableQPS.Network = cost.ceilings(p.UsablePorts, p.PortHoldS)
	return p
}

// clampRange applies a per-socket range to the host's as the kernel does:
// each bound only if it lies within the host's range.
func clampRange(lo, hi, sLo, sHi int) (int, int) {
	nlo, nhi := lo, hi
	if lo <= sLo && sLo <= hi {
		nlo = sLo
	}
	if lo <= sHi && sHi <= hi {
		nhi = sHi
	}
	return nlo, nhi
}

// ceiling returns ports / portSeconds, or nil when requests cost no port
// time. It is rounded to a whole rate, but below 100/s to two decimals: a
// narrow port range's 200 / 60 s is 3.33/s, not 3.
func ceiling(ports int, portSeconds float64) *float64 {
	if portSeconds <= 0 {
		return nil
	}
	v := math.Round(float64(ports) / portSeconds)
	if v < 100 {
		v = round(float64(ports)/portSeconds, 2)
	}
	return &v
}

func percentiles(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	p := quantiles(h)
	p.Mean = round(h.Mean(), 1)
	return p
}

// quantiles returns the percentiles of h but its mean, in one pass over
// its buckets (each pass of a large histogram takes about 100 µs, and
// compare reads two histograms a run). The 100th percentile is Max's
// value: the highest equivalent value of the highest bucket recorded.
func quantiles(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	q := h.ValueAtPercentilesSlice([]float64{50, 90, 99, 99.9, 100})
	return Percentiles{P50: q[0], P90: q[1], P99: q[2], P999: q[3], Max: q[4]}
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
