package sockstat

import (
	"testing"
	"time"
)

// darwinHost is what ReadHost reads on a Mac with the default settings.
func darwinHost() Host {
	return Host{Kernel: "24.4.0", Sysctl: map[string]string{
		SysctlDarwinPortFirst: "49152", SysctlDarwinPortLast: "65535",
		SysctlDarwinMSL: "15000", SysctlDarwinFinTimeout: "60000",
	}}
}

func TestDarwinPortRange(t *testing.T) {
	for _, tc := range []struct {
		first, last string
		lo, hi      int
		wantErr     bool
	}{
		{"49152", "65535", 49152, 65535, false},
		{"1024", "65535", 1024, 65535, false},
		{"65535", "49152", 49152, 65535, false}, // xnu counts down, over the same ports
		{"40000", "40000", 40000, 40000, false},
		{"", "65535", 0, 0, true},
		{"49152", "x", 0, 0, true},
		{"0", "65535", 0, 0, true},
		{"49152", "65536", 0, 0, true},
		{"-1", "65535", 0, 0, true},
	} {
		h := darwinHost()
		h.Sysctl[SysctlDarwinPortFirst], h.Sysctl[SysctlDarwinPortLast] = tc.first, tc.last
		lo, hi, err := h.PortRange()
		if (err != nil) != tc.wantErr || lo != tc.lo || hi != tc.hi {
			t.Errorf("PortRange(first %q, last %q) = %d, %d, %v; want %d, %d, error %v",
				tc.first, tc.last, lo, hi, err, tc.lo, tc.hi, tc.wantErr)
		}
	}
	h := darwinHost()
	delete(h.Sysctl, SysctlDarwinPortLast)
	if _, _, err := h.PortRange(); err == nil {
		t.Error("PortRange() without net.inet.ip.portrange.last: no error")
	}
	if lo, hi, _ := darwinHost().PortRange(); darwinHost().UsablePorts(lo, hi) != 16384 {
		t.Errorf("UsablePorts(%d, %d) = %d on macOS; want 16384", lo, hi, darwinHost().UsablePorts(lo, hi))
	}
	// Linux's setting wins where both are (they are never both read).
	h = darwinHost()
	h.Sysctl[SysctlPortRange] = "32768 60999"
	if lo, hi, err := h.PortRange(); lo != 32768 || hi != 60999 || err != nil {
		t.Errorf("PortRange() with both = %d, %d, %v; want Linux's 32768, 60999", lo, hi, err)
	}
}

func TestTimeWaitSetting(t *testing.T) {
	for _, tc := range []struct {
		msl     string
		set     bool
		want    time.Duration
		wantSet string
		ok      bool
	}{
		{"15000", true, 30 * time.Second, SysctlDarwinMSL, true},
		{"30000", true, time.Minute, SysctlDarwinMSL, true},
		{"500", true, time.Second, SysctlDarwinMSL, true},
		{"0", true, 0, "", false},
		{"-1", true, 0, "", false},
		{"x", true, 0, "", false},
		{"", false, 0, "", false},
	} {
		h := Host{Sysctl: map[string]string{}}
		if tc.set {
			h.Sysctl[SysctlDarwinMSL] = tc.msl
		}
		d, from, ok := h.TimeWaitSetting()
		if d != tc.want || from != tc.wantSet || ok != tc.ok {
			t.Errorf("TimeWaitSetting(msl %q) = %v, %q, %v; want %v, %q, %v", tc.msl, d, from, ok, tc.want, tc.wantSet, tc.ok)
		}
	}
	// Linux's TIME_WAIT is not a setting.
	linux := Host{Sysctl: map[string]string{SysctlPortRange: "32768 60999", SysctlFinTimeout: "60"}}
	if _, _, ok := linux.TimeWaitSetting(); ok {
		t.Error("TimeWaitSetting() on Linux ok; want not")
	}
}

func TestDarwinTWReuseDelay(t *testing.T) {
	if d, ok := darwinHost().TWReuseDelay(); d != 0 || ok {
		t.Errorf("TWReuseDelay() on macOS = %v, %v; want 0, false: connect() never reuses a TIME_WAIT port there", d, ok)
	}
	if d, ok := (Host{Sysctl: map[string]string{SysctlPortRange: "32768 60999"}}).TWReuseDelay(); d != time.Second || ok {
		t.Errorf("TWReuseDelay() on an older Linux = %v, %v; want 1s, false", d, ok)
	}
}
