package sockstat

import (
	"testing"
	"time"
)

// The defaults a plan assumes where a host's cannot be read are Linux's:
// 28,232 ports, tcp_tw_reuse=2 after 1 s, timestamps on.
func TestLinuxDefaults(t *testing.T) {
	h := LinuxDefaults()
	lo, hi, err := h.PortRange()
	if err != nil || h.UsablePorts(lo, hi) != 28232 {
		t.Errorf("LinuxDefaults() ports %d-%d (%v): %d usable; want 28,232", lo, hi, err, h.UsablePorts(lo, hi))
	}
	if v, ok := h.Int(SysctlTWReuse); !ok || v != 2 {
		t.Errorf("LinuxDefaults() tcp_tw_reuse = %d, %v; want 2", v, ok)
	}
	if d, ok := h.TWReuseDelay(); !ok || d != time.Second {
		t.Errorf("LinuxDefaults() tcp_tw_reuse_delay = %v, %v; want 1s", d, ok)
	}
	if v, ok := h.Int(SysctlTimestamps); !ok || v != 1 {
		t.Errorf("LinuxDefaults() tcp_timestamps = %d, %v; want 1", v, ok)
	}
	if _, ok := h.Sysctl[SysctlMaxTWBuckets]; ok {
		t.Error("LinuxDefaults() sets tcp_max_tw_buckets, whose default scales with memory")
	}
	h.Sysctl[SysctlPortRange] = "1 2"
	if lo, _, _ := LinuxDefaults().PortRange(); lo != 32768 {
		t.Error("LinuxDefaults() shares its map between calls")
	}
}
