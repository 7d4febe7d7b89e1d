//go:build linux

package sockstat

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestReadHost(t *testing.T) {
	h, err := ReadHost()
	if err != nil {
		t.Fatalf("ReadHost() error = %v", err)
	}
	if h.Kernel == "" {
		t.Error("ReadHost().Kernel is empty; want the kernel release")
	}
	for _, name := range HostSysctls() {
		b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
		got, ok := h.Sysctl[name]
		if errors.Is(err, fs.ErrNotExist) {
			if ok {
				t.Errorf("ReadHost().Sysctl[%q] = %q; want it absent, as /proc/sys lacks it", name, got)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Join(strings.Fields(string(b)), " "); !ok || got != want {
			t.Errorf("ReadHost().Sysctl[%q] = %q, %v; want %q", name, got, ok, want)
		}
	}
	for name := range h.Sysctl {
		if !strings.HasPrefix(name, "net.ipv4.") {
			t.Errorf("ReadHost().Sysctl has %q; want only HostSysctls()", name)
		}
	}
	lo, hi, err := h.PortRange()
	if err != nil {
		t.Fatalf("PortRange() of this host: %v", err)
	}
	if n := h.UsablePorts(lo, hi); n <= 0 || n > hi-lo+1 {
		t.Errorf("UsablePorts(%d, %d) = %d; want 1..%d", lo, hi, n, hi-lo+1)
	}
}

func TestReadCounters(t *testing.T) {
	before, err := ReadCounters()
	if err != nil {
		t.Fatalf("ReadCounters() error = %v", err)
	}
	for _, name := range []string{"TW", "TWRecycled", "TCPTimeWaitOverflow", "ActiveOpens", "PassiveOpens"} {
		if _, ok := before[name]; !ok {
			t.Errorf("ReadCounters() = %v; want a %s key", before, name)
		}
	}
	// A kernel may lack a counter, but every one read must be named.
	for name := range before {
		if !slices.Contains(CounterNames(), name) {
			t.Errorf("ReadCounters() has %s, which CounterNames() = %v lacks", name, CounterNames())
		}
	}
	// One connection opens actively and passively; other processes can
	// only add to the namespace's counters.
	ln, _ := listen(t, "tcp4", "127.0.0.1:0")
	p := connect(t, ln, ln.Addr().String())
	p.closeClientFirst(t)
	after, err := ReadCounters()
	if err != nil {
		t.Fatal(err)
	}
	d := after.Sub(before)
	for _, name := range []string{"ActiveOpens", "PassiveOpens"} {
		if d[name] < 1 {
			t.Errorf("ReadCounters() after a connection: %s went from %d to %d; want at least 1 more", name, before[name], after[name])
		}
	}
}
