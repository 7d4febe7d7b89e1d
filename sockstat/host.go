package sockstat

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The sysctls that decide what a closed connection costs. All are per
// network namespace.
const (
	SysctlPortRange     = "net.ipv4.ip_local_port_range"
	SysctlReservedPorts = "net.ipv4.ip_local_reserved_ports"
	SysctlTWReuse       = "net.ipv4.tcp_tw_reuse"
	SysctlTWReuseDelay  = "net.ipv4.tcp_tw_reuse_delay"
	SysctlFinTimeout    = "net.ipv4.tcp_fin_timeout"
	SysctlMaxTWBuckets  = "net.ipv4.tcp_max_tw_buckets"
	SysctlTimestamps    = "net.ipv4.tcp_timestamps"
)

// HostSysctls lists the sysctls a Host reads: Linux's, then macOS's.
func HostSysctls() []string {
	return append(linuxSysctls(), darwinSysctls()...)
}

// linuxSysctls lists the sysctls a Host reads on Linux.
func linuxSysctls() []string {
	return []string{SysctlPortRange, SysctlReservedPorts, SysctlTWReuse, SysctlTWReuseDelay,
		SysctlFinTimeout, SysctlMaxTWBuckets, SysctlTimestamps}
}

// Host is the host's kernel release and its TCP settings, as read from
// /proc/sys on Linux and with sysctl(3) on macOS. A sysctl the kernel does
// not have is absent from Sysctl.
type Host struct {
	Kernel string            `json:"kernel"`
	Sysctl map[string]string `json:"sysctl"`
}

// PortRange returns the ephemeral port range: net.ipv4.ip_local_port_range
// on Linux, net.inet.ip.portrange.first and .last on macOS.
func (h Host) PortRange() (lo, hi int, err error) {
	v, ok := h.Sysctl[SysctlPortRange]
	if !ok {
		if _, darwin := h.Sysctl[SysctlDarwinPortFirst]; darwin {
			return h.darwinPortRange()
		}
		return 0, 0, fmt.Errorf("sockstat: %s not read", SysctlPortRange)
	}
	f := strings.Fields(v)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("sockstat: %s = %q: want two ports", SysctlPortRange, v)
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo > hi {
		return 0, 0, fmt.Errorf("sockstat: %s = %q: not a port range", SysctlPortRange, v)
	}
	return lo, hi, nil
}

// UsablePorts returns how many ports connect() can pick from lo..hi: the
// range less the ports in net.ipv4.ip_local_reserved_ports.
func (h Host) UsablePorts(lo, hi int) int {
	n := hi - lo + 1
	for _, part := range strings.Split(h.Sysctl[SysctlReservedPorts], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, b, isRange := strings.Cut(part, "-")
		rlo, err1 := strconv.Atoi(a)
		rhi, err2 := rlo, error(nil)
		if isRange {
			rhi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil {
			continue
		}
		if overlap := min(rhi, hi) - max(rlo, lo) + 1; overlap > 0 {
			n -= overlap
		}
	}
	return max(n, 0)
}

// Int returns a sysctl with a single integer value.
func (h Host) Int(name string) (int, bool) {
	v, err := strconv.Atoi(strings.TrimSpace(h.Sysctl[name]))
	return v, err == nil
}

// TWReuseDelay returns how old a TIME_WAIT socket must be before
// tcp_tw_reuse lets connect() take its port, and whether the kernel said so
// (net.ipv4.tcp_tw_reuse_delay, Linux 6.13+); older kernels use one second.
// On macOS, where connect() never takes a TIME_WAIT socket's port, it is 0.
func (h Host) TWReuseDelay() (time.Duration, bool) {
	if ms, ok := h.Int(SysctlTWReuseDelay); ok {
		return time.Duration(ms) * time.Millisecond, true
	}
	if h.isDarwin() {
		return 0, false
	}
	return time.Second, false
}

// Counters are kernel TCP counters by their kernel names: on Linux
// /proc/net/netstat TcpExt and /proc/net/snmp Tcp, on macOS those of netstat
// -s -p tcp (darwinCounters). They count the whole network namespace, or
// host, not one port.
type Counters map[string]int64

// Sub returns the change in each counter from before to c.
func (c Counters) Sub(before Counters) Counters {
	d := make(Counters, len(c))
	for k, v := range c {
		d[k] = v - before[k]
	}
	return d
}

// CounterNames lists the counters ReadCounters reads, on Linux and then
// those only macOS has, so that a reader of reports can tell a counter's
// name from a misspelling.
func CounterNames() []string {
	names := []string{"TW", "TWRecycled", "TWKilled", "TCPTimeWaitOverflow", "PAWSActive",
		"TCPAbortOnClose", "TCPAbortOnData", "TCPAbortOnLinger", "ListenOverflows", "ListenDrops",
		"ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets", "OutRsts"}
	for _, dc := range darwinCounters() {
		for _, name := range dc.names {
			if name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}
