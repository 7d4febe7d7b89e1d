//go:build darwin

package sockstat

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// ReadHost reads the kernel release and macOS's TCP settings.
func ReadHost() (Host, error) {
	h := Host{Sysctl: make(map[string]string)}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		h.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	for _, name := range darwinSysctls() {
		v, err := unix.SysctlUint32(name)
		if errors.Is(err, unix.ENOENT) {
			continue // a release without this setting
		}
		if err != nil {
			return h, fmt.Errorf("sockstat: read sysctl %s: %w", name, err)
		}
		// The four are C ints.
		h.Sysctl[name] = strconv.Itoa(int(int32(v)))
	}
	return h, nil
}

// ReadCounters reads the TCP counters that tell what happened to opening
// and closing connections, from netstat -s -p tcp. They count the whole
// host.
func ReadCounters() (Counters, error) {
	out, err := runNetstat(netstatStatsArgs())
	if err != nil {
		return nil, err
	}
	return parseNetstatStats(out)
}
