package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/twbench/twbench/sockstat"
)

// SourceNamespace marks a server end sampled in the server's private
// network namespace (topology veth): its host settings and kernel
// counters are that namespace's.
const SourceNamespace = "namespace"

// Topology says where a run's two ends were when they were in private
// network namespaces of the run's own (scenario topology netns or veth).
// Absent for a run on the host's network.
type Topology struct {
	Name string `json:"name"`
	// UserNamespace is set when the namespaces were made in a user
	// namespace of twbench's own, as an unprivileged user.
	UserNamespace bool `json:"user_namespace"`
	// ClientAddress and ServerAddress are the addresses the connections
	// ran between: 127.0.0.1 for both in netns, the two ends of the veth
	// pair in veth.
	ClientAddress string `json:"client_address"`
	ServerAddress string `json:"server_address"`
}

// CPUSample is the process's CPU time so far at a moment: user and
// system (getrusage).
type CPUSample struct {
	At           time.Time
	User, System time.Duration
}

// CPU is the process's CPU time over a span: the client's, the built-in
// target's and the sampler's, as one process spends them.
type CPU struct {
	UserS   float64 `json:"user_s"`
	SystemS float64 `json:"system_s"`
}

// PhaseCPU is the process's CPU time over part of a load, and the
// connection attempts made in it.
type PhaseCPU struct {
	S        float64 `json:"s"`
	UserS    float64 `json:"user_s"`
	SystemS  float64 `json:"system_s"`
	Attempts int64   `json:"attempts"`
	// SystemUSPerAttempt is SystemS per attempt, in µs; null without an
	// attempt.
	SystemUSPerAttempt *float64 `json:"system_us_per_attempt"`
}

// cpuAt interpolates the CPU time used by t from the samples, in time
// order; ok is false when t is outside them.
func cpuAt(samples []CPUSample, t time.Time) (user, system time.Duration, ok bool) {
	for i := range samples {
		s := &samples[i]
		if s.At.Before(t) {
			continue
		}
		if i == 0 {
			return s.User, s.System, s.At.Equal(t)
		}
		p := &samples[i-1]
		w := float64(t.Sub(p.At)) / float64(s.At.Sub(p.At))
		return p.User + time.Duration(w*float64(s.User-p.User)), p.System + time.Duration(w*float64(s.System-p.System)), true
	}
	return 0, 0, false
}

// phaseCPU is the CPU time from from to to, with attempts.
func phaseCPU(samples []CPUSample, from, to time.Time, attempts int64) *PhaseCPU {
	u0, s0, ok0 := cpuAt(samples, from)
	u1, s1, ok1 := cpuAt(samples, to)
	if !ok0 || !ok1 || !to.After(from) {
		return nil
	}
	p := &PhaseCPU{S: round(to.Sub(from).Seconds(), 3), UserS: round((u1 - u0).Seconds(), 3),
		SystemS: round((s1 - s0).Seconds(), 3), Attempts: attempts}
	if attempts > 0 {
		v := round(float64(s1-s0)/float64(time.Microsecond)/float64(attempts), 1)
		p.SystemUSPerAttempt = &v
	}
	return p
}

// loadCPU is the CPU time over the whole load.
func loadCPU(samples []CPUSample, start time.Time, d time.Duration) *CPU {
	p := phaseCPU(samples, start, start.Add(d), 0)
	if p == nil {
		return nil
	}
	return &CPU{UserS: p.UserS, SystemS: p.SystemS}
}

// topologyParts describe a run's private namespaces on one line: the
// topology and the settings in force at each end.
func topologyParts(r *Run) string {
	t := r.Topology
	var b strings.Builder
	fmt.Fprintf(&b, "topology %s: client %s", t.Name, t.ClientAddress)
	if r.Host != nil {
		b.WriteString(" (" + hostSummary(*r.Host) + ")")
	}
	fmt.Fprintf(&b, ", server %s", t.ServerAddress)
	if r.Server.Source == SourceNamespace && r.Server.Host != nil {
		b.WriteString(" in a namespace of its own (" + hostSummary(*r.Server.Host) + ")")
	} else {
		b.WriteString(" in the same namespace")
	}
	if t.UserNamespace {
		b.WriteString("; made in a user namespace, without root")
	}
	return b.String()
}

// namespaceHost is the host settings of the client's namespace, for Run.
func namespaceHost(h sockstat.Host) *sockstat.Host {
	c := sockstat.Host{Kernel: h.Kernel, Sysctl: map[string]string{}}
	for k, v := range h.Sysctl {
		c.Sysctl[k] = v
	}
	return &c
}
