package sockstat

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// macOS's settings that decide what a closed connection costs: the
// ephemeral range connect() picks from (ipport_firstauto and
// ipport_lastauto in xnu's bsd/netinet/in_pcb.c; 49152 and 65535 by
// default), the maximum segment lifetime, whose double is the TIME_WAIT
// length (add_to_time_wait(tp, 2 * tcp_msl) in bsd/netinet/tcp_input.c;
// 15000 ms by default), and the timeout of an orphaned FIN_WAIT_2. All are
// in milliseconds where they are times, and host-wide.
const (
	SysctlDarwinPortFirst  = "net.inet.ip.portrange.first"
	SysctlDarwinPortLast   = "net.inet.ip.portrange.last"
	SysctlDarwinMSL        = "net.inet.tcp.msl"
	SysctlDarwinFinTimeout = "net.inet.tcp.fin_timeout"
)

// darwinSysctls lists the sysctls a Host reads on macOS.
func darwinSysctls() []string {
	return []string{SysctlDarwinPortFirst, SysctlDarwinPortLast, SysctlDarwinMSL, SysctlDarwinFinTimeout}
}

// isDarwin reports whether h was read on macOS: whether it has macOS's
// settings and not Linux's.
func (h Host) isDarwin() bool {
	_, linux := h.Sysctl[SysctlPortRange]
	_, darwin := h.Sysctl[SysctlDarwinPortFirst]
	if !darwin {
		_, darwin = h.Sysctl[SysctlDarwinMSL]
	}
	return darwin && !linux
}

// darwinPortRange returns net.inet.ip.portrange.first and .last as a
// range. xnu counts down when first is above last, over the same ports.
func (h Host) darwinPortRange() (lo, hi int, err error) {
	var ends [2]int
	for i, name := range [2]string{SysctlDarwinPortFirst, SysctlDarwinPortLast} {
		v, ok := h.Sysctl[name]
		if !ok {
			return 0, 0, fmt.Errorf("sockstat: %s not read", name)
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 65535 {
			return 0, 0, fmt.Errorf("sockstat: %s = %q: not a port", name, v)
		}
		ends[i] = n
	}
	return min(ends[0], ends[1]), max(ends[0], ends[1]), nil
}

// TimeWaitSetting returns the TIME_WAIT length that the host's settings
// give, and the setting it comes from: on macOS twice net.inet.tcp.msl. ok
// is false where the length is not a setting: Linux's is TCP_TIMEWAIT_LEN,
// 60 s, compiled in.
func (h Host) TimeWaitSetting() (d time.Duration, setting string, ok bool) {
	ms, ok := h.Int(SysctlDarwinMSL)
	if !ok || ms <= 0 {
		return 0, "", false
	}
	return 2 * time.Duration(ms) * time.Millisecond, SysctlDarwinMSL, true
}
