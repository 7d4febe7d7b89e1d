//go:build !linux && !darwin

package sockstat

import (
	"errors"
	"fmt"
	"runtime"
)

// ReadHost returns the system's name and an error wrapping
// errors.ErrUnsupported: the TCP sysctls it reports are Linux's and
// macOS's.
func ReadHost() (Host, error) {
	return Host{Kernel: runtime.GOOS, Sysctl: map[string]string{}},
		fmt.Errorf("sockstat: TCP settings are read on Linux and macOS only: %w", errors.ErrUnsupported)
}

// ReadCounters returns an error wrapping errors.ErrUnsupported.
func ReadCounters() (Counters, error) {
	return nil, fmt.Errorf("sockstat: kernel TCP counters are read on Linux and macOS only: %w", errors.ErrUnsupported)
}
