package sockstat

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// ReadHost reads the kernel release and the TCP sysctls of the calling
// thread's network namespace: /proc/sys/net is the reading thread's
// namespace's, so a goroutine locked to a thread in another namespace
// (netns.Namespace.Do) reads that one's.
func ReadHost() (Host, error) {
	h := Host{Sysctl: make(map[string]string)}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		h.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	pfs, err := procfs.NewDefaultFS()
	if err != nil {
		return h, fmt.Errorf("sockstat: open /proc: %w", err)
	}
	for _, name := range linuxSysctls() {
		v, err := pfs.SysctlStrings(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // an older kernel without this setting
		}
		if err != nil {
			return h, fmt.Errorf("sockstat: read sysctl %s: %w", name, err)
		}
		h.Sysctl[name] = strings.Join(v, " ")
	}
	return h, nil
}

// ReadCounters reads the TCP counters that tell what happened to closing
// and closed connections, in the network namespace of the calling thread:
// /proc/self/net is the main thread's, so a goroutine locked to a thread
// in another namespace (netns.Namespace.Do) reads that one's through the
// thread's own /proc entry. The entry is found through /proc/thread-self,
// which names the thread as /proc knows it: in a PID namespace of its own
// (a topology's child process) getpid and gettid give other numbers.
func ReadCounters() (Counters, error) {
	self, err := os.Readlink("/proc/thread-self")
	if err != nil {
		return nil, fmt.Errorf("sockstat: find this thread's /proc entry: %w", err)
	}
	pid, tid, ok := strings.Cut(self, "/task/")
	id, err := strconv.Atoi(tid)
	if !ok || err != nil {
		return nil, fmt.Errorf("sockstat: find this thread's /proc entry: /proc/thread-self is %q", self)
	}
	tasks, err := procfs.NewFS("/proc/" + pid + "/task")
	if err != nil {
		return nil, fmt.Errorf("sockstat: open /proc: %w", err)
	}
	p, err := tasks.Proc(id)
	if err != nil {
		return nil, fmt.Errorf("sockstat: open this thread's /proc entry: %w", err)
	}
	ns, err := p.Netstat()
	if err != nil {
		return nil, fmt.Errorf("sockstat: read /proc/net/netstat: %w", err)
	}
	snmp, err := p.Snmp()
	if err != nil {
		return nil, fmt.Errorf("sockstat: read /proc/net/snmp: %w", err)
	}
	x, t := ns.TcpExt, snmp.Tcp
	c := make(Counters, 16)
	for name, v := range map[string]*float64{
		"TW":                  x.TW,
		"TWRecycled":          x.TWRecycled,
		"TWKilled":            x.TWKilled,
		"TCPTimeWaitOverflow": x.TCPTimeWaitOverflow,
		"PAWSActive":          x.PAWSActive,
		"TCPAbortOnClose":     x.TCPAbortOnClose,
		"TCPAbortOnData":      x.TCPAbortOnData,
		"TCPAbortOnLinger":    x.TCPAbortOnLinger,
		"ListenOverflows":     x.ListenOverflows,
		"ListenDrops":         x.ListenDrops,
		"ActiveOpens":         t.ActiveOpens,
		"PassiveOpens":        t.PassiveOpens,
		"AttemptFails":        t.AttemptFails,
		"EstabResets":         t.EstabResets,
		"OutRsts":             t.OutRsts,
	} {
		if v != nil {
			c[name] = int64(*v)
		}
	}
	return c, nil
}
