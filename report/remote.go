package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/twbench/twbench/agent"
	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/sockstat"
)

// SourceAgent marks an end read from a remote `twbench agent`.
const SourceAgent = "agent"

// Remote is the server end as a `twbench agent` reported it.
type Remote struct {
	URL string
	// Clock is the agent's clock against this host's; nil when the agent
	// never answered.
	Clock *agent.Clock
	// Matched is the address and port the agent filtered on.
	Matched string
	// Host is the agent host's settings; nil when never read.
	Host *sockstat.Host
	// Counters are the run's changes in the agent host's TCP counters; nil
	// when they were not read at both ends of the run.
	Counters sockstat.Counters
	// Samples are the agent's, in time order, their At on this host's
	// clock.
	Samples []Sample
	// Gaps are the spans without samples, in time order.
	Gaps []RemoteGap
	// Unreachable says why no sample arrived at all.
	Unreachable string
}

// RemoteGap is a span in which the agent sent no samples.
type RemoteGap struct {
	From time.Time // the last sample before it, or when the run began
	To   time.Time // the first sample after it; zero: to the end of the run
	// Reason is what ended the stream, or why it could not be opened.
	Reason string
}

// Gap is a span of a series without samples, in seconds from the load's
// start like the series' t.
type Gap struct {
	From float64 `json:"from"`
	// To is null when the gap lasts to the end of the run.
	To     *float64 `json:"to"`
	Reason string   `json:"reason"`
}

func (rem *Remote) maxTimeWaitLeft() time.Duration {
	var d time.Duration
	for i := range rem.Samples {
		d = max(d, rem.Samples[i].MaxTimeWaitLeft)
	}
	return d
}

// buildRemoteEnd summarises the server end from an agent's samples.
func buildRemoteEnd(rem *Remote, res *loadgen.Result) End {
	e := buildEnd(rem.Samples, res, rem.Unreachable, func(s *sockstat.Sample) (*sockstat.Counts, int) {
		return &s.Server, s.ServerNewTimeWait
	})
	if e.Reason == "" && !e.Sampled {
		e.Reason = "the agent " + rem.URL + " sent no samples"
	}
	e.Source = SourceAgent
	e.AgentURL = rem.URL
	e.Matched = rem.Matched
	e.Host = rem.Host
	if rem.Clock != nil {
		off := round(float64(rem.Clock.Offset)/1e6, 3)
		rtt := round(float64(rem.Clock.RTT)/1e6, 3)
		e.ClockOffsetMS, e.ClockRTTMS = &off, &rtt
	}
	if rem.Counters != nil {
		e.KernelCounters = map[string]int64(rem.Counters)
	}
	for _, g := range rem.Gaps {
		gap := Gap{From: round(g.From.Sub(res.Start).Seconds(), 3), Reason: g.Reason}
		if !g.To.IsZero() {
			to := round(g.To.Sub(res.Start).Seconds(), 3)
			gap.To = &to
		}
		e.Gaps = append(e.Gaps, gap)
	}
	if len(e.Gaps) > 0 {
		e.MissingFrom = &e.Gaps[0].From
		// New TIME_WAIT sockets were counted only while the agent
		// streamed: divide by the requests made then.
		if n := sampledRequests(rem, res); n > 0 {
			v := round(float64(e.NewTimeWait)/float64(n), 4)
			e.TimeWaitPerRequest = &v
			e.RequestsSampled = &n
		} else {
			e.TimeWaitPerRequest = nil
		}
	}
	return e
}

// sampledRequests returns the requests completed while the agent streamed:
// all of them, less those completed within its gaps.
func sampledRequests(rem *Remote, res *loadgen.Result) int64 {
	n := res.Requests
	for _, g := range rem.Gaps {
		before, after := int64(0), res.Requests
		for i := range rem.Samples {
			s := &rem.Samples[i]
			if !s.At.After(g.From) {
				before = s.Requests
			}
			if !g.To.IsZero() && !s.At.Before(g.To) {
				after = s.Requests
				break
			}
		}
		n -= max(after-before, 0)
	}
	return max(n, 0)
}

// remoteNotes say where the server end came from and what is missing of it.
func remoteNotes(rem *Remote, e *End, runEnd float64) []string {
	var notes []string
	if !e.Sampled {
		if strings.Contains(e.Reason, rem.URL) {
			return []string{"the server end could not be read: " + e.Reason}
		}
		return []string{"the server end could not be read from the agent " + rem.URL + ": " + e.Reason}
	}
	where := "the server end was read from the agent " + rem.URL
	if e.Matched != "" {
		where += " (" + e.Matched + ")"
	}
	if e.ClockOffsetMS != nil {
		where += fmt.Sprintf(", its clock %+.2f ms from this host's (±%.2f ms)", *e.ClockOffsetMS, *e.ClockRTTMS/2)
	}
	if rem.Host != nil {
		where += "; server host: " + hostSummary(*rem.Host)
	}
	notes = append(notes, where)
	for _, g := range e.Gaps {
		to := "to the end of the run"
		if g.To != nil {
			to = fmt.Sprintf("to t=%.2f s", *g.To)
		}
		notes = append(notes, fmt.Sprintf("server end: no samples from t=%.2f s %s (the load ended at t=%.2f s): %s", g.From, to, runEnd, g.Reason))
	}
	if len(e.Gaps) > 0 && e.Sampled {
		msg := "server end: its final counts are those of the last sample, and TIME_WAIT sockets that appeared in the gaps are not in new_time_wait"
		if e.RequestsSampled != nil {
			msg += fmt.Sprintf("; new TIME_WAIT per request is over the %d requests completed while the agent streamed", *e.RequestsSampled)
		}
		notes = append(notes, msg)
	}
	if e.Sampled && rem.Counters == nil {
		notes = append(notes, "server end: the agent host's kernel counters were not read at both ends of the run")
	}
	return notes
}

// hostSummary is a host's settings on one line.
func hostSummary(h sockstat.Host) string {
	var parts []string
	if h.Kernel != "" {
		parts = append(parts, "kernel "+h.Kernel)
	}
	if lo, hi, err := h.PortRange(); err == nil {
		parts = append(parts, fmt.Sprintf("ports %d-%d", lo, hi))
	}
	for _, name := range []string{sockstat.SysctlTWReuse, sockstat.SysctlMaxTWBuckets, sockstat.SysctlFinTimeout, sockstat.SysctlTimestamps} {
		if v, ok := h.Sysctl[name]; ok {
			parts = append(parts, strings.TrimPrefix(name, "net.ipv4.")+"="+v)
		}
	}
	return strings.Join(parts, ", ")
}

// agentCell says where the server end came from, and from when it is
// missing.
func agentCell(r *Run) string {
	e := &r.Server
	if e.Source != SourceAgent {
		return "this host"
	}
	cell := "agent " + strings.TrimPrefix(e.AgentURL, "http://")
	if e.ClockOffsetMS != nil {
		cell += fmt.Sprintf(", clock %+.1f ms", *e.ClockOffsetMS)
	}
	if e.MissingFrom != nil {
		cell += fmt.Sprintf(", none from %.2f s", *e.MissingFrom)
	}
	return cell
}
