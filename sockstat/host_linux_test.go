//go:build linux

package sockstat

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/twbench/twbench/internal/netns"
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

// TestReadCountersInNamespace: ReadCounters reads the counters of the
// calling thread's network namespace. In a new namespace, one connection
// over its loopback is one ActiveOpens and one PassiveOpens, whatever the
// host does meanwhile. Needs root.
func TestReadCountersInNamespace(t *testing.T) {
	ns, err := netns.New()
	if err != nil {
		t.Skipf("no network namespace of its own (needs root): %v", err)
	}
	defer ns.Close()
	var before, after Counters
	err = ns.Do(func() error {
		if before, err = ReadCounters(); err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		c.Close()
		after, err = ReadCounters()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := after.Sub(before); d["ActiveOpens"] != 1 || d["PassiveOpens"] != 1 {
		t.Errorf("in the namespace: ActiveOpens +%d, PassiveOpens +%d; want +1 each", d["ActiveOpens"], d["PassiveOpens"])
	}
	if before["ActiveOpens"] > 10 {
		t.Errorf("a new namespace's ActiveOpens = %d; want its own, about 0, not the host's", before["ActiveOpens"])
	}
}
