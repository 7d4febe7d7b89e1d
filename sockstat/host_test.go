package sockstat

import (
	"maps"
	"testing"
	"time"
)

func TestPortRange(t *testing.T) {
	for _, tc := range []struct {
		value          string
		lo, hi         int
		wantErr, unset bool
	}{
		{value: "32768 60999", lo: 32768, hi: 60999},
		{value: "32768\t60999", lo: 32768, hi: 60999},
		{value: " 1024  65535 ", lo: 1024, hi: 65535},
		{value: "40000 40000", lo: 40000, hi: 40000},
		{unset: true, wantErr: true},
		{value: "", wantErr: true},
		{value: "32768", wantErr: true},
		{value: "32768 60999 1", wantErr: true},
		{value: "60999 32768", wantErr: true},
		{value: "a 60999", wantErr: true},
		{value: "32768 b", wantErr: true},
	} {
		h := Host{Sysctl: map[string]string{}}
		if !tc.unset {
			h.Sysctl[SysctlPortRange] = tc.value
		}
		lo, hi, err := h.PortRange()
		if (err != nil) != tc.wantErr || lo != tc.lo || hi != tc.hi {
			t.Errorf("PortRange(%q) = %d, %d, %v; want %d, %d, error %v", tc.value, lo, hi, err, tc.lo, tc.hi, tc.wantErr)
		}
	}
}

func TestUsablePorts(t *testing.T) {
	const lo, hi = 32768, 60999 // 28232 ports
	for _, tc := range []struct {
		reserved string
		want     int
	}{
		{"", 28232},
		{"32800-32809,40000", 28221},
		{"32800-32809, 40000", 28221},
		{"40000", 28231},
		{"32768,60999", 28230},
		{"1-32770", 28229},     // partly below the range
		{"60990-65535", 28222}, // partly above it
		{"80,443,8080-8090", 28232},
		{"61000-65535", 28232},
		{"0-65535", 0},
		{"x,40000,1-y", 28231}, // what does not parse is skipped
		{",,40000,", 28231},
	} {
		h := Host{Sysctl: map[string]string{SysctlReservedPorts: tc.reserved}}
		if got := h.UsablePorts(lo, hi); got != tc.want {
			t.Errorf("UsablePorts(%d, %d) with reserved %q = %d; want %d", lo, hi, tc.reserved, got, tc.want)
		}
	}
	if got := (Host{}).UsablePorts(lo, hi); got != 28232 {
		t.Errorf("UsablePorts(%d, %d) with no sysctls read = %d; want 28232", lo, hi, got)
	}
}

func TestHostInt(t *testing.T) {
	for _, tc := range []struct {
		value  string
		set    bool
		want   int
		wantOK bool
	}{
		{"2", true, 2, true},
		{" 131072 ", true, 131072, true},
		{"-1", true, -1, true},
		{"", true, 0, false},
		{"1 2", true, 0, false},
		{"", false, 0, false},
	} {
		h := Host{Sysctl: map[string]string{}}
		if tc.set {
			h.Sysctl[SysctlMaxTWBuckets] = tc.value
		}
		if got, ok := h.Int(SysctlMaxTWBuckets); got != tc.want || ok != tc.wantOK {
			t.Errorf("Int(%q set %v) = %d, %v; want %d, %v", tc.value, tc.set, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestTWReuseDelay(t *testing.T) {
	for _, tc := range []struct {
		sysctl map[string]string
		want   time.Duration
		wantOK bool
	}{
		{map[string]string{SysctlTWReuseDelay: "1000"}, time.Second, true},
		{map[string]string{SysctlTWReuseDelay: "250"}, 250 * time.Millisecond, true},
		{map[string]string{}, time.Second, false},
	} {
		if got, ok := (Host{Sysctl: tc.sysctl}).TWReuseDelay(); got != tc.want || ok != tc.wantOK {
			t.Errorf("TWReuseDelay(%v) = %v, %v; want %v, %v", tc.sysctl, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestCountersSub(t *testing.T) {
	now := Counters{"TW": 10, "TWRecycled": 5, "TCPTimeWaitOverflow": 0, "ActiveOpens": 7}
	before := Counters{"TW": 3, "TWRecycled": 5, "ActiveOpens": 9, "PassiveOpens": 4}
	want := Counters{"TW": 7, "TWRecycled": 0, "TCPTimeWaitOverflow": 0, "ActiveOpens": -2}
	if got := now.Sub(before); !maps.Equal(got, want) {
		t.Errorf("%v.Sub(%v) = %v; want %v", now, before, got, want)
	}
	if got := now.Sub(nil); !maps.Equal(got, now) {
		t.Errorf("%v.Sub(nil) = %v; want %v", now, got, now)
	}
	if now["TW"] != 10 || before["TW"] != 3 {
		t.Errorf("Sub changed its operands: %v, %v", now, before)
	}
}

func TestHostSysctls(t *testing.T) {
	want := []string{
		"net.ipv4.ip_local_port_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_tw_reuse",
		"net.ipv4.tcp_tw_reuse_delay", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_max_tw_buckets",
		"net.ipv4.tcp_timestamps",
		"net.inet.ip.portrange.first", "net.inet.ip.portrange.last", "net.inet.tcp.msl",
		"net.inet.tcp.fin_timeout",
	}
	got := HostSysctls()
	if len(got) != len(want) {
		t.Fatalf("HostSysctls() = %q; want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("HostSysctls()[%d] = %q; want %q", i, got[i], want[i])
		}
	}
	got[0] = "changed"
	if HostSysctls()[0] != want[0] {
		t.Error("HostSysctls() returns a slice its callers can change")
	}
}
